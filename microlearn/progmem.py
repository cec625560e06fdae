"""Generated C with its constant tables in program memory on AVR (``ML_CONST``).

On AVR, ``const`` data is copied to RAM at start-up unless it is placed in program memory
and read with ``LPM``. ``ml_common.h`` has the storage macro and the reads: ``ML_CONST``
(``const PROGMEM`` on AVR, ``const`` elsewhere), ``ML_READ_*`` (``pgm_read_*`` on AVR, a
plain dereference elsewhere) and ``ML_FLASH_STRUCT`` (a local pointer to a model struct:
a stack copy on AVR, the struct itself elsewhere). Off AVR the compiled code is the same
as with plain ``const`` tables. The families' C emitters use the two helpers here; their
runtime headers read the tables with ``ML_READ_*``.
"""

from __future__ import annotations

__all__ = ["const_tables", "flash_struct"]


def const_tables(body: str) -> str:
    """Every ``static const`` definition at the start of a line becomes ``static ML_CONST``
    (tables and model structs: the runtime reads them with ``ML_READ_*``)."""
    return "\n".join("static ML_CONST " + ln[len("static const "):]
                     if ln.startswith("static const ") else ln for ln in body.split("\n"))


def flash_struct(body: str, struct: str, ctype: str, local: str) -> str:
    """Functions of ``body`` that use the struct ``struct`` (``&struct`` or ``struct.f``)
    read it through ``ML_FLASH_STRUCT(ctype, local, struct)`` instead.

    Functions are recognised by their braces: a line ``{`` opens one, a line ``}`` closes
    it (the layout the emitters write).
    """
    ref, field = f"&{struct}", f"{struct}."
    out: list[str] = []
    start = -1
    for line in body.split("\n"):
        if line == "{":
            start = len(out)
        elif line == "}" and start >= 0:
            fn = out[start + 1:]
            if any(ref in ln or field in ln for ln in fn):
                fn = [ln.replace(ref, local).replace(field, f"{local}->") for ln in fn]
                out[start + 1:] = [f"    ML_FLASH_STRUCT({ctype}, {local}, {struct});", *fn]
            start = -1
        out.append(line)
    return "\n".join(out)
