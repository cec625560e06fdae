/* ml_mixture.h - microlearn C runtime: Gaussian log densities (mixture family).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * One engine for GaussianMixture, BayesianGaussianMixture (every covariance_type),
 * QuadraticDiscriminantAnalysis and EllipticEnvelope. A model has K components; the
 * score of component k for a sample x is
 *
 *     s_k(x) = c_k - h * maha_k(x),     maha_k(x) = || (x - mu_k) F_k ||^2
 *
 * with h = 1/2 (mixtures, QDA) or 1 (EllipticEnvelope: s = decision_function),
 * c_k a per-component constant (log weight + log det - n/2 log 2 pi, ..., computed in
 * float64 by the generator and rounded once) and F_k the Cholesky factor of the
 * component's precision matrix:
 *   ML_MIXTURE_FULL       upper triangular, packed by column: column i holds rows
 *                         0..i at factor[f * n(n+1)/2 + i(i+1)/2 + j]; tied
 *                         covariance = one factor shared by all components;
 *   ML_MIXTURE_DIAG       diagonal, factor[k * n + j];
 *   ML_MIXTURE_SPHERICAL  a multiple of the identity, factor[k].
 * Everything is float32, summed in index order: d_j = x_j - mu_kj, y_i = sum_j d_j F_ji,
 * maha = sum_i y_i^2, s_k = c_k - h * maha.
 *
 * Certified predictions. Alongside s_k the engine computes a bound e_k with
 * |s_k - S_k| <= e_k, where S_k is scikit-learn's float64 value (including the float32
 * roundings scikit-learn itself performs on float32 input):
 *     E   = g * max_j |d_j| * cs_k + ms_k        (bound on || y32 - y ||_2)
 *     e_k = (h * ((2 (sqrt(maha) + E) + E) E + a * maha + b_k)
 *            + 2^-24 (|c_k| + |s_k|)) * (1 + 1/16) + 1e-35
 * (cs_k, ms_k, b_k per component, g and a per model: see the generator's docstring).
 * predict takes the first maximum of s_k; when another component's interval
 * [s_k - e_k, s_k + e_k] overlaps the winner's (a near-tie that float32 cannot decide)
 * and the model carries float64 tables (exact_mode != 0), the scores are recomputed in
 * double precision following scikit-learn's formula for that estimator, and the first
 * maximum of those is returned. EllipticEnvelope: +1 when s >= 0 (scikit-learn's rule),
 * decided the same way. The float64 tables are read with memcpy (any alignment).
 * No libm: ml_math.h's ml_expf / ml_logf (<= 1 ulp), ml_sqrtf / ml_sqrt / ml_reciprocalf
 * (correctly rounded).
 */
#ifndef ML_MIXTURE_H
#define ML_MIXTURE_H

#include <string.h>

#include "ml_common.h"
#include "ml_math.h"

#define ML_MIXTURE_FULL 0
#define ML_MIXTURE_DIAG 1
#define ML_MIXTURE_SPHERICAL 2

/* score_samples: none, log-sum-exp of the scores (mixtures), -maha (EllipticEnvelope) */
#define ML_MIXTURE_SCORE_NONE 0
#define ML_MIXTURE_SCORE_LSE 1
#define ML_MIXTURE_SCORE_NEG_MAHA 2

/* decision_function: none, the K scores (QDA), s_1 - s_0 (binary QDA), s_0 (outliers) */
#define ML_MIXTURE_DECISION_NONE 0
#define ML_MIXTURE_DECISION_SCORES 1
#define ML_MIXTURE_DECISION_BINARY 2
#define ML_MIXTURE_DECISION_OUTLIER 3

/* float64 recomputation of near-ties (exact_mode), each following scikit-learn:
 *   0 none (float32 only)
 *   1 GMM full/tied: maha = sum_i (sum_j x_j U_ji - (mu U)_i)^2; when round_maha
 *     (scikit-learn on float32 X stores maha in a float32 array and adds the float32
 *     scalar n log(2 pi) = d_aux[k] in float32): s = d_const - fl32(d_aux + fl32(maha)) / 2,
 *     else s = d_const - maha / 2; d_mean = mu U [K*n], d_factor = U packed [F*n(n+1)/2]
 *   2 GMM diag: maha = (A_k - 2 sum_j x_j (mu p)_kj) + sum_j fl32(x_j^2) p_kj
 *     d_mean = mu * p [K*n], d_factor = p [K*n], d_aux = A [K]
 *   3 GMM spherical: maha = (A_k p_k - 2 (x . mu_k) p_k) + fl32(|x|^2) p_k
 *     d_mean = mu [K*n], d_factor = p [K], d_aux = A = |mu_k|^2 [K]
 *   4 QDA: maha = sum_i (sum_j (x_j - mu_j) W_ji)^2, W = rotation * scaling^-1/2 [K*n*n]
 *   5 EllipticEnvelope: scipy's mahalanobis (two-lane dot products with the precision
 *     matrix P [n*n]), squared root, decision = -maha - offset (d_aux[0] = offset) */
#define ML_MIXTURE_EXACT_NONE 0
#define ML_MIXTURE_EXACT_GMM_TRI 1
#define ML_MIXTURE_EXACT_GMM_DIAG 2
#define ML_MIXTURE_EXACT_GMM_SPH 3
#define ML_MIXTURE_EXACT_QDA 4
#define ML_MIXTURE_EXACT_ENVELOPE 5

#define ML_MIXTURE_MAX_FEATURES 1024
#define ML_MIXTURE_MAX_COMPONENTS 1024

typedef struct ml_mixture {
    int32_t task;            /* ML_TASK_CLASSIFIER or ML_TASK_OUTLIER_DETECTOR */
    int32_t kind;            /* ML_MIXTURE_FULL / DIAG / SPHERICAL */
    int32_t n_features;      /* n */
    int32_t n_components;    /* K (classes of a classifier) */
    int32_t n_factors;       /* full: K, or 1 (tied); otherwise K */
    int32_t score_kind;      /* ML_MIXTURE_SCORE_* */
    int32_t decision_kind;   /* ML_MIXTURE_DECISION_* */
    int32_t has_proba;       /* predict_proba = softmax of the scores */
    int32_t exact_mode;      /* ML_MIXTURE_EXACT_* */
    int32_t round_maha;      /* mode 1: round maha to float32 like scikit-learn */
    float h;                 /* 0.5 or 1 */
    float g;                 /* error bound: per-element rounding of y */
    float a;                 /* error bound: relative rounding of maha */
    const float *mean;       /* [K * n] */
    const float *factor;     /* see above */
    const float *constant;   /* [K] c_k */
    const float *err;        /* [K * 3]: cs_k, ms_k, b_k */
    const uint8_t *d_mean;   /* float64 tables (exact_mode != 0), native byte order */
    const uint8_t *d_factor;
    const uint8_t *d_const;  /* [K] */
    const uint8_t *d_aux;    /* [K] */
} ml_mixture_t;

/* t[i] of a float64 table stored as bytes */
static inline double ml_mixture_f64(const uint8_t *t, int32_t i)
{
    double v;
#if ML_PROGMEM
    /* generated tables in program memory, of the compiler's double (4 bytes on AVR) */
    memcpy_P(&v, t + (size_t)i * sizeof v, sizeof v);
#else
    memcpy(&v, t + (size_t)i * 8u, sizeof v);
#endif
    return v;
}

/* Score s_k and its error bound e_k for component k (scratch d: n floats). Without
 * float64 tables (exact_mode 0) nothing can use the bound (predict's outlier test gives
 * the same sign with e_k = 0, the other methods ignore it): *err = 0 and the bound (and
 * its square root) is not computed. */
static inline float ml_mixture_component(const ml_mixture_t *m, const float *x, int32_t k,
                                         float *d, float *err, float *maha_out)
{
    const int32_t n = m->n_features;
    const float *mu = m->mean + (size_t)k * (size_t)n;
    const int bounded = m->exact_mode != ML_MIXTURE_EXACT_NONE;
    float dmax = 0.0f;
    float maha = 0.0f;
    for (int32_t j = 0; j < n; j++) {
        d[j] = x[j] - ML_READ_F32(&mu[j]);
        if (bounded) {
            const float ad = ml_fabsf(d[j]);
            dmax = ad > dmax ? ad : dmax;
        }
    }
    if (m->kind == ML_MIXTURE_FULL) {
        const int32_t f = m->n_factors == 1 ? 0 : k;
        const float *u = m->factor + (size_t)f * ((size_t)n * (size_t)(n + 1) / 2u);
        for (int32_t i = 0; i < n; i++) {
            const float *col = u + (size_t)i * (size_t)(i + 1) / 2u;
            float y = 0.0f;
            for (int32_t j = 0; j <= i; j++) {
                y += d[j] * ML_READ_F32(&col[j]);
            }
            maha += y * y;
        }
    } else if (m->kind == ML_MIXTURE_DIAG) {
        const float *p = m->factor + (size_t)k * (size_t)n;
        for (int32_t j = 0; j < n; j++) {
            const float y = d[j] * ML_READ_F32(&p[j]);
            maha += y * y;
        }
    } else {
        const float p = ML_READ_F32(&m->factor[k]);
        for (int32_t j = 0; j < n; j++) {
            const float y = d[j] * p;
            maha += y * y;
        }
    }
    const float c = ML_READ_F32(&m->constant[k]);
    const float s = c - m->h * maha;
    if (maha_out != NULL) {
        *maha_out = maha;
    }
    if (!bounded) {
        *err = 0.0f;
        return s;
    }
    const float *ek = m->err + (size_t)k * 3u;
    const float e = m->g * dmax * ML_READ_F32(&ek[0]) + ML_READ_F32(&ek[1]);
    const float bound = m->h * ((2.0f * (ml_sqrtf(maha) + e) + e) * e + m->a * maha +
                                ML_READ_F32(&ek[2])) +
                        5.9604645e-08f * (ml_fabsf(c) + ml_fabsf(s));
    *err = bound * 1.0625f + 1e-35f;
    return s;
}

/* All K scores (scratch: n floats after err). */
static inline void ml_mixture_scores(const ml_mixture_t *m, const float *x, float *s, float *err,
                                     float *d)
{
    for (int32_t k = 0; k < m->n_components; k++) {
        s[k] = ml_mixture_component(m, x, k, d, &err[k], NULL);
    }
}

/* 1 when the first maximum of s is certainly scikit-learn's first maximum. */
static inline int ml_mixture_certain(const float *s, const float *err, int32_t n, int32_t best)
{
    const float low = s[best] - err[best];
    if (!(low == low)) {
        return 0; /* NaN */
    }
    for (int32_t k = 0; k < n; k++) {
        if (k != best && !(s[k] + err[k] < low)) {
            return 0;
        }
    }
    return 1;
}

/* two-lane dot product, scipy's order (distance_impl.h) */
static inline double ml_mixture_envelope_maha(const ml_mixture_t *m, const float *x)
{
    const int32_t n = m->n_features;
    const int32_t even = n - n % 2;
    double s0 = 0.0;
    double s1 = 0.0;
    double tail = 0.0;
    for (int32_t i = 0; i < n; i++) {
        double t0 = 0.0;
        double t1 = 0.0;
        for (int32_t j = 0; j < even; j += 2) {
            t0 += ((double)x[j] - ml_mixture_f64(m->d_mean, j)) *
                  ml_mixture_f64(m->d_factor, i * n + j);
            t1 += ((double)x[j + 1] - ml_mixture_f64(m->d_mean, j + 1)) *
                  ml_mixture_f64(m->d_factor, i * n + j + 1);
        }
        double t = t0 + t1;
        if (even < n) {
            t += ((double)x[n - 1] - ml_mixture_f64(m->d_mean, n - 1)) *
                 ml_mixture_f64(m->d_factor, i * n + n - 1);
        }
        const double di = (double)x[i] - ml_mixture_f64(m->d_mean, i);
        if (i >= even) {
            tail = di * t;
        } else if (i % 2 == 0) {
            s0 += di * t;
        } else {
            s1 += di * t;
        }
    }
    double s = s0 + s1;
    if (even < n) {
        s += tail;
    }
    const double dist = ml_sqrt(s); /* correctly rounded: the bits of sqrt */
    return dist * dist;
}

/* Float64 score of component k (exact_mode 1..4), following scikit-learn's formula. */
static inline double ml_mixture_score64(const ml_mixture_t *m, const float *x, int32_t k)
{
    const int32_t n = m->n_features;
    double maha = 0.0;
    if (m->exact_mode == ML_MIXTURE_EXACT_GMM_TRI) {
        const int32_t f = m->n_factors == 1 ? 0 : k;
        const int32_t base = f * (n * (n + 1) / 2);
        for (int32_t i = 0; i < n; i++) {
            const int32_t col = base + i * (i + 1) / 2;
            double xu = 0.0;
            for (int32_t j = 0; j <= i; j++) {
                xu += (double)x[j] * ml_mixture_f64(m->d_factor, col + j);
            }
            const double y = xu - ml_mixture_f64(m->d_mean, k * n + i);
            maha += y * y;
        }
        if (m->round_maha) {
            /* scikit-learn (float32 X): maha stored as float32, then n log(2 pi) (a
             * float32 scalar) added in float32; d_aux = that scalar */
            const float t = (float)ml_mixture_f64(m->d_aux, k) + (float)maha;
            return ml_mixture_f64(m->d_const, k) - 0.5 * (double)t;
        }
    } else if (m->exact_mode == ML_MIXTURE_EXACT_GMM_DIAG) {
        double b = 0.0;
        double c = 0.0;
        for (int32_t j = 0; j < n; j++) {
            const float x2 = x[j] * x[j];
            b += (double)x[j] * ml_mixture_f64(m->d_mean, k * n + j);
            c += (double)x2 * ml_mixture_f64(m->d_factor, k * n + j);
        }
        maha = (ml_mixture_f64(m->d_aux, k) - 2.0 * b) + c;
    } else if (m->exact_mode == ML_MIXTURE_EXACT_GMM_SPH) {
        const double p = ml_mixture_f64(m->d_factor, k);
        double b = 0.0;
        float r = 0.0f;
        for (int32_t j = 0; j < n; j++) {
            b += (double)x[j] * ml_mixture_f64(m->d_mean, k * n + j);
            r += x[j] * x[j];
        }
        maha = (ml_mixture_f64(m->d_aux, k) * p - 2.0 * b * p) + (double)r * p;
    } else {
        const int32_t base = k * n * n;
        for (int32_t i = 0; i < n; i++) {
            double y = 0.0;
            for (int32_t j = 0; j < n; j++) {
                y += ((double)x[j] - ml_mixture_f64(m->d_mean, k * n + j)) *
                     ml_mixture_f64(m->d_factor, base + j * n + i);
            }
            maha += y * y;
        }
    }
    return ml_mixture_f64(m->d_const, k) - 0.5 * maha;
}

/* First maximum of the float64 scores. */
static inline int32_t ml_mixture_argmax64(const ml_mixture_t *m, const float *x)
{
    int32_t best = 0;
    double vbest = ml_mixture_score64(m, x, 0);
    for (int32_t k = 1; k < m->n_components; k++) {
        const double v = ml_mixture_score64(m, x, k);
        if (v > vbest || (!(vbest == vbest) && v == v)) {
            best = k;
            vbest = v;
        }
    }
    return best;
}

/* ---- public engine API (the family contract) ---- */

static inline void ml_mixture_info(const ml_mixture_t *m, ml_info_t *info)
{
    info->task = m->task;
    info->n_features = m->n_features;
    info->n_outputs = m->task == ML_TASK_CLASSIFIER ? m->n_components : 1;
    info->n_decision = m->decision_kind == ML_MIXTURE_DECISION_SCORES ? m->n_components
                       : m->decision_kind == ML_MIXTURE_DECISION_NONE ? 0
                                                                      : 1;
    info->has_proba = m->has_proba;
    info->has_score_samples = m->score_kind != ML_MIXTURE_SCORE_NONE;
    info->scratch_floats = 2 * m->n_components + m->n_features;
}

static inline int32_t ml_mixture_predict(const ml_mixture_t *m, const float *x, float *scratch)
{
    const int32_t kk = m->n_components;
    float *s = scratch;
    float *err = scratch + kk;
    ml_mixture_scores(m, x, s, err, scratch + 2 * kk);
    if (m->task == ML_TASK_OUTLIER_DETECTOR) {
        if (s[0] - err[0] >= 0.0f) {
            return 1;
        }
        if (s[0] + err[0] < 0.0f) {
            return -1;
        }
        if (m->exact_mode == ML_MIXTURE_EXACT_ENVELOPE) {
            const double dec = -ml_mixture_envelope_maha(m, x) - ml_mixture_f64(m->d_aux, 0);
            return dec >= 0.0 ? 1 : -1;
        }
        return s[0] >= 0.0f ? 1 : -1;
    }
    const int32_t best = ml_argmax_f32(s, kk);
    if (m->exact_mode == ML_MIXTURE_EXACT_NONE || ml_mixture_certain(s, err, kk, best)) {
        return best;
    }
    return ml_mixture_argmax64(m, x);
}

/* out[k] = exp(s_k - max) / sum_j exp(s_j - max); returns log-sum-exp of s. */
static inline float ml_mixture_softmax(const float *s, int32_t n, float *out)
{
    float mx = s[ml_argmax_f32(s, n)];
    float total = 0.0f;
    for (int32_t k = 0; k < n; k++) {
        out[k] = ml_expf(s[k] - mx);
        total += out[k];
    }
    const float inv = ml_reciprocalf(total);
    for (int32_t k = 0; k < n; k++) {
        out[k] *= inv;
    }
    return mx + ml_logf(total);
}

static inline int32_t ml_mixture_predict_proba(const ml_mixture_t *m, const float *x, float *out,
                                               float *scratch)
{
    if (!m->has_proba) {
        return ML_ERR_UNSUPPORTED;
    }
    const int32_t kk = m->n_components;
    ml_mixture_scores(m, x, scratch, scratch + kk, scratch + 2 * kk);
    (void)ml_mixture_softmax(scratch, kk, out);
    return ML_OK;
}

static inline int32_t ml_mixture_decision_function(const ml_mixture_t *m, const float *x,
                                                   float *out, float *scratch)
{
    const int32_t kk = m->n_components;
    if (m->decision_kind == ML_MIXTURE_DECISION_NONE) {
        return ML_ERR_UNSUPPORTED;
    }
    ml_mixture_scores(m, x, scratch, scratch + kk, scratch + 2 * kk);
    if (m->decision_kind == ML_MIXTURE_DECISION_SCORES) {
        for (int32_t k = 0; k < kk; k++) {
            out[k] = scratch[k];
        }
    } else if (m->decision_kind == ML_MIXTURE_DECISION_BINARY) {
        out[0] = scratch[1] - scratch[0];
    } else {
        out[0] = scratch[0];
    }
    return ML_OK;
}

static inline int32_t ml_mixture_score_samples(const ml_mixture_t *m, const float *x, float *out,
                                               float *scratch)
{
    const int32_t kk = m->n_components;
    if (m->score_kind == ML_MIXTURE_SCORE_NONE) {
        return ML_ERR_UNSUPPORTED;
    }
    if (m->score_kind == ML_MIXTURE_SCORE_NEG_MAHA) {
        float maha = 0.0f;
        (void)ml_mixture_component(m, x, 0, scratch + 2 * kk, scratch + kk, &maha);
        out[0] = -maha;
        return ML_OK;
    }
    ml_mixture_scores(m, x, scratch, scratch + kk, scratch + 2 * kk);
    /* scratch + kk (the error bounds, no longer needed) holds the exponentials */
    out[0] = ml_mixture_softmax(scratch, kk, scratch + kk);
    return ML_OK;
}

ML_DEFINE_UNSUPPORTED(mixture, regress)

ML_DEFINE_UNSUPPORTED(mixture, transform)

/* ---- model-file section ----
 * u32 fields at byte offsets: 0 version (1), 4 task, 8 kind, 12 n_features,
 * 16 n_components, 20 n_factors, 24 score_kind, 28 decision_kind, 32 has_proba,
 * 36 exact_mode, 40 round_maha; f32: 44 h, 48 g, 52 a; u32 offsets: 56 mean,
 * 60 factor, 64 constant, 68 err, 72 d_mean, 76 d_factor, 80 d_const, 84 d_aux
 * (0 when exact_mode == 0); 88 d_factor count; 92 reserved (0). Header: 96 bytes. */
#define ML_MIXTURE_SECTION_VERSION 1u
#define ML_MIXTURE_HEADER_BYTES 96u

#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_mixture_from_section(ml_mixture_t *m, const uint8_t *sec, uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_mixture_from_section(ml_mixture_t *m, const uint8_t *sec, uint32_t size)
{
    memset(m, 0, sizeof *m);
    if (sec == NULL || size < ML_MIXTURE_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (((uintptr_t)sec) % 4u != 0u) {
        return ML_ERR_ALIGN;
    }
    if (ml_rd_u32(sec) != ML_MIXTURE_SECTION_VERSION) {
        return ML_ERR_VERSION;
    }
    const uint32_t task = ml_rd_u32(sec + 4), kind = ml_rd_u32(sec + 8);
    const uint32_t n = ml_rd_u32(sec + 12), kk = ml_rd_u32(sec + 16), nf = ml_rd_u32(sec + 20);
    const uint32_t score = ml_rd_u32(sec + 24), dec = ml_rd_u32(sec + 28);
    const uint32_t proba = ml_rd_u32(sec + 32), exact = ml_rd_u32(sec + 36);
    const uint32_t rnd = ml_rd_u32(sec + 40);
    const uint32_t nd = ml_rd_u32(sec + 88);
    const uint32_t hdr = ML_MIXTURE_HEADER_BYTES;
    const float h = ml_rd_f32(sec + 44), g = ml_rd_f32(sec + 48), a = ml_rd_f32(sec + 52);
    int ok = n >= 1u && n <= ML_MIXTURE_MAX_FEATURES && kk >= 1u &&
             kk <= ML_MIXTURE_MAX_COMPONENTS && kind <= 2u && proba <= 1u && rnd <= 1u &&
             exact <= 5u && ml_rd_u32(sec + 92) == 0u &&
             (h == 0.5f || h == 1.0f) && g >= 0.0f && g <= 1.0f && a >= 0.0f && a < 1.0f;
    if (task == (uint32_t)ML_TASK_CLASSIFIER) {
        ok = ok && score <= 1u && dec <= 2u && (dec != 2u || kk == 2u);
    } else if (task == (uint32_t)ML_TASK_OUTLIER_DETECTOR) {
        ok = ok && kk == 1u && score == 2u && dec == 3u && proba == 0u;
    } else {
        ok = 0;
    }
    ok = ok && (nf == kk || (kind == 0u && nf == 1u));
    if (!ok) {
        return ML_ERR_MODEL;
    }
    const uint32_t tri = n * (n + 1u) / 2u;
    const uint32_t factor_count = kind == 0u ? nf * tri : kind == 1u ? kk * n : kk;
    const uint32_t o_mean = ml_rd_u32(sec + 56), o_factor = ml_rd_u32(sec + 60);
    const uint32_t o_const = ml_rd_u32(sec + 64), o_err = ml_rd_u32(sec + 68);
    ok = ml_span_ok(o_mean, kk * n, 4u, 4u, hdr, size) &&
         ml_span_ok(o_factor, factor_count, 4u, 4u, hdr, size) &&
         ml_span_ok(o_const, kk, 4u, 4u, hdr, size) && ml_span_ok(o_err, kk * 3u, 4u, 4u, hdr, size);
    const uint32_t o_dm = ml_rd_u32(sec + 72), o_df = ml_rd_u32(sec + 76);
    const uint32_t o_dc = ml_rd_u32(sec + 80), o_da = ml_rd_u32(sec + 84);
    if (exact == 0u) {
        ok = ok && o_dm == 0u && o_df == 0u && o_dc == 0u && o_da == 0u && nd == 0u &&
             rnd == 0u;
    } else {
        uint32_t want;
        int shape_ok;
        switch (exact) {
        case 1u: want = nf * tri; shape_ok = kind == 0u && task == 0u; break;
        case 2u: want = kk * n; shape_ok = kind == 1u && task == 0u && nf == kk; break;
        case 3u: want = kk; shape_ok = kind == 2u && task == 0u && nf == kk; break;
        case 4u: want = kk * n * n; shape_ok = kind == 0u && task == 0u && nf == kk; break;
        default: want = n * n; shape_ok = kind == 0u && task == 2u; break;
        }
        ok = ok && shape_ok && nd == want && (rnd == 0u || exact == 1u) &&
             ml_span_ok(o_dm, kk * n, 8u, 4u, hdr, size) &&
             ml_span_ok(o_df, nd, 8u, 4u, hdr, size) && ml_span_ok(o_dc, kk, 8u, 4u, hdr, size) &&
             ml_span_ok(o_da, kk, 8u, 4u, hdr, size);
    }
    if (!ok) {
        return ML_ERR_MODEL;
    }
    m->task = (int32_t)task;
    m->kind = (int32_t)kind;
    m->n_features = (int32_t)n;
    m->n_components = (int32_t)kk;
    m->n_factors = (int32_t)nf;
    m->score_kind = (int32_t)score;
    m->decision_kind = (int32_t)dec;
    m->has_proba = (int32_t)proba;
    m->exact_mode = (int32_t)exact;
    m->round_maha = (int32_t)rnd;
    m->h = h;
    m->g = g;
    m->a = a;
    m->mean = (const float *)(const void *)(sec + o_mean);
    m->factor = (const float *)(const void *)(sec + o_factor);
    m->constant = (const float *)(const void *)(sec + o_const);
    m->err = (const float *)(const void *)(sec + o_err);
    if (exact != 0u) {
        m->d_mean = sec + o_dm;
        m->d_factor = sec + o_df;
        m->d_const = sec + o_dc;
        m->d_aux = sec + o_da;
    }
    return ML_OK;
}
#endif /* __AVR__ */

#endif /* ML_MIXTURE_H */
