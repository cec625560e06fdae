/* ml_filter.h - microlearn C runtime: IIR biquad cascades, FIR filters and integer
 * decimation, float32, streaming (block by block).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows. CMSIS-DSP style: an instance struct per filter,
 * `*_init` fills it from caller-owned arrays (coefficients are read, never copied; the
 * state is caller-owned and written), the process functions run on blocks of any size
 * and keep the state, so feeding a signal in blocks of any sizes gives the bits of one
 * call on the whole signal. No allocation, no globals, no libm.
 *
 * Usage:
 *     // 4-section cascade, coefficients from microlearn.dsp (scipy's sos, a0 = 1 dropped)
 *     static const float coeffs[4 * 5] = { b0, b1, b2, a1, a2,  ... };
 *     float state[4 * 2];
 *     ml_biquad_f32_t bq;
 *     ml_biquad_f32_init(&bq, 4, coeffs, state);     // state zeroed
 *     ml_biquad_f32(&bq, in, out, n);                // repeat for every block
 *
 * Biquad cascade (ml_biquad_f32): scipy.signal.sosfilt's Direct Form II transposed
 * (a0 = 1) in float32; per section, for each sample x:
 *     y  = b0 * x + d0
 *     d0 = (b1 * x + d1) - a1 * y
 *     d1 = b2 * x - a2 * y
 * This is the operation order of CMSIS-DSP's arm_biquad_cascade_df2T_f32 (which stores
 * -a1, -a2 and adds): five multiply-accumulates per section and sample (VMLA / VMLS on
 * Cortex-M4F: multiply and add each rounded, not fused), so it runs as fast and gives
 * CMSIS-DSP's bits (benchmarks/bench_dsp_time.py checks both on emulated Cortex-M4F and
 * M0+: 4 sections take 32 instructions per sample on the M4F, CMSIS-DSP 29.5). scipy's
 * float32 sosfilt rounds b1 * x - a1 * y before adding d1 (one more instruction per
 * section); the two differ by float32 rounding only. Against scipy in float64: within
 * 2e-5 of the input's peak for the filters tested (A weighting, Butterworth, Chebyshev
 * band-pass); sections with poles very close to z = 1 amplify float32 rounding (C
 * weighting at 48 kHz: 1e-3 of full scale), see tests/test_dsp_time.py. A NaN or inf
 * input makes the state NaN / inf: every later output is NaN, as in scipy;
 * ml_biquad_f32_reset() clears it.
 *
 * FIR (ml_fir_f32): direct form, y[n] = sum_k b[k] x[n-k] summed in k order (k = 0
 * first) in float32. The state is the input history in a doubled circular buffer of
 * 2 * n_taps floats (each sample written twice so the taps read a contiguous run; no
 * modulo in the inner loop). A NaN / inf input gives NaN / inf outputs while it is in
 * the history (n_taps samples), then the filter recovers.
 *
 * Decimator (ml_decimate_f32): the FIR above as anti-alias filter, keeping outputs
 * 0, q, 2q, ... of the filtered signal (the phase carries over between blocks); only
 * the kept outputs are computed. With microlearn.dsp's default filter (scipy.signal
 * .firwin(20 q + 1, 1 / q, window="hamming")) this is scipy.signal.decimate(x, q,
 * ftype="fir", zero_phase=False) in float32.
 */
#ifndef ML_FILTER_H
#define ML_FILTER_H

#include "ml_common.h"


/* ---------------------------------------------------------------------------------- */
/* biquad cascade, Direct Form II transposed */

typedef struct ml_biquad_f32 {
    int32_t n_stages;      /* sections, >= 1 */
    const float *coeffs;   /* [5 * n_stages]: b0, b1, b2, a1, a2 of each section (a0 = 1) */
    float *state;          /* [2 * n_stages]: d0, d1 of each section */
} ml_biquad_f32_t;

/* Zero the state (as after init). */
static inline void ml_biquad_f32_reset(ml_biquad_f32_t *f)
{
    ml_fill_f32(f->state, 2 * f->n_stages, 0.0f);
}

/* Fill f; the state is zeroed. Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (n_stages < 1
 * or too large for int32 indexing). */
static inline int32_t ml_biquad_f32_init(ml_biquad_f32_t *f, int32_t n_stages,
                                         const float *coeffs, float *state)
{
    if (f == NULL || coeffs == NULL || state == NULL) {
        return ML_ERR_NULL;
    }
    if (n_stages < 1 || n_stages > INT32_MAX / 5) {
        return ML_ERR_ARG;
    }
    f->n_stages = n_stages;
    f->coeffs = coeffs;
    f->state = state;
    ml_biquad_f32_reset(f);
    return ML_OK;
}

/* One sample through one section (the arithmetic of the header comment). */
#define ML_BIQUAD_F32_STEP_(xi, yi)                                                     \
    do {                                                                                \
        (yi) = b0 * (xi) + d0;                                                          \
        d0 = (b1 * (xi) + d1) - a1 * (yi);                                              \
        d1 = b2 * (xi) - a2 * (yi);                                                     \
    } while (0)

/* Filter n samples of x into y (y == x allowed: in place), updating the state.
 * The outer loop runs over sections (coefficients and state in registers), the inner one
 * over the block, unrolled by 4, as CMSIS-DSP does. Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG (n < 0). */
static inline int32_t ml_biquad_f32(const ml_biquad_f32_t *f, const float *x, float *y,
                                    int32_t n)
{
    if (f == NULL || (n > 0 && (x == NULL || y == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    const float *src = x;
    for (int32_t s = 0; s < f->n_stages; s++) {
        const float *c = f->coeffs + 5 * s;
        const float b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[3], a2 = c[4];
        float d0 = f->state[2 * s];
        float d1 = f->state[2 * s + 1];
        const float *in = src;
        float *out = y;
        for (int32_t k = n >> 2; k > 0; k--) {
            const float x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3];
            float yi;
            ML_BIQUAD_F32_STEP_(x0, yi);
            out[0] = yi;
            ML_BIQUAD_F32_STEP_(x1, yi);
            out[1] = yi;
            ML_BIQUAD_F32_STEP_(x2, yi);
            out[2] = yi;
            ML_BIQUAD_F32_STEP_(x3, yi);
            out[3] = yi;
            in += 4;
            out += 4;
        }
        for (int32_t k = n & 3; k > 0; k--) {
            const float xi = *in++;
            float yi;
            ML_BIQUAD_F32_STEP_(xi, yi);
            *out++ = yi;
        }
        f->state[2 * s] = d0;
        f->state[2 * s + 1] = d1;
        src = y;
    }
    return ML_OK;
}

/* ---------------------------------------------------------------------------------- */
/* FIR, direct form */

typedef struct ml_fir_f32 {
    int32_t n_taps;      /* >= 1 */
    int32_t pos;         /* index in [0, n_taps) of the newest sample in state */
    const float *taps;   /* [n_taps] b[0..n_taps-1] */
    float *state;        /* [2 * n_taps]: the last n_taps inputs, twice (see above) */
} ml_fir_f32_t;

/* Zero the history (as after init). */
static inline void ml_fir_f32_reset(ml_fir_f32_t *f)
{
    ml_fill_f32(f->state, 2 * f->n_taps, 0.0f);
    f->pos = 0;
}

/* Fill f; the history is zeroed. Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (n_taps < 1). */
static inline int32_t ml_fir_f32_init(ml_fir_f32_t *f, int32_t n_taps, const float *taps,
                                      float *state)
{
    if (f == NULL || taps == NULL || state == NULL) {
        return ML_ERR_NULL;
    }
    if (n_taps < 1 || n_taps > INT32_MAX / 2) {
        return ML_ERR_ARG;
    }
    f->n_taps = n_taps;
    f->taps = taps;
    f->state = state;
    ml_fir_f32_reset(f);
    return ML_OK;
}

/* Append one input sample to the history (no output computed). */
static inline void ml_fir_f32_push(ml_fir_f32_t *f, float x)
{
    int32_t p = f->pos - 1;
    if (p < 0) {
        p = f->n_taps - 1;
    }
    f->state[p] = x;
    f->state[p + f->n_taps] = x;
    f->pos = p;
}

/* The filter output for the current history: sum_k b[k] x[n-k], k = 0 first. */
static inline float ml_fir_f32_output(const ml_fir_f32_t *f)
{
    const float *h = f->state + f->pos;
    const float *b = f->taps;
    float acc = b[0] * h[0];
    for (int32_t k = 1; k < f->n_taps; k++) {
        acc += b[k] * h[k];
    }
    return acc;
}

/* Set the history to the last n_taps - 1 inputs hist[0..n_taps-2] (oldest first), as if
 * they had been filtered: ml_fir_f32 then continues that signal. */
static inline int32_t ml_fir_f32_set_history(ml_fir_f32_t *f, const float *hist)
{
    if (f == NULL || (f->n_taps > 1 && hist == NULL)) {
        return ML_ERR_NULL;
    }
    ml_fir_f32_reset(f);
    for (int32_t i = 0; i < f->n_taps - 1; i++) {
        ml_fir_f32_push(f, hist[i]);
    }
    return ML_OK;
}

/* The last n_taps - 1 inputs into hist[0..n_taps-2] (oldest first). */
static inline int32_t ml_fir_f32_get_history(const ml_fir_f32_t *f, float *hist)
{
    if (f == NULL || (f->n_taps > 1 && hist == NULL)) {
        return ML_ERR_NULL;
    }
    for (int32_t i = 0; i < f->n_taps - 1; i++) {
        hist[i] = f->state[f->pos + f->n_taps - 2 - i];
    }
    return ML_OK;
}

/* Filter n samples of x into y (y == x allowed). Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG (n < 0). */
static inline int32_t ml_fir_f32(ml_fir_f32_t *f, const float *x, float *y, int32_t n)
{
    if (f == NULL || (n > 0 && (x == NULL || y == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    for (int32_t i = 0; i < n; i++) {
        ml_fir_f32_push(f, x[i]);
        y[i] = ml_fir_f32_output(f);
    }
    return ML_OK;
}

/* ---------------------------------------------------------------------------------- */
/* integer decimation */

typedef struct ml_decimate_f32 {
    ml_fir_f32_t fir;   /* anti-alias filter and its history */
    int32_t q;          /* decimation factor, >= 1 */
    int32_t phase;      /* inputs since the last kept output, mod q (0: next is kept) */
} ml_decimate_f32_t;

/* Fill d (history zeroed, phase 0: the first input's output is kept). taps: the
 * anti-alias FIR (microlearn.dsp.decimation_filter). Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG (q < 1, n_taps < 1). */
static inline int32_t ml_decimate_f32_init(ml_decimate_f32_t *d, int32_t q, int32_t n_taps,
                                           const float *taps, float *state)
{
    if (d == NULL) {
        return ML_ERR_NULL;
    }
    if (q < 1) {
        return ML_ERR_ARG;
    }
    const int32_t r = ml_fir_f32_init(&d->fir, n_taps, taps, state);
    if (r != ML_OK) {
        return r;
    }
    d->q = q;
    d->phase = 0;
    return ML_OK;
}

/* Outputs that n more inputs give (for sizing y): ceil((n - (q - phase) % q) / q). */
static inline int32_t ml_decimate_f32_n_out(const ml_decimate_f32_t *d, int32_t n)
{
    const int32_t first = (d->q - d->phase) % d->q; /* inputs before the next kept one */
    return n > first ? (n - first - 1) / d->q + 1 : 0;
}

/* Decimate n inputs x into y, which receives ml_decimate_f32_n_out(d, n) samples; their
 * number is also written to *n_out (may be NULL). Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG (n < 0). y may not overlap x. */
static inline int32_t ml_decimate_f32(ml_decimate_f32_t *d, const float *x, int32_t n,
                                      float *y, int32_t *n_out)
{
    if (d == NULL || (n > 0 && (x == NULL || y == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    int32_t k = 0;
    int32_t phase = d->phase;
    for (int32_t i = 0; i < n; i++) {
        ml_fir_f32_push(&d->fir, x[i]);
        if (phase == 0) {
            y[k++] = ml_fir_f32_output(&d->fir);
        }
        phase++;
        if (phase == d->q) {
            phase = 0;
        }
    }
    d->phase = phase;
    if (n_out != NULL) {
        *n_out = k;
    }
    return ML_OK;
}

#endif /* ML_FILTER_H */
