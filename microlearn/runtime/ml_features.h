/* ml_features.h - microlearn C runtime: time-series window features (IMU, vibration,
 * any sensor), float32.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows. No libm (ml_math.h), no allocation.
 *
 * Features of one window x[0..n-1] (numpy / scipy definitions; n >= 1):
 *   ML_FEAT_MEAN            mean                 np.mean
 *   ML_FEAT_STD             standard deviation   np.std (ddof 0)
 *   ML_FEAT_VAR             variance             np.var (ddof 0)
 *   ML_FEAT_MIN / _MAX      minimum / maximum    np.min / np.max (NaN propagates)
 *   ML_FEAT_RMS             sqrt(mean(x^2))
 *   ML_FEAT_PTP             max - min            np.ptp
 *   ML_FEAT_ZERO_CROSSINGS  count of i in 1..n-1 with (x[i-1] >= 0) != (x[i] >= 0)
 *                           (np.count_nonzero(np.diff(x >= 0))); 0 counts as positive
 *   ML_FEAT_MEAN_CROSSINGS  the same for x - mean (x[i] >= mean, mean as computed here)
 *   ML_FEAT_SKEW            m3 / m2^1.5          scipy.stats.skew(bias=True)
 *   ML_FEAT_KURTOSIS        m4 / m2^2 - 3        scipy.stats.kurtosis(fisher=True,
 *                                                bias=True)
 *   ML_FEAT_ENERGY          sum(x^2)
 *   (m_k = mean((x - mean)^k))
 *
 * Algorithm (two passes, numerically stable): pass 1 takes min, max and the compensated
 * (Kahan) float32 sums of x and x^2; mean = sum / n (a constant window, min == max, gives
 * mean = x[0] exactly). Pass 2 sums d = x - mean, d^2, d^3, d^4 in float32 and takes
 * m2 = S(d^2)/n - (S(d)/n)^2 (the "corrected two-pass" formula: the S(d) term removes
 * the rounding error of the mean), m3 = S(d^3)/n, m4 = S(d^4)/n. No x^2 - mean^2
 * cancellation anywhere. Against numpy/scipy in float64 on UCI HAR windows (n = 128):
 * std, var, rms, energy within 1e-5 relative (measured 9e-7), mean within 1e-5 of the
 * window's rms, min / max / ptp / crossing counts exact, skew and kurtosis within 2e-4
 * absolute (measured 1.1e-4); see tests/test_dsp_time.py.
 *
 * Degenerate windows, as scipy: when m2 <= (2 FLT_EPSILON mean)^2 (a constant window,
 * up to rounding) skew and kurtosis are NaN and std / var are 0 when min == max. A NaN
 * anywhere in x makes every float feature NaN (numpy's nan-propagating functions);
 * crossing counts then treat NaN as negative. +-inf gives what the formulas give (NaN
 * for std, skew, kurtosis, inf for rms).
 *
 * Spectral features (ml_spectral_features_f32; n a power of two, ml_fft.h's real FFT,
 * X = numpy.fft.rfft(x), bin k at f_k = k fs / n, k = 0 .. n/2):
 *   band energy             E_b = sum of |X[k]|^2 over lo_b <= f_k < hi_b (k order, float32)
 *                           for bands given by n_bands + 1 increasing edges in Hz
 *   dominant frequency      f_k of the largest |X[k]|^2 with k >= 1 (DC excluded; the first
 *                           of equal maxima; 0 for a window without any nonzero bin;
 *                           NaN when x holds a NaN or inf)
 *
 * Accelerometer helpers:
 *   ml_vector_magnitude_f32   |a| = sqrt(x^2 + y^2 + z^2) per sample
 *   ml_pitch_roll_f32         pitch = atan2(-ax, sqrt(ay^2 + az^2)), roll = atan2(ay, az)
 *                             in radians (gravity along +z at rest: 0, 0)
 *   ml_atan2f                 atan2 with a float32 polynomial, error <= 2 ulp (measured
 *                             1.47 ulp on 1.2 million random pairs)
 */
#ifndef ML_FEATURES_H
#define ML_FEATURES_H

#include <float.h>

#include "ml_common.h"
#include "ml_fft.h"
#include "ml_math.h"


#define ML_FEAT_MEAN 0
#define ML_FEAT_STD 1
#define ML_FEAT_VAR 2
#define ML_FEAT_MIN 3
#define ML_FEAT_MAX 4
#define ML_FEAT_RMS 5
#define ML_FEAT_PTP 6
#define ML_FEAT_ZERO_CROSSINGS 7
#define ML_FEAT_MEAN_CROSSINGS 8
#define ML_FEAT_SKEW 9
#define ML_FEAT_KURTOSIS 10
#define ML_FEAT_ENERGY 11
#define ML_FEAT_COUNT 12 /* number of feature ids */

#define ML_FEATURES_PI 3.14159274f       /* float(pi) */
#define ML_FEATURES_PI_2 1.57079637f     /* float(pi / 2) */
#define ML_FEATURES_PI_4 0.785398163f    /* float(pi / 4) */

/* All statistics of one window (see the header comment). */
typedef struct ml_stats_f32 {
    float mean, std, var, min, max, rms, ptp, skew, kurtosis, energy;
    int32_t zero_crossings, mean_crossings;
} ml_stats_f32_t;

/* Compute every statistic of x[0..n-1]. Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG
 * (n < 1). */
static inline int32_t ml_stats_f32(const float *x, int32_t n, ml_stats_f32_t *st)
{
    if (x == NULL || st == NULL) {
        return ML_ERR_NULL;
    }
    if (n < 1) {
        return ML_ERR_ARG;
    }
    const float nan = ml_f32_from_bits(ML_MATH_QNAN_BITS);
    /* pass 1: min, max, sum, sum of squares, zero crossings */
    float mn = x[0], mx = x[0];
    float s = 0.0f, sc = 0.0f, q = 0.0f, qc = 0.0f;
    int32_t zc = 0;
    int has_nan = 0;
    for (int32_t i = 0; i < n; i++) {
        const float v = x[i];
        if (v != v) {
            has_nan = 1;
        }
        if (v < mn) {
            mn = v;
        }
        if (v > mx) {
            mx = v;
        }
        const float t = v - sc;
        const float s2 = s + t;
        sc = (s2 - s) - t;
        s = s2;
        const float u = v * v - qc;
        const float q2 = q + u;
        qc = (q2 - q) - u;
        q = q2;
        if (i > 0 && ((x[i - 1] >= 0.0f) != (v >= 0.0f))) {
            zc++;
        }
    }
    const float fn = (float)n;
    const float inv_n = ml_reciprocalf(fn);
    st->zero_crossings = zc;
    if (has_nan) {
        st->mean = st->std = st->var = st->min = st->max = nan;
        st->rms = st->ptp = st->skew = st->kurtosis = st->energy = nan;
        st->mean_crossings = 0; /* x >= NaN is false everywhere */
        return ML_OK;
    }
    const float mean = (mn == mx) ? x[0] : ml_divf(s, fn);
    /* pass 2: central moments */
    float d1 = 0.0f, d2 = 0.0f, d3 = 0.0f, d4 = 0.0f;
    int32_t mc = 0;
    for (int32_t i = 0; i < n; i++) {
        const float d = x[i] - mean;
        const float dd = d * d;
        d1 += d;
        d2 += dd;
        d3 += dd * d;
        d4 += dd * dd;
        if (i > 0 && ((x[i - 1] >= mean) != (x[i] >= mean))) {
            mc++;
        }
    }
    const float e1 = d1 * inv_n;
    float m2 = d2 * inv_n - e1 * e1;
    if (m2 < 0.0f || mn == mx) {
        m2 = 0.0f;
    }
    const float m3 = d3 * inv_n;
    const float m4 = d4 * inv_n;
    st->mean = mean;
    st->min = mn;
    st->max = mx;
    st->ptp = mx - mn;
    st->var = m2;
    st->std = ml_sqrtf(m2);
    st->energy = q;
    st->rms = ml_sqrtf(ml_divf(q, fn));
    st->mean_crossings = mc;
    const float tiny = 2.0f * FLT_EPSILON * mean;
    if (m2 <= tiny * tiny || m2 == 0.0f) {
        st->skew = nan;
        st->kurtosis = nan;
    } else {
        st->skew = ml_divf(m3, m2 * st->std);
        st->kurtosis = ml_divf(m4, m2 * m2) - 3.0f;
    }
    return ML_OK;
}

/* The value of feature id from computed statistics (counts as float). NaN for an
 * unknown id. */
static inline float ml_stats_f32_get(const ml_stats_f32_t *st, int32_t id)
{
    switch (id) {
    case ML_FEAT_MEAN: return st->mean;
    case ML_FEAT_STD: return st->std;
    case ML_FEAT_VAR: return st->var;
    case ML_FEAT_MIN: return st->min;
    case ML_FEAT_MAX: return st->max;
    case ML_FEAT_RMS: return st->rms;
    case ML_FEAT_PTP: return st->ptp;
    case ML_FEAT_ZERO_CROSSINGS: return (float)st->zero_crossings;
    case ML_FEAT_MEAN_CROSSINGS: return (float)st->mean_crossings;
    case ML_FEAT_SKEW: return st->skew;
    case ML_FEAT_KURTOSIS: return st->kurtosis;
    case ML_FEAT_ENERGY: return st->energy;
    default: return ml_f32_from_bits(ML_MATH_QNAN_BITS);
    }
}

/* out[k] = feature ids[k] of the window x[0..n-1], k < n_ids. Returns ML_OK,
 * ML_ERR_NULL, or ML_ERR_ARG (n < 1, n_ids < 0, an id outside [0, ML_FEAT_COUNT)). */
static inline int32_t ml_features_f32(const float *x, int32_t n, const int32_t *ids,
                                      int32_t n_ids, float *out)
{
    if (x == NULL || (n_ids > 0 && (ids == NULL || out == NULL))) {
        return ML_ERR_NULL;
    }
    if (n < 1 || n_ids < 0) {
        return ML_ERR_ARG;
    }
    for (int32_t k = 0; k < n_ids; k++) {
        if (ids[k] < 0 || ids[k] >= ML_FEAT_COUNT) {
            return ML_ERR_ARG;
        }
    }
    ml_stats_f32_t st;
    const int32_t r = ml_stats_f32(x, n, &st);
    if (r != ML_OK) {
        return r;
    }
    for (int32_t k = 0; k < n_ids; k++) {
        out[k] = ml_stats_f32_get(&st, ids[k]);
    }
    return ML_OK;
}

/* ---------------------------------------------------------------------------------- */
/* spectral features */

/* Band energies and dominant frequency of the window x[0..n-1], n = fft->n (an
 * initialised ml_rfft_f32_t). fs: sample rate (Hz, > 0); edges: n_bands + 1 increasing
 * band edges in Hz (n_bands >= 0; NULL when 0); band_out: [n_bands] (may be NULL when
 * n_bands is 0); dominant_hz: may be NULL; scratch: [n + 2] floats (the spectrum).
 * Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (fft not initialised, fs <= 0, edges not
 * increasing, n_bands < 0). */
static inline int32_t ml_spectral_features_f32(const ml_rfft_f32_t *fft, const float *x,
                                               float fs, const float *edges, int32_t n_bands,
                                               float *band_out, float *dominant_hz,
                                               float *scratch)
{
    if (fft == NULL || x == NULL || scratch == NULL ||
        (n_bands > 0 && (edges == NULL || band_out == NULL))) {
        return ML_ERR_NULL;
    }
    if (fft->n < ML_RFFT_MIN_N || !(fs > 0.0f && fs < 3.0e38f) || n_bands < 0) {
        return ML_ERR_ARG;
    }
    for (int32_t b = 0; b < n_bands; b++) {
        if (!(edges[b] < edges[b + 1])) {
            return ML_ERR_ARG;
        }
    }
    const int32_t n = fft->n;
    const int32_t n_bins = n / 2 + 1;
    ml_rfft_f32(fft, (float *)x, scratch); /* x is only read (ml_fft.h) */
    ml_power_spectrum_f32(scratch, n_bins, scratch); /* in place: out[k] <= X[2k..] */
    const float fn = (float)n;
    int32_t best = 0;
    int has_nan = 0;
    for (int32_t k = 1; k < n_bins; k++) {
        if (scratch[k] > (best == 0 ? 0.0f : scratch[best])) {
            best = k;
        }
        if (scratch[k] != scratch[k]) {
            has_nan = 1;
        }
    }
    if (dominant_hz != NULL) {
        *dominant_hz = has_nan ? ml_f32_from_bits(ML_MATH_QNAN_BITS)
                               : ml_divf((float)best * fs, fn);
    }
    for (int32_t b = 0; b < n_bands; b++) {
        float e = 0.0f;
        for (int32_t k = 0; k < n_bins; k++) {
            const float f = ml_divf((float)k * fs, fn);
            if (f >= edges[b] && f < edges[b + 1]) {
                e += scratch[k];
            }
        }
        band_out[b] = e;
    }
    return ML_OK;
}

/* ---------------------------------------------------------------------------------- */
/* accelerometer helpers */

/* atan(u) for |u| <= 1: u + u^3 P(u^2), P of degree 8 fitted here (iteratively reweighted
 * least squares towards minimax; microlearn's own): max error 1.07 ulp on [0, 1]. */
static inline float ml_features_atan_kernel_(float u)
{
    const float t = u * u;
    const float p = -0.333332926f + t * (0.19998394f + t * (-0.142626211f +
                    t * (0.10943798f + t * (-0.0837922841f + t * (0.0575477183f +
                    t * (-0.0307739843f + t * (0.010700061f + t * -0.00174612994f)))))));
    return u + u * (t * p);
}

/* atan2(y, x) in radians, [-pi, pi]; error <= 2 ulp (tests/test_dsp_time.py measures
 * it against numpy). Signs and special values as C99's atan2 for +-0, +-inf; NaN -> NaN. */
static inline float ml_atan2f(float y, float x)
{
    if (x != x || y != y) {
        return x + y;
    }
    const float ax = ml_fabsf(x), ay = ml_fabsf(y);
    const int y_neg = (int)(ml_f32_bits(y) >> 31);
    const int x_neg = (int)(ml_f32_bits(x) >> 31);
    float r;
    if (ay == 0.0f) {
        r = x_neg ? ML_FEATURES_PI : 0.0f;
    } else if (ax == 0.0f) {
        r = ML_FEATURES_PI_2;
    } else if (ax > FLT_MAX || ay > FLT_MAX) { /* an infinity */
        if (ax > FLT_MAX && ay > FLT_MAX) {
            r = x_neg ? 3.0f * ML_FEATURES_PI_4 : ML_FEATURES_PI_4;
        } else if (ay > FLT_MAX) {
            r = ML_FEATURES_PI_2;
        } else {
            r = x_neg ? ML_FEATURES_PI : 0.0f;
        }
    } else {
        const int swap = ay > ax;
        /* atan(min / max), then pi/2 - it (swapped) and pi - it (x < 0), the constants
         * in two parts (float + remainder) */
        float a = ml_features_atan_kernel_(swap ? ml_divf(ax, ay) : ml_divf(ay, ax));
        if (swap) {
            a = (ML_FEATURES_PI_2 - a) + -4.37113883e-08f;
        }
        r = x_neg ? (ML_FEATURES_PI - a) + -8.74227766e-08f : a;
    }
    return y_neg ? -r : r;
}

/* out[i] = sqrt(x[i]^2 + y[i]^2 + z[i]^2), i < n (sum in that order). Returns ML_OK,
 * ML_ERR_NULL or ML_ERR_ARG (n < 0). */
static inline int32_t ml_vector_magnitude_f32(const float *x, const float *y, const float *z,
                                              float *out, int32_t n)
{
    if (n > 0 && (x == NULL || y == NULL || z == NULL || out == NULL)) {
        return ML_ERR_NULL;
    }
    if (n < 0) {
        return ML_ERR_ARG;
    }
    for (int32_t i = 0; i < n; i++) {
        out[i] = ml_sqrtf((x[i] * x[i] + y[i] * y[i]) + z[i] * z[i]);
    }
    return ML_OK;
}

/* Tilt from one accelerometer sample (any unit): pitch = atan2(-ax, sqrt(ay^2 + az^2)),
 * roll = atan2(ay, az), radians. */
static inline void ml_pitch_roll_f32(float ax, float ay, float az, float *pitch, float *roll)
{
    *pitch = ml_atan2f(-ax, ml_sqrtf(ay * ay + az * az));
    *roll = ml_atan2f(ay, az);
}

#endif /* ML_FEATURES_H */
