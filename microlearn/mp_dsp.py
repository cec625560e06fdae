"""The ``microlearn_dsp`` MicroPython native module: the DSP runtime headers (FFT, windows,
mel / MFCC, biquads, sound level, window features, post-processing) for MicroPython, and
the host helpers that prepare what the device cannot compute identically (mel tables).

On the device (see docs/dsp.md, section MicroPython)::

    import array, microlearn_dsp as dsp
    fft = dsp.RFFT(256)
    fft.power(frame, spectrum)          # array('f') in, array('f') out, no allocation

Source: ``runtime/micropython/microlearn_dsp.c``, built from the same C as
:mod:`microlearn.dsp` on the host, so the device's numbers are the host's bits.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__

__all__ = ["MODULE", "NATIVE_C", "build", "export_mel", "export_mfcc"]

SOURCE_DIR = Path(__file__).resolve().parent / "runtime" / "micropython"
NATIVE_C = SOURCE_DIR / "microlearn_dsp.c"
MODULE = "microlearn_dsp"
#: Added to dynruntime.mk's ``-std=c99 -Os -Wall -Werror`` (no -ffast-math there):
#: ``-ffp-contract=off`` as the host build (no fused multiply-add: the host's bits), no
#: memset/memcpy calls for short loops, and the strict warning set of the runtime headers
#: (the source switches -Wpedantic off around dynruntime.h only).
NATIVE_CFLAGS = (
    "-ffp-contract=off", "-fno-tree-loop-distribute-patterns",
    "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
)

_SPEC_MAGIC = 0x464D4C4D  # "MLMF"
_WINDOWS = {"boxcar": 0, "rect": 0, "rectangular": 0, "ones": 0, "hann": 1, "hamming": 2,
            "blackman": 3}


def build(arch: str, out_dir: str | Path) -> list[Path]:
    """Build ``microlearn_dsp.mpy`` for ``arch`` into ``out_dir`` with a mip ``package.json``.

    Parameters
    ----------
    arch : str
        A native-module architecture with float objects: ``x64``, ``armv7emsp``,
        ``armv7emdp`` (``xtensawin`` with Espressif's toolchain). ``armv6m`` / ``armv7m``
        have no float objects in MicroPython v1.23's dynamic runtime and are refused.
    out_dir : path-like
        Output folder (created).

    Returns
    -------
    list of pathlib.Path
        ``microlearn_dsp.mpy`` and ``package.json``.

    Raises
    ------
    microlearn.micropython_build.MicroPythonBuildError
        The arch has no float objects, or the build failed.
    microlearn.micropython_build.ToolNotFoundError
        The arch's toolchain is missing.
    """
    import json

    from . import micropython_build as mb

    info = mb.NATMOD_ARCHES.get(arch)
    if info is not None and not info.float_objects:
        raise mb.MicroPythonBuildError(
            f"{MODULE} needs float objects, which MicroPython v1.23's native modules for "
            f"{arch} do not have; build it for an arch with an FPU (x64, armv7emsp, "
            "armv7emdp, xtensawin)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runtime = SOURCE_DIR.parent
    target = mb.build_natmod([NATIVE_C], MODULE, arch, out,
                             extra_cflags=(f"-I{runtime}", *NATIVE_CFLAGS))
    pkg = out / "package.json"
    pkg.write_text(json.dumps({"urls": [[target.name, target.name]], "version": __version__},
                              indent=2) + "\n")
    return [target, pkg]


def export_mfcc(*, sr: float, n_fft: int = 512, n_mels: int = 40, n_mfcc: int = 13,
                window: Any = "hann", power: float = 2.0, fmin: float = 0.0,
                fmax: float | None = None, htk: bool = False, mel_norm: Any = "slaney",
                norm: str | None = "ortho", lifter: int = 0, amin: float = 1e-10,
                top_db: float | None = None) -> bytes:
    """The bytes ``microlearn_dsp.MFCC(spec)`` is built from: the mel table (computed here,
    float64, as :func:`microlearn.dsp.mel_table`) and the parameters of
    :func:`microlearn.dsp.mfcc_frames`, whose output the device then reproduces bit for bit.

    Parameters
    ----------
    sr, n_fft, n_mels, n_mfcc, window, power, fmin, fmax, htk, mel_norm, norm, lifter, amin,
    top_db
        As :func:`microlearn.dsp.mfcc_frames` (``window``: a name or n_fft values;
        ``n_mfcc=0`` for the mel spectrum only, see :func:`export_mel`).

    Returns
    -------
    bytes
        48-byte header, then the table (about 4 n_mels + 8 n_fft bytes for Slaney mels).
    """
    from . import dsp
    from .dsp.spectral import _check_fft_size, _dct_args, _power_code

    n_fft = _check_fft_size(n_fft, "n_fft")
    if not 1 <= int(n_mels) <= 4096:
        raise ValueError(f"n_mels must be in [1, 4096], got {n_mels!r}")
    if not 0 <= int(n_mfcc) <= int(n_mels):
        raise ValueError(f"n_mfcc must be in [0, n_mels={n_mels}], got {n_mfcc!r}")
    ortho, lift = _dct_args(max(int(n_mfcc), 1), 2, norm, lifter)
    if not amin > 0:
        raise ValueError(f"amin must be strictly positive, got {amin!r}")
    start, length, values = dsp.mel_table(sr=sr, n_fft=n_fft, n_mels=int(n_mels), fmin=fmin,
                                          fmax=fmax, htk=htk, norm=mel_norm)
    if isinstance(window, (str, tuple)):
        name = window if isinstance(window, str) else window[0]
        if name not in _WINDOWS:
            raise ValueError(f"window must be one of {sorted(_WINDOWS)} or n_fft values, "
                             f"got {window!r}")
        code, wvals = _WINDOWS[name], np.zeros(0, np.float32)
    else:
        wvals = np.ascontiguousarray(window, dtype="<f4").ravel()
        if wvals.size != n_fft:
            raise ValueError(f"window has {wvals.size} values, n_fft is {n_fft}")
        code = -1
    head = struct.pack("<12i", _SPEC_MAGIC, n_fft, int(n_mels), int(n_mfcc), _power_code(power),
                       code, 1, ortho, lift, 0, 0, int(values.size))
    head = head[:36] + struct.pack("<ff", float(amin),
                                   -1.0 if top_db is None else float(top_db)) + head[44:]
    return b"".join([head, start.astype("<u2").tobytes(), length.astype("<u2").tobytes(),
                     values.astype("<f4").tobytes(), wvals.tobytes()])


def export_mel(*, sr: float, n_fft: int = 512, n_mels: int = 40, window: Any = "hann",
               power: float = 2.0, fmin: float = 0.0, fmax: float | None = None,
               htk: bool = False, norm: Any = "slaney") -> bytes:
    """Spec bytes for ``microlearn_dsp.MFCC(spec).melspec(frame, out)`` alone (no DCT): the
    frames of :func:`microlearn.dsp.melspectrogram` with ``center=False``.

    Parameters
    ----------
    sr, n_fft, n_mels, window, power, fmin, fmax, htk, norm
        As :func:`microlearn.dsp.melspectrogram` (``norm``: the mel filters').

    Returns
    -------
    bytes
    """
    return export_mfcc(sr=sr, n_fft=n_fft, n_mels=n_mels, n_mfcc=0, window=window, power=power,
                       fmin=fmin, fmax=fmax, htk=htk, mel_norm=norm)
