/* ml_level.h - microlearn C runtime: sound level (dB, dBFS, Leq, exponential time
 * weighting, frequency-weighted sound level), float32, streaming.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows. No libm: logarithms and divisions are ml_math.h's.
 *
 * Frequency weighting (A, C) is a biquad cascade (ml_filter.h) whose coefficients are
 * designed in Python at the device's sample rate (microlearn.dsp.a_weighting(fs) /
 * c_weighting(fs): bilinear transform of the IEC 61672-1 analog poles and zeros, in
 * float64, normalised to 0 dB at 1 kHz).
 *
 * Definitions (x: samples, full scale = 1.0 unless stated):
 *   mean square         ms = mean(x^2)
 *   level               L = 10 log10(ms / ref_ms) dB; ms == 0 gives -inf, NaN gives NaN
 *   dBFS (AES17)        20 log10(rms * sqrt(2) / full_scale): a full-scale sine is
 *                       0 dBFS, a full-scale square wave +3.01 dBFS
 *   Leq                 10 log10(mean over the period of x_w^2 / ref_ms), x_w the weighted
 *                       signal; the sum of squares is a compensated (Kahan) float32 sum,
 *                       so long periods lose no precision
 *   time weighting      ms[n] = ms[n-1] + alpha (x[n]^2 - ms[n-1]), ms[-1] = 0,
 *                       alpha = 1 - exp(-1 / (fs tau)); tau = 0.125 s (F, fast) or 1 s
 *                       (S, slow): the discrete form of IEC 61672's exponential averager
 *                       (= scipy.signal.lfilter([alpha], [1, alpha - 1], x**2))
 *
 * Usage (A-weighted, fast sound level in dB re full-scale 1.0, block by block):
 *     static const float aw[3 * 5] = { ... microlearn.dsp.a_weighting(16000) ... };
 *     float bq_state[3 * 2];
 *     ml_sound_level_f32_t slm;
 *     ml_sound_level_f32_init(&slm, 3, aw, bq_state, 16000.0f, ML_LEVEL_TAU_FAST, 1.0f);
 *     ml_sound_level_f32(&slm, block, levels_db, n);   // one level per input sample
 */
#ifndef ML_LEVEL_H
#define ML_LEVEL_H

#include "ml_common.h"
#include "ml_filter.h"
#include "ml_math.h"

#define ML_LEVEL_TAU_FAST 0.125f
#define ML_LEVEL_TAU_SLOW 1.0f
#define ML_LEVEL_10_OVER_LN10 4.34294481903251828f /* 10 / ln(10) */

/* 10 log10(ms / ref_ms): -inf for ms == 0, NaN for NaN or ms < 0; ref_ms > 0. */
static inline float ml_level_db(float ms, float ref_ms)
{
    return ML_LEVEL_10_OVER_LN10 * ml_logf(ml_divf(ms, ref_ms));
}

/* Mean square of x[0..n-1] (compensated float32 sum of x^2, then / n); 0 for n <= 0. */
static inline float ml_level_mean_square(const float *x, int32_t n)
{
    if (n <= 0 || x == NULL) {
        return 0.0f;
    }
    float sum = 0.0f, comp = 0.0f;
    for (int32_t i = 0; i < n; i++) {
        const float t = x[i] * x[i] - comp;
        const float s = sum + t;
        comp = (s - sum) - t;
        sum = s;
    }
    return ml_divf(sum, (float)n);
}

/* dBFS (AES17: a full-scale sine is 0 dBFS) of x[0..n-1], full_scale > 0 (1.0 for float
 * audio, 32768 for int16 values as float). -inf for silence, NaN if x holds a NaN. */
static inline float ml_level_dbfs(const float *x, int32_t n, float full_scale)
{
    const float ms = ml_level_mean_square(x, n);
    return ml_level_db(ms, 0.5f * full_scale * full_scale);
}

/* ---------------------------------------------------------------------------------- */
/* Leq: energy average over a period (any number of blocks) */

typedef struct ml_leq_f32 {
    float sum;     /* compensated sum of x^2 */
    float comp;    /* Kahan compensation */
    int32_t count; /* samples summed */
} ml_leq_f32_t;

static inline void ml_leq_f32_reset(ml_leq_f32_t *q)
{
    q->sum = 0.0f;
    q->comp = 0.0f;
    q->count = 0;
}

/* Add n samples (already frequency weighted if wanted). Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG (n < 0, or the count would exceed INT32_MAX samples: 12 h at 48 kHz; reset
 * per period). */
static inline int32_t ml_leq_f32_update(ml_leq_f32_t *q, const float *x, int32_t n)
{
    if (q == NULL || (n > 0 && x == NULL)) {
        return ML_ERR_NULL;
    }
    if (n < 0 || n > INT32_MAX - q->count) {
        return ML_ERR_ARG;
    }
    float sum = q->sum, comp = q->comp;
    for (int32_t i = 0; i < n; i++) {
        const float t = x[i] * x[i] - comp;
        const float s = sum + t;
        comp = (s - sum) - t;
        sum = s;
    }
    q->sum = sum;
    q->comp = comp;
    q->count += n;
    return ML_OK;
}

/* Leq of the samples added since the last reset, in dB re ref_ms (mean square of the
 * reference: 1.0 for dB re full scale 1.0; 0.5 for dBFS). NaN when no samples. */
static inline float ml_leq_f32_db(const ml_leq_f32_t *q, float ref_ms)
{
    if (q->count <= 0) {
        return ml_f32_from_bits(ML_MATH_QNAN_BITS);
    }
    return ml_level_db(ml_divf(q->sum, (float)q->count), ref_ms);
}

/* ---------------------------------------------------------------------------------- */
/* exponential time weighting */

typedef struct ml_time_weight_f32 {
    float alpha; /* 1 - exp(-1 / (fs tau)) */
    float ms;    /* current mean square */
} ml_time_weight_f32_t;

/* alpha from the sample rate fs (Hz) and the time constant tau (s); ms = 0.
 * Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (fs or tau not > 0, or not finite). */
static inline int32_t ml_time_weight_f32_init(ml_time_weight_f32_t *t, float fs, float tau)
{
    if (t == NULL) {
        return ML_ERR_NULL;
    }
    if (!(fs > 0.0f && tau > 0.0f && fs < 3.0e38f && tau < 3.0e38f)) {
        return ML_ERR_ARG;
    }
    t->alpha = 1.0f - ml_expf(-ml_reciprocalf(fs * tau));
    t->ms = 0.0f;
    return ML_OK;
}

/* Time-weighted mean square after every sample of x into ms_out (ms_out == x allowed).
 * Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (n < 0). */
static inline int32_t ml_time_weight_f32(ml_time_weight_f32_t *t, const float *x,
                                         float *ms_out, int32_t n)
{
    if (t == NULL || (n > 0 && (x == NULL || ms_out == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    const float a = t->alpha;
    float ms = t->ms;
    for (int32_t i = 0; i < n; i++) {
        ms = ms + a * (x[i] * x[i] - ms);
        ms_out[i] = ms;
    }
    t->ms = ms;
    return ML_OK;
}

/* ---------------------------------------------------------------------------------- */
/* sound level meter: frequency weighting -> time weighting -> dB */

typedef struct ml_sound_level_f32 {
    ml_biquad_f32_t weighting; /* n_stages 0: no frequency weighting (Z) */
    ml_time_weight_f32_t tw;
    float ref_ms;              /* mean square of 0 dB */
} ml_sound_level_f32_t;

/* n_stages / coeffs / state: the weighting cascade (n_stages 0, coeffs and state NULL:
 * none); fs in Hz; tau in s (ML_LEVEL_TAU_FAST / _SLOW); ref: the amplitude (rms) of
 * 0 dB, > 0. Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG. */
static inline int32_t ml_sound_level_f32_init(ml_sound_level_f32_t *m, int32_t n_stages,
                                              const float *coeffs, float *state, float fs,
                                              float tau, float ref)
{
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    if (!(ref > 0.0f && ref < 1.0e19f) || n_stages < 0) {
        return ML_ERR_ARG;
    }
    if (n_stages > 0) {
        const int32_t r = ml_biquad_f32_init(&m->weighting, n_stages, coeffs, state);
        if (r != ML_OK) {
            return r;
        }
    } else {
        m->weighting.n_stages = 0;
        m->weighting.coeffs = NULL;
        m->weighting.state = NULL;
    }
    m->ref_ms = ref * ref;
    return ml_time_weight_f32_init(&m->tw, fs, tau);
}

/* The time-weighted sound level in dB after every sample of x into level_db
 * (level_db == x allowed). Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (n < 0). */
static inline int32_t ml_sound_level_f32(ml_sound_level_f32_t *m, const float *x,
                                         float *level_db, int32_t n)
{
    if (m == NULL || (n > 0 && (x == NULL || level_db == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    const float *src = x;
    if (m->weighting.n_stages > 0) {
        (void)ml_biquad_f32(&m->weighting, x, level_db, n);
        src = level_db;
    }
    (void)ml_time_weight_f32(&m->tw, src, level_db, n);
    for (int32_t i = 0; i < n; i++) {
        level_db[i] = ml_level_db(level_db[i], m->ref_ms);
    }
    return ML_OK;
}

#endif /* ML_LEVEL_H */
