"""Dsp IR -> C tables and the ``P__transform`` kernel (reads only the IR).

The kernel runs the runtime engine ``ml_dsp_transform_kind`` (``runtime/ml_dsp.h``) on a
``static ML_CONST ml_dsp_t P__model`` pointing at ``static ML_CONST`` tables (exact float32
literals; program memory on AVR, plain ``const`` elsewhere), with its scratch on the
stack: the same engine the model-file path runs, so header == file by design, and the
same DSP functions the scikit-learn transformer calls on the host.
"""

from __future__ import annotations

import numpy as np

from ...codegen import c_array, c_float, c_floats, c_ints
from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import KIND_CODE, DspIR
from .section import table_bytes

_KIND = {"melspec": "ML_DSP_MELSPEC", "mfcc": "ML_DSP_MFCC", "features": "ML_DSP_FEATURES",
         "level": "ML_DSP_LEVEL"}
assert set(_KIND) == set(KIND_CODE)


_F = np.float32
_SIN = tuple(_F(v) for v in ("7.853981853e-01", "-8.074551076e-02", "2.490394516e-03",
                              "-3.657620255e-05", "3.133616815e-07"))
_COS = tuple(_F(v) for v in ("-3.084251285e-01", "1.585434377e-02", "-3.259918885e-04",
                              "3.590860388e-06", "-2.461136894e-08"))


def _sincos2pi(num: int, den: int) -> tuple[np.float32, np.float32]:
    """``ml_dsp_sincos2pi`` (ml_fft.h) in float32, operation for operation."""
    e = (num % den) * 8
    octant, rem = e // den, e % den
    if octant & 1:
        rem = den - rem
    t = _F(rem) / _F(den)  # ml_divf: correctly rounded, as numpy's float32 division
    u = t * t
    so = t * (_SIN[0] + u * (_SIN[1] + u * (_SIN[2] + u * (_SIN[3] + u * _SIN[4]))))
    co = _F(1) + u * (_COS[0] + u * (_COS[1] + u * (_COS[2] + u * (_COS[3] + u * _COS[4]))))
    return {0: (so, co), 1: (co, so), 2: (co, -so), 3: (so, -co), 4: (-so, -co),
            5: (-co, -so), 6: (-co, so), 7: (-so, co)}[octant]


def rfft_twiddles(n: int) -> np.ndarray:
    """The twiddles ``ml_rfft_f32_init(S, n)`` computes into ``S->twiddle`` (5 n / 4
    float32, the same bits), for the AVR table in program memory."""
    m = n // 2
    tw = np.empty((3 * n) // 4 + n // 2, dtype=np.float32)
    with np.errstate(all="ignore"):
        for k in range((3 * m) // 4):
            s, c = _sincos2pi(k, m)
            tw[2 * k], tw[2 * k + 1] = c, -s
        ts = (3 * n) // 4
        for k in range(m // 2):
            s, c = _sincos2pi(k, n)
            tw[ts + 2 * k], tw[ts + 2 * k + 1] = _F(0.5) * c, _F(-0.5) * s
    return tw


def data_bytes(ir: DspIR) -> int:
    """Bytes of constant tables in the generated C (the model struct folds into the
    kernel; a model-file load keeps one ``ml_dsp_t`` in RAM)."""
    return table_bytes(ir)


def c_code(ir: DspIR, prefix: str) -> CCode:
    """Tables and the ``P__transform`` kernel for prefix ``P``."""
    P = prefix
    parts: list[str] = []
    ptr = dict.fromkeys(("window", "mel_start", "mel_length", "mel_weights", "dct", "codes",
                         "edges", "sos"), "NULL")

    def table(key: str, ctype: str, values: list[str], per_line: int = 8) -> None:
        parts.append(c_array(ctype, f"{P}__{key}", values, per_line))
        ptr[key] = f"{P}__{key}"

    if ir.spectro:
        table("window", "float", c_floats(ir.window))
        table("mel_start", "uint16_t", c_ints(ir.mel_start), 16)
        table("mel_length", "uint16_t", c_ints(ir.mel_length), 16)
        table("mel_weights", "float", c_floats(ir.mel_weights))
        if ir.dct is not None:
            table("dct", "float", c_floats(ir.dct))
    else:
        table("codes", "int32_t", c_ints(ir.codes), 16)
        if ir.edges is not None:
            table("edges", "float", c_floats(ir.edges))
        if ir.sos is not None:
            table("sos", "float", c_floats(ir.sos), 5)
    n_codes = 0 if ir.codes is None else int(ir.codes.size)
    fft = ir.fft_size
    if fft:  # AVR: the twiddles in program memory (ml_dsp.h copies them, no computing)
        parts.append("#if ML_PROGMEM\n" + c_array("float", f"{P}__twiddle",
                                                   c_floats(rfft_twiddles(fft)))
                     + "#endif\n")
        parts.append(f"#if ML_RFFT_MAX_N < {fft}\n#error \"{P}: this model runs a {fft}-point "
                     f"FFT: define ML_RFFT_MAX_N {fft} (or more) before including the "
                     "header\"\n#endif\n")
    parts.append(
        f"static const ml_dsp_t {P}__model = {{\n"
        f"    {_KIND[ir.kind]}, {ir.n_features}, {ir.n_outputs}, /* kind, n_features, "
        "n_outputs */\n"
        f"    {ir.n_fft}, {ir.hop}, {ir.n_frames}, {ir.n_mels}, {ir.n_mfcc}, {ir.power}, "
        f"{int(ir.to_db)}, /* n_fft, hop, n_frames, n_mels, n_mfcc, power, to_db */\n"
        f"    {c_float(ir.amin)}, {c_float(ir.top_db)}, /* amin, top_db */\n"
        f"    {ptr['window']}, {ptr['mel_start']}, {ptr['mel_length']}, {ptr['mel_weights']}, "
        f"{ptr['dct']},\n"
        f"    {ir.n_channels}, {ir.window_length}, {n_codes}, {ir.n_bands}, {ir.n_stages}, "
        "/* n_channels, window_length, n_codes, n_bands, n_stages */\n"
        f"    {c_float(ir.fs)}, {c_float(ir.tau)}, {c_float(ir.ref)}, /* fs, tau, ref */\n"
        f"    {ptr['codes']}, {ptr['edges']}, {ptr['sos']},\n"
        f"#if ML_PROGMEM\n    {f'{P}__twiddle' if fft else 'NULL'}, /* twiddle */\n#endif\n"
        "};\n")
    if ir.scratch_floats:
        call = (f"    float scratch[{ir.scratch_floats}];\n"
                f"    (void)ml_dsp_transform_kind({_KIND[ir.kind]}, &{P}__model, x, out, "
                "scratch);\n")
    else:
        call = (f"    (void)ml_dsp_transform_kind({_KIND[ir.kind]}, &{P}__model, x, out, "
                "NULL);\n")
    parts.append(f"static inline void {P}__transform(const float *x, float *ML_RESTRICT out)\n"
                 "{\n" + call + "}\n")
    # tables and struct are ML_CONST (program memory on AVR; ml_dsp.h reads them so)
    body = flash_struct(const_tables("\n".join(parts)), f"{P}__model", "ml_dsp_t", f"{P}__m")
    return CCode(runtime=("ml_dsp.h",), body=body, libm=False)


def describe_line(ir: DspIR) -> str:
    """One line: what the extractor computes."""
    n = ir.n_features
    if ir.kind == "mfcc":
        what = (f"{ir.n_frames} frames x {ir.n_mfcc} MFCCs (n_fft {ir.n_fft}, hop {ir.hop}, "
                f"{ir.n_mels} mels)")
    elif ir.kind == "melspec":
        what = (f"{ir.n_frames} frames x {ir.n_mels} mel bands{' in dB' if ir.to_db else ''} "
                f"(n_fft {ir.n_fft}, hop {ir.hop})")
    elif ir.kind == "features":
        what = (f"{ir.n_outputs} window features ({ir.n_channels} channel(s) of "
                f"{ir.window_length} samples)")
    else:
        w = (f"{ir.n_stages}-biquad frequency weighting" if ir.n_stages
             else "no frequency weighting")
        what = f"{ir.n_outputs} sound level(s), {w}"
    return f"{ir.estimator}: {n} samples -> {what}"

