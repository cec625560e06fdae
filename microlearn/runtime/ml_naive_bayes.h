/* ml_naive_bayes.h - microlearn C runtime: naive Bayes classifiers.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * A model (ml_naive_bayes_t) points at caller-owned read-only float32 tables: generated
 * `static const` arrays, or the tables inside a model-file section. For every class c
 * it evaluates a joint log likelihood s_c in float32 (sequential sums over features, in
 * order) of one of three kinds (j = 0 .. n_features-1, row-major [c * n_features + j]):
 *
 *   GAUSSIAN  s_c = constant[c] - sum_j (x_j - mean[c,j])^2 * coef[c,j]
 *             (GaussianNB: constant = log prior - 0.5 sum log(2 pi var), coef = 1/(2 var))
 *   LINEAR    s_c = constant[c] + sum_j x_j * coef[c,j]  (MultinomialNB, ComplementNB,
 *             BernoulliNB with binarize=None)
 *   BINARY    s_c = constant[c] + sum of coef[c,j] over features with x_j > threshold
 *             (BernoulliNB; NaN is not above the threshold: it counts as 0)
 *   GAUSSIAN32 s_c = constant[c] + (constant2[c] - 0.5f * P_c), P_c the pairwise sum
 *             (numpy's order, ml_naive_bayes_pairwise) of (x_j - mean[c,j])^2 / coef[c,j]:
 *             GaussianNB fitted on float32 data, whose parameters and log likelihoods
 *             scikit-learn keeps in float32; these are its numpy operations, bit for bit
 *             (no bound, no exact tables: predict is identical by construction)
 *
 * predict is the first maximum of s (NaN never wins; all NaN: class 0). predict_proba is
 * the softmax of s: p_c = expf(s_c - s_max) * (1 / sum_k expf(s_k - s_max)).
 * No libm: expf, sqrtf, 1 / t and the GAUSSIAN32 divisions are ml_math.h's ml_expf
 * (<= 1 ulp), ml_sqrtf, ml_reciprocalf and ml_divf (correctly rounded: the bits of the
 * IEEE operations, so GAUSSIAN32 stays numpy's operations bit for bit).
 *
 * Exact mode (coef_lo != NULL): the float32 pass also computes a certified bound E_c
 * on |s_c - J_c| (J_c: the model in exact arithmetic, hence scikit-learn's float64
 * answer); see microlearn/families/naive_bayes/convert.py for its derivation.
 *   GAUSSIAN        E_c = k1 S_c + k2 sqrtf(bound_mean[c] S_c) + k3 |s_c| + bound_class[c]
 *                   (S_c: the float32 sum of the class)
 *   LINEAR, BINARY  E_c = k1 A + bound_class[c], A = sum_j |x_j| bound_feature[j]
 *                   (BINARY: sum of bound_feature[j] over x_j > threshold)
 * predict returns the float32 first maximum t when s_t - E_t > s_c + E_c for every other
 * class c (the common case), else it recomputes every class in double precision from
 * parameters hi + lo (constant + constant_lo, ...) and returns the first maximum of those.
 * predict_proba keeps the float32 s_c of class c when it is certified negligible
 * (s_c - s_t + E_c + E_t < -ML_NAIVE_BAYES_NEGLIGIBLE) or E_c + E_t <=
 * ML_NAIVE_BAYES_PROBA_EPS; when some class is neither, that class and t are recomputed
 * in double precision (the others keep their float32 values). The double path
 * is plain double arithmetic (soft-float on targets without a double FPU): it is taken
 * only for near-ties, overflow, and NaN inputs.
 */
#ifndef ML_NAIVE_BAYES_H
#define ML_NAIVE_BAYES_H

#include "ml_common.h"
#include "ml_math.h"
#include <math.h> /* INFINITY only: no libm function is called */

#define ML_NAIVE_BAYES_GAUSSIAN 0
#define ML_NAIVE_BAYES_LINEAR 1
#define ML_NAIVE_BAYES_BINARY 2
#define ML_NAIVE_BAYES_GAUSSIAN32 3

#define ML_NAIVE_BAYES_PROBA_EPS 6.103515625e-05f /* 2^-14 */
#define ML_NAIVE_BAYES_NEGLIGIBLE 17.0f

#define ML_NAIVE_BAYES_SECTION_VERSION 1u
#define ML_NAIVE_BAYES_SECTION_HEADER_BYTES 76u

typedef struct ml_naive_bayes {
    int32_t kind;              /* ML_NAIVE_BAYES_* */
    int32_t n_features;
    int32_t n_classes;
    float threshold;           /* BINARY: feature counts when x > threshold */
    const float *constant;     /* [n_classes] */
    const float *coef;         /* [n_classes * n_features] */
    const float *mean;         /* GAUSSIAN: [n_classes * n_features], else NULL */
    /* exact mode (all NULL: plain float32, predict not certified) */
    const float *constant_lo;  /* [n_classes] */
    const float *coef_lo;      /* [n_classes * n_features] */
    const float *mean_lo;      /* GAUSSIAN: [n_classes * n_features] */
    const float *bound_class;  /* [n_classes] */
    const float *bound_mean;   /* GAUSSIAN: [n_classes] */
    const float *bound_feature; /* LINEAR, BINARY: [n_features] */
    float k1, k2, k3;          /* bound coefficients */
    const float *constant2;    /* GAUSSIAN32: [n_classes], else NULL */
} ml_naive_bayes_t;

/* numpy's float32 pairwise summation (add.reduce of a contiguous row) of the GAUSSIAN32
 * terms (x_j - mu_j)^2 / var_j, j < n: blocks of <= 128 summed with 8 accumulators, larger
 * ranges split in two (recursion depth <= log2(n / 128)). */
static inline float ml_naive_bayes_pairwise(const float *x, const float *mu, const float *var,
                                            int32_t n)
{
    if (n < 8) {
        float res = 0.0f;
        for (int32_t i = 0; i < n; i++) {
            const float d = x[i] - ML_READ_F32(&mu[i]);
            res += ml_divf(d * d, ML_READ_F32(&var[i]));
        }
        return res;
    }
    if (n <= 128) {
        float r[8];
        int32_t i;
        for (i = 0; i < 8; i++) {
            const float d = x[i] - ML_READ_F32(&mu[i]);
            r[i] = ml_divf(d * d, ML_READ_F32(&var[i]));
        }
        for (i = 8; i < n - n % 8; i += 8) {
            for (int32_t k = 0; k < 8; k++) {
                const float d = x[i + k] - ML_READ_F32(&mu[i + k]);
                r[k] += ml_divf(d * d, ML_READ_F32(&var[i + k]));
            }
        }
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) {
            const float d = x[i] - ML_READ_F32(&mu[i]);
            res += ml_divf(d * d, ML_READ_F32(&var[i]));
        }
        return res;
    }
    int32_t n2 = n / 2;
    n2 -= n2 % 8;
    return ml_naive_bayes_pairwise(x, mu, var, n2) +
           ml_naive_bayes_pairwise(x + n2, mu + n2, var + n2, n - n2);
}

/* float32 log likelihood of class c; *sum = S_c (GAUSSIAN; 0 otherwise). */
static inline float ml_naive_bayes_class(const ml_naive_bayes_t *m, const float *x, int32_t c,
                                         float *sum)
{
    const int32_t nf = m->n_features;
    const float *w = m->coef + (size_t)c * (size_t)nf;
    if (m->kind == ML_NAIVE_BAYES_GAUSSIAN32) {
        const float p = ml_naive_bayes_pairwise(x, m->mean + (size_t)c * (size_t)nf, w, nf);
        *sum = 0.0f;
        return ML_READ_F32(&m->constant[c]) + (ML_READ_F32(&m->constant2[c]) - 0.5f * p);
    }
    if (m->kind == ML_NAIVE_BAYES_GAUSSIAN) {
        const float *mu = m->mean + (size_t)c * (size_t)nf;
        float s = 0.0f;
        for (int32_t j = 0; j < nf; j++) {
            const float d = x[j] - ML_READ_F32(&mu[j]);
            s += d * d * ML_READ_F32(&w[j]);
        }
        *sum = s;
        return ML_READ_F32(&m->constant[c]) - s;
    }
    float s = ML_READ_F32(&m->constant[c]);
    if (m->kind == ML_NAIVE_BAYES_BINARY) {
        const float t = m->threshold;
        for (int32_t j = 0; j < nf; j++) {
            if (x[j] > t) {
                s += ML_READ_F32(&w[j]);
            }
        }
    } else {
        for (int32_t j = 0; j < nf; j++) {
            s += x[j] * ML_READ_F32(&w[j]);
        }
    }
    *sum = 0.0f;
    return s;
}

/* A of the LINEAR / BINARY bound (0 for GAUSSIAN). */
static inline float ml_naive_bayes_row_bound(const ml_naive_bayes_t *m, const float *x)
{
    float a = 0.0f;
    const float *wb = m->bound_feature;
    if (m->kind == ML_NAIVE_BAYES_BINARY) {
        for (int32_t j = 0; j < m->n_features; j++) {
            if (x[j] > m->threshold) {
                a += ML_READ_F32(&wb[j]);
            }
        }
    } else if (m->kind == ML_NAIVE_BAYES_LINEAR) {
        for (int32_t j = 0; j < m->n_features; j++) {
            a += ml_fabsf(x[j]) * ML_READ_F32(&wb[j]);
        }
    }
    return a;
}

/* Certified bound E_c of |s_c - J_c| (s = s_c, sum = S_c, a = row bound). */
static inline float ml_naive_bayes_bound(const ml_naive_bayes_t *m, int32_t c, float s,
                                         float sum, float a)
{
    if (m->kind == ML_NAIVE_BAYES_GAUSSIAN) {
        return m->k1 * sum + m->k2 * ml_sqrtf(ML_READ_F32(&m->bound_mean[c]) * sum) +
               m->k3 * ml_fabsf(s) +
               ML_READ_F32(&m->bound_class[c]);
    }
    return m->k1 * a + ML_READ_F32(&m->bound_class[c]);
}

/* Double-precision log likelihood of class c from hi + lo parameters (exact mode). */
static inline double ml_naive_bayes_class64(const ml_naive_bayes_t *m, const float *x,
                                            int32_t c)
{
    const int32_t nf = m->n_features;
    const size_t base = (size_t)c * (size_t)nf;
    const float *w = m->coef + base, *wl = m->coef_lo + base;
    const double k = (double)ML_READ_F32(&m->constant[c]) + (double)ML_READ_F32(&m->constant_lo[c]);
    if (m->kind == ML_NAIVE_BAYES_GAUSSIAN) {
        const float *mu = m->mean + base, *ml = m->mean_lo + base;
        double s = 0.0;
        for (int32_t j = 0; j < nf; j++) {
            const double d =
                (double)x[j] - ((double)ML_READ_F32(&mu[j]) + (double)ML_READ_F32(&ml[j]));
            s += d * d * ((double)ML_READ_F32(&w[j]) + (double)ML_READ_F32(&wl[j]));
        }
        return k - s;
    }
    double s = k;
    if (m->kind == ML_NAIVE_BAYES_BINARY) {
        for (int32_t j = 0; j < nf; j++) {
            if (x[j] > m->threshold) {
                s += (double)ML_READ_F32(&w[j]) + (double)ML_READ_F32(&wl[j]);
            }
        }
    } else {
        for (int32_t j = 0; j < nf; j++) {
            s += (double)x[j] * ((double)ML_READ_F32(&w[j]) + (double)ML_READ_F32(&wl[j]));
        }
    }
    return s;
}

/* First maximum of the double-precision log likelihoods (*max: its value). */
static inline int32_t ml_naive_bayes_argmax64(const ml_naive_bayes_t *m, const float *x,
                                              double *max)
{
    int32_t best = 0;
    double best_v = ml_naive_bayes_class64(m, x, 0);
    for (int32_t c = 1; c < m->n_classes; c++) {
        const double v = ml_naive_bayes_class64(m, x, c);
        if (v > best_v) {
            best = c;
            best_v = v;
        }
    }
    *max = best_v;
    return best;
}

/* Class index of x (scratch unused, may be NULL). */
static inline int32_t ml_naive_bayes_predict(const ml_naive_bayes_t *m, const float *x,
                                             float *scratch)
{
    (void)scratch;
    const int exact = m->coef_lo != NULL;
    const float a = exact ? ml_naive_bayes_row_bound(m, x) : 0.0f;
    int32_t best = 0;
    float best_s = 0.0f, best_e = 0.0f;
    float other = -INFINITY; /* max of s_c + E_c over the classes other than best */
    int nan = 0;
    for (int32_t c = 0; c < m->n_classes; c++) {
        float sum;
        const float s = ml_naive_bayes_class(m, x, c, &sum);
        const float e = exact ? ml_naive_bayes_bound(m, c, s, sum, a) : 0.0f;
        float v;
        if (c == 0) {
            best_s = s;
            best_e = e;
            continue;
        }
        if (s > best_s) {
            v = best_s + best_e;
            best = c;
            best_s = s;
            best_e = e;
        } else {
            v = s + e;
        }
        if (v != v) {
            nan = 1;
        } else if (v > other) {
            other = v;
        }
    }
    if (!exact || m->n_classes == 1 || (!nan && best_s - best_e > other)) {
        return best;
    }
    double max;
    return ml_naive_bayes_argmax64(m, x, &max);
}

/* Class probabilities of x into out[n_classes]; scratch: n_classes floats in exact mode
 * (may be NULL otherwise). */
static inline int32_t ml_naive_bayes_predict_proba(const ml_naive_bayes_t *m, const float *x,
                                                   float *out, float *scratch)
{
    const int32_t nc = m->n_classes;
    const int exact = m->coef_lo != NULL;
    const float a = exact ? ml_naive_bayes_row_bound(m, x) : 0.0f;
    for (int32_t c = 0; c < nc; c++) {
        float sum;
        out[c] = ml_naive_bayes_class(m, x, c, &sum);
        if (exact) {
            scratch[c] = ml_naive_bayes_bound(m, c, out[c], sum, a);
        }
    }
    const int32_t t = ml_argmax_f32(out, nc);
    const float st = out[t];
    const float et = exact ? scratch[t] : 0.0f;
    int redo = 0;
    for (int32_t c = 0; c < nc; c++) {
        out[c] -= st;
        if (exact) {
            /* class c is recomputed (scratch[c] = 1) unless it is certified negligible or
             * its exponent out[c] is within the float32 tolerance (out[t] = 0 exactly) */
            const float e = scratch[c] + et;
            const int fine = out[c] == out[c] &&
                             (c == t || out[c] + e < -ML_NAIVE_BAYES_NEGLIGIBLE ||
                              e <= ML_NAIVE_BAYES_PROBA_EPS);
            redo |= !fine;
            scratch[c] = fine ? 0.0f : 1.0f;
        }
    }
    if (redo) {
        /* double precision for class t and the classes that matter, then shift by the max */
        const double jt = ml_naive_bayes_class64(m, x, t);
        for (int32_t c = 0; c < nc; c++) {
            if (c == t || scratch[c] != 0.0f) {
                out[c] = (float)(ml_naive_bayes_class64(m, x, c) - jt);
            }
        }
        const float top = out[ml_argmax_f32(out, nc)];
        for (int32_t c = 0; c < nc; c++) {
            out[c] -= top;
        }
    }
    float total = 0.0f;
    for (int32_t c = 0; c < nc; c++) {
        out[c] = ml_expf(out[c]);
        total += out[c];
    }
    ml_scale_f32(out, nc, ml_reciprocalf(total));
    return ML_OK;
}

/* The family interface of the model-file dispatcher (ml_model.h). */
static inline void ml_naive_bayes_info(const ml_naive_bayes_t *m, ml_info_t *info)
{
    info->task = ML_TASK_CLASSIFIER;
    info->n_features = m->n_features;
    info->n_outputs = m->n_classes;
    info->n_decision = 0;
    info->has_proba = 1;
    info->has_score_samples = 0;
    info->scratch_floats = m->coef_lo != NULL ? m->n_classes : 0;
}

ML_DEFINE_UNSUPPORTED(naive_bayes, decision_function)

ML_DEFINE_UNSUPPORTED(naive_bayes, score_samples)

ML_DEFINE_UNSUPPORTED(naive_bayes, regress)

ML_DEFINE_UNSUPPORTED(naive_bayes, transform)

/* Model-file section (little-endian, offsets from the section start, tables 4-aligned):
 *   0 u32 version (1)      4 u32 kind            8 u32 n_features    12 u32 n_classes
 *  16 u32 flags (bit 0: exact tables present; other bits must be 0)
 *  20 f32 threshold       24 f32 k1   28 f32 k2   32 f32 k3
 *  36 u32 off constant    40 u32 off coef        44 u32 off mean (GAUSSIAN, else 0)
 *  48 u32 off constant_lo 52 u32 off coef_lo     56 u32 off mean_lo (exact GAUSSIAN)
 *  60 u32 off bound_class 64 u32 off bound_mean (exact GAUSSIAN)
 *  68 u32 off bound_feature (exact LINEAR / BINARY)
 *  72 u32 off constant2 (GAUSSIAN32; GAUSSIAN32 has no exact tables: flags 0)
 * An offset is 0 exactly when its table is absent; present tables follow the header
 * back to back in this order (the loader checks it, so counts and offsets must agree). */

/* Float table at offset o with count entries, or NULL (sets *bad) when invalid. Present
 * tables follow each other without gaps in the order of the header fields, from the end
 * of the header (*next: where the next one must start); absent ones (want == 0) have
 * offset 0. */
#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_naive_bayes_from_section(ml_naive_bayes_t *m, const uint8_t *sec,
                                                  uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline const float *ml_naive_bayes__table(const uint8_t *sec, uint32_t size,
                                                 uint32_t o, uint64_t count, int want,
                                                 uint64_t *next, int *bad)
{
    if (!want) {
        if (o != 0u) {
            *bad = 1;
        }
        return NULL;
    }
    if (count > 0x3FFFFFFFu || (uint64_t)o != *next ||
        !ml_span_ok(o, (uint32_t)count, 4u, 4u, ML_NAIVE_BAYES_SECTION_HEADER_BYTES, size)) {
        *bad = 1;
        return NULL;
    }
    *next += 4u * count;
    return (const float *)(const void *)(sec + o);
}

/* Validate a naive Bayes section (sec: 4-byte aligned, size bytes) and fill *m, which
 * then points into it: keep the section alive and unchanged while *m is used. Every
 * count, offset and span is checked; the work per call is O(n_classes * n_features),
 * bounded by the section size. ML_OK, ML_ERR_NULL, ML_ERR_ALIGN, ML_ERR_VERSION,
 * ML_ERR_MODEL or ML_ERR_UNSUPPORTED; *m zeroed on error. */
static inline int32_t ml_naive_bayes_from_section(ml_naive_bayes_t *m, const uint8_t *sec,
                                                  uint32_t size)
{
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    {
        const ml_naive_bayes_t zero = {0, 0, 0, 0.0f, NULL, NULL, NULL, NULL, NULL,
                                       NULL, NULL, NULL, NULL, 0.0f, 0.0f, 0.0f, NULL};
        *m = zero;
    }
    if (sec == NULL) {
        return ML_ERR_NULL;
    }
    if (((uintptr_t)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    {
        const uint16_t probe = 1u; /* tables are read in place: little-endian CPUs only */
        if (*(const uint8_t *)&probe != 1u) {
            return ML_ERR_UNSUPPORTED;
        }
    }
    if (size < ML_NAIVE_BAYES_SECTION_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (ml_rd_u32(sec) != ML_NAIVE_BAYES_SECTION_VERSION) {
        return ML_ERR_VERSION;
    }
    const uint32_t kind = ml_rd_u32(sec + 4), nf = ml_rd_u32(sec + 8);
    const uint32_t nc = ml_rd_u32(sec + 12), flags = ml_rd_u32(sec + 16);
    if (kind > 3u || (flags & ~1u) != 0u) {
        return ML_ERR_UNSUPPORTED;
    }
    if (kind == ML_NAIVE_BAYES_GAUSSIAN32 && flags != 0u) {
        return ML_ERR_MODEL;
    }
    if (nf == 0u || nc == 0u || nf > 0x7FFFFFFFu || nc > 0x7FFFFFFFu) {
        return ML_ERR_MODEL;
    }
    const float thr = ml_rd_f32(sec + 20), k1 = ml_rd_f32(sec + 24);
    const float k2 = ml_rd_f32(sec + 28), k3 = ml_rd_f32(sec + 32);
    if (thr != thr || !(k1 >= 0.0f && k1 < INFINITY) || !(k2 >= 0.0f && k2 < INFINITY) ||
        !(k3 >= 0.0f && k3 < INFINITY)) {
        return ML_ERR_MODEL;
    }
    const int g = kind == ML_NAIVE_BAYES_GAUSSIAN, ex = (flags & 1u) != 0u;
    const int g32 = kind == ML_NAIVE_BAYES_GAUSSIAN32;
    const uint64_t cf = (uint64_t)nc * (uint64_t)nf;
    int bad = 0;
    uint64_t next = ML_NAIVE_BAYES_SECTION_HEADER_BYTES;
    ml_naive_bayes_t r;
    r.kind = (int32_t)kind;
    r.n_features = (int32_t)nf;
    r.n_classes = (int32_t)nc;
    r.threshold = thr;
    r.k1 = k1;
    r.k2 = k2;
    r.k3 = k3;
    r.constant = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 36), nc, 1,
                                     &next, &bad);
    r.coef = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 40), cf, 1,
                                     &next, &bad);
    r.mean = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 44), cf, g || g32,
                                     &next, &bad);
    r.constant_lo = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 48), nc, ex,
                                     &next, &bad);
    r.coef_lo = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 52), cf, ex,
                                     &next, &bad);
    r.mean_lo = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 56), cf, ex && g, &next, &bad);
    r.bound_class = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 60), nc, ex,
                                     &next, &bad);
    r.bound_mean = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 64), nc, ex && g,
                                     &next, &bad);
    r.bound_feature = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 68), nf, ex && !g,
                                            &next, &bad);
    r.constant2 = ml_naive_bayes__table(sec, size, ml_rd_u32(sec + 72), nc, g32,
                                     &next, &bad);
    if (bad || size - next >= 8u) { /* at most 7 bytes of padding after the tables */
        return ML_ERR_MODEL;
    }
    *m = r;
    return ML_OK;
}
#endif /* __AVR__ */

#endif /* ML_NAIVE_BAYES_H */
