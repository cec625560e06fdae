/* ml_linear.h - microlearn C runtime: linear models.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * A linear model has n_rows weight rows: decision value j is
 *     d_j = sum_i x[i] * coef[j * n_features + i]  +  intercept[j]
 * computed in float32 (products summed in feature order, then the intercept added).
 * Classifiers: n_rows == 1 for two classes (class 1 when d_0 > 0, else class 0),
 * otherwise n_rows == n_outputs == n_classes and the class is the first maximum
 * (numpy argmax; also OneVsRestClassifier's rule). Regressors: n_rows ==
 * n_outputs targets, out[j] = d_j.
 *
 * Exact predict (coef64 != NULL): scikit-learn decides on float64 decision values.
 * Each float32 d_j comes with a certified bound e_j >= |d_j - D_j|, D_j the float64
 * value (see ml_linear_row):
 *     e_j = err_k * sum_i |fl(x_i w_i)| + err_u * (|d_j| + |b_j|) + err_tiny,
 * err_k >= (gamma_n + u)(1 + gamma_n) (+ float64 rounding), err_u >= u / (1 - u),
 * gamma_n = n u / (1 - n u), u = 2^-24, err_tiny covering underflow, all scaled up
 * by (1 + 8u) so that the float32 evaluation of e_j and of the comparisons below
 * never under-estimates. When the float32 winner is not separated from a rival
 * (binary: from 0) by more than the sum of their bounds, the decision values of the
 * candidates are recomputed in double from the float64 coefficients (coef64,
 * intercept64) and the class is decided on those with scikit-learn's rule.
 * Without coef64 the class is decided on the float32 values.
 *
 * predict_proba (proba kind):
 *   LOGISTIC  2 classes: p1 = 1 / (1 + exp(-d)), p0 = 1 - p1; more classes:
 *             sigmoids normalised to sum 1 (one-vs-rest; all zero -> uniform, or 0
 *             with empty_zero: OneVsRestClassifier)
 *   SOFTMAX   2 classes: as LOGISTIC; more: softmax(d)
 *   MHUBER    SGD modified_huber: c = (clip(d, -1, 1) + 1) / 2; 2 classes
 *             p1 = c, p0 = 1 - c; more: c normalised to sum 1 (all zero -> uniform, or 0
 *             with empty_zero);
 *             with coef64, rows whose float32 sum of c is below 1/4 are recomputed
 *             in double (the normalisation amplifies float32 error there).
 * No libm: ml_expf (<= 1 ulp) and the correctly rounded ml_divf / ml_reciprocalf / ml_div
 * of ml_math.h (the same bits as `/`), so the header links into MicroPython native modules
 * and gives the same bits on every platform.
 */
#ifndef ML_LINEAR_H
#define ML_LINEAR_H

#include "ml_common.h"
#include "ml_math.h"

#define ML_LINEAR_PROBA_NONE 0
#define ML_LINEAR_PROBA_LOGISTIC 1
#define ML_LINEAR_PROBA_SOFTMAX 2
#define ML_LINEAR_PROBA_MHUBER 3

#define ML_LINEAR_SECTION_VERSION 1u
#define ML_LINEAR_HEADER_BYTES 64u
#define ML_LINEAR_FLAG_EMPTY_ZERO 1u

typedef struct ml_linear {
    int32_t task;          /* ML_TASK_CLASSIFIER or ML_TASK_REGRESSOR */
    int32_t n_features;    /* inputs per sample */
    int32_t n_outputs;     /* classes (classifier) or targets (regressor) */
    int32_t n_rows;        /* weight rows: 1 for two classes, else n_outputs */
    int32_t proba;         /* ML_LINEAR_PROBA_* */
    int32_t empty_zero;    /* normalised probabilities summing to 0: all 0 (one-vs-rest
                              wrapper) instead of uniform */
    float err_k;           /* error bound coefficients (see above) */
    float err_u;
    float err_tiny;
    const float *coef;          /* [n_rows * n_features] float32 weights, row-major */
    const float *intercept;     /* [n_rows] */
    const double *coef64;       /* [n_rows * n_features] float64 weights, or NULL */
    const double *intercept64;  /* [n_rows], or NULL (with coef64) */
} ml_linear_t;

static inline float ml_linear_absf(float v)
{
    return v < 0.0f ? -v : v;
}

/* Float32 decision value of row j; when err != NULL also its certified error bound. */
static inline float ml_linear_row(const ml_linear_t *m, const float *ML_RESTRICT x, int32_t j,
                                  float *err)
{
    const float *ML_RESTRICT w = m->coef + (size_t)j * (size_t)m->n_features;
    const float b = ML_READ_F32(&m->intercept[j]);
    float acc = 0.0f;
    if (err == NULL) {
        for (int32_t i = 0; i < m->n_features; i++) {
            acc += x[i] * ML_READ_F32(&w[i]);
        }
        return acc + b;
    }
    float sa = 0.0f;
    for (int32_t i = 0; i < m->n_features; i++) {
        const float p = x[i] * ML_READ_F32(&w[i]);
        acc += p;
        sa += ml_linear_absf(p);
    }
    const float d = acc + b;
    *err = m->err_k * sa + m->err_u * (ml_linear_absf(d) + ml_linear_absf(b)) + m->err_tiny;
    return d;
}

/* Double decision value of row j from the float64 tables (coef64 != NULL). */
static inline double ml_linear_row64(const ml_linear_t *m, const float *x, int32_t j)
{
    const double *w = m->coef64 + (size_t)j * (size_t)m->n_features;
    double acc = 0.0;
    for (int32_t i = 0; i < m->n_features; i++) {
        acc += (double)x[i] * ML_READ_F64(&w[i]);
    }
    return acc + ML_READ_F64(&m->intercept64[j]);
}

/* 1 when the bounds certify D_a > D_b (d, e: float32 values and bounds). */
static inline int ml_linear_separated(float da, float ea, float db, float eb)
{
    return da - db > ea + eb;
}

/* Class index for x (classifier); scratch holds 2 * n_rows floats (n_rows > 1). */
static inline int32_t ml_linear_predict(const ml_linear_t *m, const float *x, float *scratch)
{
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    const int exact = m->coef64 != NULL;
    if (m->n_rows == 1) {
        float e = 0.0f;
        const float d = ml_linear_row(m, x, 0, exact ? &e : NULL);
        if (!exact) {
            return d > 0.0f ? 1 : 0;
        }
        if (d > e) {
            return 1;
        }
        if (-d > e) {
            return 0;
        }
        return ml_linear_row64(m, x, 0) > 0.0 ? 1 : 0;
    }
    const int32_t k = m->n_rows;
    float *d = scratch;
    float *e = scratch + k;
    for (int32_t j = 0; j < k; j++) {
        d[j] = ml_linear_row(m, x, j, exact ? &e[j] : NULL);
    }
    const int32_t best = ml_argmax_f32(d, k);
    if (!exact) {
        return best;
    }
    int sure = 1;
    for (int32_t j = 0; j < k && sure; j++) {
        if (j != best && !ml_linear_separated(d[best], e[best], d[j], e[j])) {
            sure = 0;
        }
    }
    if (sure) {
        return best;
    }
    /* Candidates: the float32 winner and every class it is not certified above; the
     * float64 maximum is among them (all others are certainly below the winner). */
    int32_t win = -1;
    double top = 0.0;
    for (int32_t j = 0; j < k; j++) {
        if (j != best && ml_linear_separated(d[best], e[best], d[j], e[j])) {
            continue;
        }
        const double v = ml_linear_row64(m, x, j);
        if (win < 0 || v > top) {
            win = j;
            top = v;
        }
    }
    return win;
}

/* out[0..n_rows-1] = float32 decision values. */
static inline int32_t ml_linear_decision_function(const ml_linear_t *m, const float *x,
                                                  float *out, float *scratch)
{
    (void)scratch;
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    for (int32_t j = 0; j < m->n_rows; j++) {
        out[j] = ml_linear_row(m, x, j, NULL);
    }
    return ML_OK;
}

/* out[0..n_outputs-1] = predictions of a regressor. */
static inline int32_t ml_linear_regress(const ml_linear_t *m, const float *x, float *out,
                                        float *scratch)
{
    (void)scratch;
    if (m->task != ML_TASK_REGRESSOR) {
        return ML_ERR_UNSUPPORTED;
    }
    for (int32_t j = 0; j < m->n_rows; j++) {
        out[j] = ml_linear_row(m, x, j, NULL);
    }
    return ML_OK;
}

/* 1 / (1 + exp(-d)), evaluated without overflow. */
static inline float ml_linear_sigmoid(float d)
{
    if (d >= 0.0f) {
        return ml_reciprocalf(1.0f + ml_expf(-d));
    }
    const float t = ml_expf(d);
    return ml_divf(t, 1.0f + t);
}

/* (clip(d, -1, 1) + 1) / 2 */
static inline float ml_linear_mhuber(float d)
{
    const float c = d > 1.0f ? 1.0f : (d < -1.0f ? -1.0f : d);
    return (c + 1.0f) * 0.5f;
}

static inline double ml_linear_mhuber64(double d)
{
    const double c = d > 1.0 ? 1.0 : (d < -1.0 ? -1.0 : d);
    return (c + 1.0) * 0.5;
}

/* Largest float64 argument at which scikit-learn's expit (1 / (1 + exp(-d))) is 0:
 * exp(-d) overflows below -709.78. */
#define ML_LINEAR_EXPIT_ZERO (-709.78271f)

/* out[0..n_outputs-1] = class probabilities (scratch unused). */
static inline int32_t ml_linear_predict_proba(const ml_linear_t *m, const float *x, float *out,
                                              float *scratch)
{
    (void)scratch;
    if (m->task != ML_TASK_CLASSIFIER || m->proba == ML_LINEAR_PROBA_NONE) {
        return ML_ERR_UNSUPPORTED;
    }
    const int32_t k = m->n_rows;
    if (k == 1) {
        const float d = ml_linear_row(m, x, 0, NULL);
        const float p = m->proba == ML_LINEAR_PROBA_MHUBER ? ml_linear_mhuber(d)
                                                           : ml_linear_sigmoid(d);
        out[0] = 1.0f - p;
        out[1] = p;
        return ML_OK;
    }
    for (int32_t j = 0; j < k; j++) {
        out[j] = ml_linear_row(m, x, j, NULL);
    }
    const float mx = out[ml_argmax_f32(out, k)];
    float sum = 0.0f;
    if (m->proba == ML_LINEAR_PROBA_MHUBER) {
        for (int32_t j = 0; j < k; j++) {
            out[j] = ml_linear_mhuber(out[j]);
            sum += out[j];
        }
        if (sum < 0.25f && m->coef64 != NULL) {
            double s64 = 0.0;
            for (int32_t j = 0; j < k; j++) {
                s64 += ml_linear_mhuber64(ml_linear_row64(m, x, j));
            }
            for (int32_t j = 0; j < k; j++) {
                const double c = ml_linear_mhuber64(ml_linear_row64(m, x, j));
                out[j] = s64 != 0.0 ? (float)ml_div(c, s64)
                                    : (m->empty_zero ? 0.0f : ml_reciprocalf((float)k));
            }
            return ML_OK;
        }
    } else if (m->proba == ML_LINEAR_PROBA_LOGISTIC && mx >= -20.0f) {
        for (int32_t j = 0; j < k; j++) {
            out[j] = ml_linear_sigmoid(out[j]);
            sum += out[j];
        }
    } else if (m->proba == ML_LINEAR_PROBA_LOGISTIC && mx < ML_LINEAR_EXPIT_ZERO) {
        sum = 0.0f; /* every float64 sigmoid is 0: uniform (or 0) in scikit-learn */
    } else {
        /* softmax; also normalised sigmoids when every d <= -20, where
         * sigmoid(d) = exp(d) (1 - O(exp(d))) */
        for (int32_t j = 0; j < k; j++) {
            out[j] = ml_expf(out[j] - mx);
            sum += out[j];
        }
    }
    for (int32_t j = 0; j < k; j++) {
        out[j] = sum != 0.0f ? ml_divf(out[j], sum)
                             : (m->empty_zero ? 0.0f : ml_reciprocalf((float)k));
    }
    return ML_OK;
}

ML_DEFINE_UNSUPPORTED(linear, score_samples)

ML_DEFINE_UNSUPPORTED(linear, transform)

static inline void ml_linear_info(const ml_linear_t *m, ml_info_t *info)
{
    const int classifier = m->task == ML_TASK_CLASSIFIER;
    info->task = m->task;
    info->n_features = m->n_features;
    info->n_outputs = m->n_outputs;
    info->n_decision = classifier ? m->n_rows : 0;
    info->has_proba = classifier && m->proba != ML_LINEAR_PROBA_NONE;
    info->has_score_samples = 0;
    info->scratch_floats = classifier && m->n_rows > 1 ? 2 * m->n_rows : 0;
}

/* Section layout (little-endian, offsets from the section start):
 *    0 u32 version (1)         4 u32 task           8 u32 n_features
 *   12 u32 n_outputs          16 u32 n_rows        20 u32 proba kind
 *   24 u32 flags (bit 0: empty_zero)
 *   28 f32 err_k              32 f32 err_u         36 f32 err_tiny
 *   40 u32 off_coef           44 u32 off_intercept (float32 tables, 4-aligned)
 *   48 u32 off_coef64         52 u32 off_intercept64 (float64 tables, 8-aligned; both 0:
 *                                                     no exact fallback)
 *   56, 60: reserved, 0
 */
#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_linear_from_section(ml_linear_t *m, const uint8_t *sec, uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_linear_from_section(ml_linear_t *m, const uint8_t *sec, uint32_t size)
{
    static const ml_linear_t zero = {0, 0, 0, 0, 0, 0, 0.0f, 0.0f, 0.0f, NULL, NULL, NULL, NULL};
    *m = zero;
    if (sec == NULL) {
        return ML_ERR_NULL;
    }
    if (((uintptr_t)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    if (size < ML_LINEAR_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (ml_rd_u32(sec) != ML_LINEAR_SECTION_VERSION) {
        return ML_ERR_VERSION;
    }
    const uint32_t task = ml_rd_u32(sec + 4);
    const uint32_t n_features = ml_rd_u32(sec + 8);
    const uint32_t n_outputs = ml_rd_u32(sec + 12);
    const uint32_t n_rows = ml_rd_u32(sec + 16);
    const uint32_t proba = ml_rd_u32(sec + 20);
    const uint32_t flags = ml_rd_u32(sec + 24);
    const float err_k = ml_rd_f32(sec + 28);
    const float err_u = ml_rd_f32(sec + 32);
    const float err_tiny = ml_rd_f32(sec + 36);
    const uint32_t off_coef = ml_rd_u32(sec + 40);
    const uint32_t off_icpt = ml_rd_u32(sec + 44);
    const uint32_t off_coef64 = ml_rd_u32(sec + 48);
    const uint32_t off_icpt64 = ml_rd_u32(sec + 52);
    if (ml_rd_u32(sec + 56) != 0u || ml_rd_u32(sec + 60) != 0u) {
        return ML_ERR_MODEL;
    }
    if (task != (uint32_t)ML_TASK_CLASSIFIER && task != (uint32_t)ML_TASK_REGRESSOR) {
        return ML_ERR_MODEL;
    }
    /* sizes: at least one row and feature, at most what the section can hold, and
     * n_features < 2^24 (so that n u < 1 in the error bound) */
    if (n_features == 0u || n_features >= (1u << 24) || n_rows == 0u ||
        (uint64_t)n_rows * (uint64_t)n_features > (uint64_t)(size / 4u)) {
        return ML_ERR_MODEL;
    }
    if (task == (uint32_t)ML_TASK_CLASSIFIER) {
        if (n_outputs < 2u || n_rows != (n_outputs == 2u ? 1u : n_outputs) ||
            proba > (uint32_t)ML_LINEAR_PROBA_MHUBER) {
            return ML_ERR_MODEL;
        }
    } else if (n_rows != n_outputs || proba != 0u) {
        return ML_ERR_MODEL;
    }
    if ((flags & ~ML_LINEAR_FLAG_EMPTY_ZERO) != 0u ||
        ((flags & ML_LINEAR_FLAG_EMPTY_ZERO) != 0u && proba == 0u)) {
        return ML_ERR_MODEL;
    }
    /* the bound constants must be finite and at least the minimum the derivation needs
     * (a corrupt value could only make predict less exact, never unsafe) */
    const float u = 5.9604645e-08f; /* 2^-24 */
    if (!(err_k >= (float)(n_features + 1u) * u && err_k < 1.0f) ||
        !(err_u >= u && err_u < 1.0f) || !(err_tiny > 0.0f && err_tiny < 1.0f)) {
        return ML_ERR_MODEL;
    }
    const uint32_t n_w = n_rows * n_features;
    if (!ml_span_ok(off_coef, n_w, 4u, 4u, ML_LINEAR_HEADER_BYTES, size) ||
        !ml_span_ok(off_icpt, n_rows, 4u, 4u, ML_LINEAR_HEADER_BYTES, size)) {
        return ML_ERR_MODEL;
    }
    const int has64 = off_coef64 != 0u || off_icpt64 != 0u;
    if (has64) {
        if (!ml_span_ok(off_coef64, n_w, 8u, 8u, ML_LINEAR_HEADER_BYTES, size) ||
            !ml_span_ok(off_icpt64, n_rows, 8u, 8u, ML_LINEAR_HEADER_BYTES, size)) {
            return ML_ERR_MODEL;
        }
        if (((uintptr_t)(sec + off_coef64) & 7u) != 0u ||
            ((uintptr_t)(sec + off_icpt64) & 7u) != 0u) {
            return ML_ERR_ALIGN;
        }
    }
    m->task = (int32_t)task;
    m->n_features = (int32_t)n_features;
    m->n_outputs = (int32_t)n_outputs;
    m->n_rows = (int32_t)n_rows;
    m->proba = (int32_t)proba;
    m->empty_zero = (int32_t)(flags & ML_LINEAR_FLAG_EMPTY_ZERO);
    m->err_k = err_k;
    m->err_u = err_u;
    m->err_tiny = err_tiny;
    m->coef = (const float *)(const void *)(sec + off_coef);
    m->intercept = (const float *)(const void *)(sec + off_icpt);
    if (has64) {
        m->coef64 = (const double *)(const void *)(sec + off_coef64);
        m->intercept64 = (const double *)(const void *)(sec + off_icpt64);
    }
    return ML_OK;
}
#endif /* __AVR__ */

#endif /* ML_LINEAR_H */
