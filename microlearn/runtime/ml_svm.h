/* ml_svm.h - microlearn C runtime: kernel support vector machines (libsvm models).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * Models: scikit-learn's SVC / NuSVC (classifier), SVR / NuSVR (regressor) and
 * OneClassSVM (outlier detector), as libsvm stores them. An ml_svm_t points at
 * caller-owned, read-only tables:
 *
 *   sv[n_sv * n_features]   support vectors (row major), each stored once (primal
 *                           linear form: the per-pair weight vectors, see below);
 *   dual_coef[rows * n_sv]  libsvm's sv_coef (scikit-learn's _dual_coef_): rows =
 *                           n_classes - 1 for a classifier, 1 otherwise;
 *   rho[n_pairs]            libsvm's rho (= -_intercept_), one per class pair (i < j,
 *                           in the order (0,1), (0,2) ... (1,2) ...), 1 otherwise;
 *   sv_start[n_classes + 1] classifier: the SVs of class c are sv_start[c] ..
 *                           sv_start[c + 1] - 1 (classes in scikit-learn's order);
 *                           unused by regressors / one-class (may be NULL);
 *   prob_a/prob_b[n_pairs]  Platt sigmoid of each pair (probA_, probB_) or NULL;
 *   exact mode (flag ML_SVM_FLAG_EXACT): float64 copies sv64, coef64, rho64, gamma64,
 *                           coef064 (+ lin_err in primal form): predict re-decides
 *                           near-ties in float64 (see "exact mode" below).
 *
 * Everything is float32 and follows libsvm's svm_predict_values step by step:
 *   kernel K(x, s): linear x.s; poly powi(gamma x.s + coef0, degree) (libsvm's
 *   square-and-multiply); rbf expf(-gamma * sum (x_j - s_j)^2); sigmoid
 *   tanhf(gamma x.s + coef0) (dot products and sums left to right);
 *   pair (i, j): dec = sum over SVs of class i of dual_coef[j-1][sv] K
 *                    + sum over SVs of class j of dual_coef[i][sv] K - rho[p]
 *   (summed in libsvm's order: class i's SVs, then class j's, then rho);
 *   vote: dec > 0 -> class i, else class j; predicted class: the first class with
 *   the most votes (libsvm's rule).
 * scikit-learn's decision_function: binary -dec; "ovo" dec; "ovr" (> 2 classes)
 * votes + s / (3 (|s| + 1)) with s the summed confidences (sklearn's
 * _ovr_decision_function, where dec >= 0 votes for class i). break_ties ("ovr", > 2
 * classes): the first maximum of the "ovr" values. predict_proba: libsvm's Platt
 * sigmoids clipped to [1e-7, 1 - 1e-7], coupled by libsvm's multiclass_probability
 * (Wu, Lin and Weng method 2; same stopping rule eps = 0.005 / k and max(100, k)
 * iterations), in float32. Regressor: sum - rho. One-class: dec = sum - rho, predict
 * +1 when dec > 0 else -1, score_samples = sum.
 */
#ifndef ML_SVM_H
#define ML_SVM_H

#include "ml_common.h"
#include "ml_math.h"
#include <math.h> /* INFINITY only: no libm function is called */

#define ML_SVM_LINEAR  0
#define ML_SVM_POLY    1
#define ML_SVM_RBF     2
#define ML_SVM_SIGMOID 3
/* Linear kernel in primal form: the SVs are folded into one weight vector per pair,
 * w_p = sum_i dual_coef * sv_i (computed in float64 by the generator), stored in sv[]
 * as n_pairs rows (1 row for a regressor / one-class); dec_p = w_p . x - rho_p.
 * Far less float32 cancellation than summing dual_coef * (x . sv) (no dual_coef table,
 * n_sv == 0). */
#define ML_SVM_PRIMAL  4

#define ML_SVM_FLAG_OVR        1u  /* decision_function_shape "ovr" */
#define ML_SVM_FLAG_BREAK_TIES 2u
#define ML_SVM_FLAG_PROBA      4u  /* prob_a / prob_b present */
#define ML_SVM_FLAG_EXACT      8u  /* float64 tables present: near-ties resolved in float64 */

#define ML_SVM_SECTION_VERSION 1u
#define ML_SVM_HEADER_BYTES    96u
/* Bounds the section loader enforces (the probability coupling costs ~k^3 per call). */
#define ML_SVM_MAX_CLASSES       32768
#define ML_SVM_MAX_PROBA_CLASSES 256

typedef struct ml_svm {
    int32_t task;        /* ML_TASK_CLASSIFIER, ML_TASK_REGRESSOR, ML_TASK_OUTLIER_DETECTOR */
    int32_t kernel;      /* ML_SVM_LINEAR ... ML_SVM_SIGMOID */
    int32_t n_features;
    int32_t n_classes;   /* classifier: classes (>= 2); otherwise 1 */
    int32_t n_sv;
    int32_t degree;      /* poly */
    float gamma;
    float coef0;
    uint32_t flags;      /* ML_SVM_FLAG_* */
    const float *sv;
    const float *dual_coef;
    const float *rho;
    const int32_t *sv_start;  /* classifier only, else NULL */
    const float *prob_a;      /* classifier with probabilities, else NULL */
    const float *prob_b;
    /* exact mode (ML_SVM_FLAG_EXACT), else NULL / 0: the same tables in float64 */
    const double *sv64;       /* support vectors (primal: weights) */
    const double *coef64;     /* dual_coef (primal: unused) */
    const double *rho64;
    const float *lin_err;     /* primal: per pair, scikit-learn's float64 dual-sum error
                                 per unit of max |x_j| (2 g53(n + m + 2) sum |c_i| |s_i|_1) */
    double gamma64;
    double coef064;
} ml_svm_t;

static inline int32_t ml_svm_n_pairs(const ml_svm_t *m)
{
    return m->task == ML_TASK_CLASSIFIER ? m->n_classes * (m->n_classes - 1) / 2 : 1;
}

/* libsvm's powi: square-and-multiply. */
static inline float ml_svm_powi(float base, int32_t times)
{
    float tmp = base;
    float ret = 1.0f;
    for (int32_t t = times; t > 0; t /= 2) {
        if (t % 2 == 1) {
            ret *= tmp;
        }
        tmp = tmp * tmp;
    }
    return ret;
}

/* Kernel value K(x, s) of one support vector s. */
static inline float ml_svm_kernel(const ml_svm_t *m, const float *x, const float *s)
{
    const int32_t n = m->n_features;
    float sum = 0.0f;
    if (m->kernel == ML_SVM_RBF) {
        for (int32_t j = 0; j < n; j++) {
            const float d = x[j] - ML_READ_F32(&s[j]);
            sum += d * d;
        }
        return ml_expf(-m->gamma * sum);
    }
    for (int32_t j = 0; j < n; j++) {
        sum += x[j] * ML_READ_F32(&s[j]);
    }
    switch (m->kernel) {
    case ML_SVM_POLY:
        return ml_svm_powi(m->gamma * sum + m->coef0, m->degree);
    case ML_SVM_SIGMOID:
        return ml_tanhf(m->gamma * sum + m->coef0);
    default:
        return sum;
    }
}

/* x . w (n features, left to right) */
static inline float ml_svm_dot(const float *x, const float *w, int32_t n)
{
    float sum = 0.0f;
    for (int32_t j = 0; j < n; j++) {
        sum += x[j] * ML_READ_F32(&w[j]);
    }
    return sum;
}

/* Regressor / one-class: sum over SVs of dual_coef K (no rho). */
static inline float ml_svm_sum1(const ml_svm_t *m, const float *x)
{
    if (m->kernel == ML_SVM_PRIMAL) {
        return ml_svm_dot(x, m->sv, m->n_features);
    }
    float sum = 0.0f;
    for (int32_t i = 0; i < m->n_sv; i++) {
        sum += ML_READ_F32(&m->dual_coef[i]) *
               ml_svm_kernel(m, x, m->sv + (size_t)i * (size_t)m->n_features);
    }
    return sum;
}

/* Classifier: dec[0..n_pairs-1] = libsvm's pairwise decision values. Each kernel value
 * is computed once and added to the k - 1 pairs of its class; pair (i, j) receives class
 * i's SVs, then class j's, in SV order: the additions of libsvm's loop, in its order. */
static inline void ml_svm_pairs(const ml_svm_t *m, const float *x, float *dec)
{
    const int32_t k = m->n_classes;
    const size_t n_sv = (size_t)m->n_sv;
    const int32_t n_pairs = ml_svm_n_pairs(m);
    if (m->kernel == ML_SVM_PRIMAL) {
        for (int32_t p = 0; p < n_pairs; p++) {
            dec[p] = ml_svm_dot(x, m->sv + (size_t)p * (size_t)m->n_features, m->n_features) -
                     ML_READ_F32(&m->rho[p]);
        }
        return;
    }
    ml_fill_f32(dec, n_pairs, 0.0f);
    int32_t base_c = 0; /* index of pair (c, c + 1) */
    for (int32_t c = 0; c < k; c++) {
        for (int32_t i = ML_READ_I32(&m->sv_start[c]); i < ML_READ_I32(&m->sv_start[c + 1]); i++) {
            const float kv = ml_svm_kernel(m, x, m->sv + (size_t)i * (size_t)m->n_features);
            int32_t base_o = 0;
            for (int32_t o = 0; o < c; o++) { /* pair (o, c): coefficient row o */
                dec[base_o + (c - o - 1)] +=
                    ML_READ_F32(&m->dual_coef[(size_t)o * n_sv + (size_t)i]) * kv;
                base_o += k - o - 1;
            }
            for (int32_t o = c + 1; o < k; o++) { /* pair (c, o): row o - 1 */
                dec[base_c + (o - c - 1)] +=
                    ML_READ_F32(&m->dual_coef[(size_t)(o - 1) * n_sv + (size_t)i]) * kv;
            }
        }
        base_c += k - c - 1;
    }
    for (int32_t p = 0; p < n_pairs; p++) {
        dec[p] -= ML_READ_F32(&m->rho[p]);
    }
}

/* --- exact mode: certified float32 error bounds, float64 recomputation ----------------
 * With ML_SVM_FLAG_EXACT, predict computes next to each pair's float32 decision value a
 * bound on its distance to scikit-learn's float64 value (the derivation is in
 * microlearn/families/svm/convert.py; u = 2^-24, g(m) = m u / (1 - m u); ml_expf within
 * ML_SVM_EXPF_ULP = 1 and ml_tanhf within ML_SVM_TANHF_ULP = 2 units in the last place,
 * ml_math.h's bounds). A pair whose |dec| is within
 * its bound (a near-tie: float32 might vote the other way) is recomputed in float64 from
 * the float64 tables, in libsvm's order, and votes by that value. */
#define ML_SVM_U 5.9604645e-8f
#define ML_SVM_EXPF_ULP 1.0f
#define ML_SVM_TANHF_ULP 2.0f
#define ML_SVM_SAFETY 1.01f

static inline float ml_svm_g(float m)
{
    const float mu = m * ML_SVM_U;
    return mu < 0.5f ? ml_divf(mu, 1.0f - mu) : (float)INFINITY;
}

/* e^z - 1 for z >= 0, rounded up generously: z (1 + z) for z <= 1 */
static inline float ml_svm_expm1_up(float z)
{
    return z <= 1.0f ? z * (1.0f + z) : ml_expf(z);
}

/* The constants g(.) of the kernel bounds: they depend on the model's sizes only, so
 * they are computed once per call (ml_divf divides), not once per support vector. */
typedef struct ml_svm_gk {
    float g_n1; /* g(n_features + 1) */
    float g_n3; /* g(n_features + 3) */
    float g2;   /* g(2) */
    float g4;   /* g(4) */
    float g_d1; /* g(degree + 1) */
} ml_svm_gk_t;

static inline void ml_svm_gk_init(const ml_svm_t *m, ml_svm_gk_t *gk)
{
    const float nf = (float)m->n_features;
    const int rbf = m->kernel == ML_SVM_RBF;
    gk->g2 = ml_svm_g(2.0f);
    gk->g_n1 = rbf ? ml_svm_g(nf + 1.0f) : 0.0f; /* only what the kernel's bound uses */
    gk->g_n3 = rbf ? 0.0f : ml_svm_g(nf + 3.0f);
    gk->g4 = rbf || m->kernel == ML_SVM_LINEAR ? 0.0f : ml_svm_g(4.0f);
    gk->g_d1 = m->kernel == ML_SVM_POLY ? ml_svm_g((float)m->degree + 1.0f) : 0.0f;
}

/* Kernel value (float32, the same as ml_svm_kernel) and *dk, a bound on its error
 * (gk: ml_svm_gk_init's constants). */
static inline float ml_svm_kernel_b(const ml_svm_t *m, const ml_svm_gk_t *gk, const float *x,
                                    const float *s, float *dk)
{
    const int32_t n = m->n_features;
    const float ag = ml_fabsf(m->gamma);
    float sum = 0.0f;
    float aux = 0.0f;
    if (m->kernel == ML_SVM_RBF) {
        for (int32_t j = 0; j < n; j++) {
            const float d = x[j] - ML_READ_F32(&s[j]);
            sum += d * d;
            aux += ml_fabsf(d) * ml_fabsf(ML_READ_F32(&s[j]));
        }
        const float k = ml_expf(-m->gamma * sum);
        const float ds = gk->g_n1 * sum + 2.1f * ML_SVM_U * (sum + aux);
        const float dz = ag * ds + gk->g2 * ag * sum;
        const float e = ml_svm_expm1_up(dz);
        *dk = k * e + 2.0f * ML_SVM_EXPF_ULP * ML_SVM_U * k * (1.0f + e);
        return k;
    }
    for (int32_t j = 0; j < n; j++) {
        sum += x[j] * ML_READ_F32(&s[j]);
        aux += ml_fabsf(x[j] * ML_READ_F32(&s[j]));
    }
    const float dd = gk->g_n3 * aux;
    if (m->kernel == ML_SVM_LINEAR) {
        *dk = dd;
        return sum;
    }
    const float t = m->gamma * sum + m->coef0;
    const float dt = ag * dd + gk->g4 * (ml_fabsf(m->gamma * sum) + ml_fabsf(m->coef0)) +
                     2.0f * ML_SVM_U * ml_fabsf(t);
    if (m->kernel == ML_SVM_POLY) {
        const float tt = ml_fabsf(t) + dt;
        const float d = (float)m->degree;
        *dk = m->degree == 0 ? 0.0f
                             : d * ml_svm_powi(tt, m->degree - 1) * dt +
                                   gk->g_d1 * ml_svm_powi(tt, m->degree);
        return ml_svm_powi(t, m->degree);
    }
    const float k = ml_tanhf(t);
    *dk = dt + 2.0f * ML_SVM_TANHF_ULP * ML_SVM_U * ml_fabsf(k);
    return k;
}

/* ml_svm_pairs with bnd[p] >= |dec[p] - scikit-learn's float64 value|. gw: n_classes
 * floats of scratch (classifier, not the primal form; else unused, may be NULL): the
 * constants g(n_c + n_o + 3) of class c's pairs, computed once per class. */
static inline void ml_svm_pairs_b(const ml_svm_t *m, const float *x, float *dec, float *bnd,
                                  float *gw)
{
    const int32_t k = m->n_classes;
    const size_t n_sv = (size_t)m->n_sv;
    const int32_t n_pairs = ml_svm_n_pairs(m);
    const int32_t n = m->n_features;
    if (m->kernel == ML_SVM_PRIMAL) {
        float xmax = 0.0f;
        for (int32_t j = 0; j < n; j++) {
            xmax = ml_fabsf(x[j]) > xmax ? ml_fabsf(x[j]) : xmax;
        }
        const float g_n3 = ml_svm_g((float)n + 3.0f);
        const float g2 = ml_svm_g(2.0f);
        for (int32_t p = 0; p < n_pairs; p++) {
            const float *w = m->sv + (size_t)p * (size_t)n;
            float a = 0.0f;
            for (int32_t j = 0; j < n; j++) {
                a += ml_fabsf(x[j] * ML_READ_F32(&w[j]));
            }
            dec[p] = ml_svm_dot(x, w, n) - ML_READ_F32(&m->rho[p]);
            bnd[p] = ML_SVM_SAFETY * (g_n3 * a +
                                      g2 * (ml_fabsf(ML_READ_F32(&m->rho[p])) + ml_fabsf(dec[p])) +
                                      ML_READ_F32(&m->lin_err[p]) * xmax);
        }
        return;
    }
    ml_svm_gk_t gk;
    ml_svm_gk_init(m, &gk);
    ml_fill_f32(dec, n_pairs, 0.0f);
    ml_fill_f32(bnd, n_pairs, 0.0f);
    int32_t base_c = 0;
    for (int32_t c = 0; c < k; c++) {
        const int32_t nc = ML_READ_I32(&m->sv_start[c + 1]) - ML_READ_I32(&m->sv_start[c]);
        if (nc > 0) {
            for (int32_t o = 0; o < k; o++) {
                const int32_t no = ML_READ_I32(&m->sv_start[o + 1]) - ML_READ_I32(&m->sv_start[o]);
                gw[o] = ml_svm_g((float)(nc + no) + 3.0f);
            }
        }
        for (int32_t i = ML_READ_I32(&m->sv_start[c]); i < ML_READ_I32(&m->sv_start[c + 1]); i++) {
            float dk;
            const float kv =
                ml_svm_kernel_b(m, &gk, x, m->sv + (size_t)i * (size_t)m->n_features, &dk);
            const float kk = ml_fabsf(kv) + dk;
            int32_t base_o = 0;
            for (int32_t o = 0; o < k; o++) {
                if (o == c) {
                    continue;
                }
                const int32_t p = o < c ? base_o + (c - o - 1) : base_c + (o - c - 1);
                const float coef =
                    ML_READ_F32(&m->dual_coef[(size_t)(o < c ? o : o - 1) * n_sv + (size_t)i]);
                dec[p] += coef * kv;
                bnd[p] += ml_fabsf(coef) * (dk + gw[o] * kk);
                if (o < c) {
                    base_o += k - o - 1;
                }
            }
        }
        base_c += k - c - 1;
    }
    for (int32_t p = 0; p < n_pairs; p++) {
        dec[p] -= ML_READ_F32(&m->rho[p]);
        bnd[p] = ML_SVM_SAFETY *
                 (bnd[p] + gk.g2 * (ml_fabsf(ML_READ_F32(&m->rho[p])) + ml_fabsf(dec[p])));
    }
}

/* Regressor / one-class sum (no rho; not the primal form) with the bound of sum - rho. */
static inline float ml_svm_sum1_b(const ml_svm_t *m, const float *x, float *bnd)
{
    float sum = 0.0f;
    float b = 0.0f;
    const float gm = ml_svm_g((float)m->n_sv + 3.0f);
    ml_svm_gk_t gk;
    ml_svm_gk_init(m, &gk);
    for (int32_t i = 0; i < m->n_sv; i++) {
        float dk;
        const float kv =
            ml_svm_kernel_b(m, &gk, x, m->sv + (size_t)i * (size_t)m->n_features, &dk);
        sum += ML_READ_F32(&m->dual_coef[i]) * kv;
        b += ml_fabsf(ML_READ_F32(&m->dual_coef[i])) * (dk + gm * (ml_fabsf(kv) + dk));
    }
    const float rho = ML_READ_F32(&m->rho[0]);
    *bnd = ML_SVM_SAFETY * (b + gk.g2 * (ml_fabsf(rho) + ml_fabsf(sum - rho)));
    return sum;
}

/* libsvm's powi in float64 */
static inline double ml_svm_powi64(double base, int32_t times)
{
    double tmp = base;
    double ret = 1.0;
    for (int32_t t = times; t > 0; t /= 2) {
        if (t % 2 == 1) {
            ret *= tmp;
        }
        tmp = tmp * tmp;
    }
    return ret;
}

/* Kernel value in float64 (libsvm's k_function; x cast to double like scikit-learn). */
static inline double ml_svm_kernel64(const ml_svm_t *m, const float *x, const double *s)
{
    const int32_t n = m->n_features;
    double sum = 0.0;
    if (m->kernel == ML_SVM_RBF) {
        for (int32_t j = 0; j < n; j++) {
            const double d = (double)x[j] - ML_READ_F64(&s[j]);
            sum += d * d;
        }
        return ml_exp(-m->gamma64 * sum);
    }
    for (int32_t j = 0; j < n; j++) {
        sum += (double)x[j] * ML_READ_F64(&s[j]);
    }
    switch (m->kernel) {
    case ML_SVM_POLY:
        return ml_svm_powi64(m->gamma64 * sum + m->coef064, m->degree);
    case ML_SVM_SIGMOID:
        return ml_tanh(m->gamma64 * sum + m->coef064);
    default:
        return sum;
    }
}

/* Pair p = (i, j) (or the single decision of a regressor / one-class, i = j = 0) in
 * float64, libsvm's order: class i's SVs, class j's, minus rho. */
static inline double ml_svm_pair64(const ml_svm_t *m, const float *x, int32_t p, int32_t i,
                                   int32_t j)
{
    const int32_t n = m->n_features;
    double sum = 0.0;
    if (m->kernel == ML_SVM_PRIMAL) {
        const double *w = m->sv64 + (size_t)p * (size_t)n;
        for (int32_t f = 0; f < n; f++) {
            sum += (double)x[f] * ML_READ_F64(&w[f]);
        }
        return sum - ML_READ_F64(&m->rho64[p]);
    }
    const size_t n_sv = (size_t)m->n_sv;
    if (m->task != ML_TASK_CLASSIFIER) {
        for (int32_t s = 0; s < m->n_sv; s++) {
            sum += ML_READ_F64(&m->coef64[s]) *
                   ml_svm_kernel64(m, x, m->sv64 + (size_t)s * (size_t)n);
        }
        return sum - ML_READ_F64(&m->rho64[0]);
    }
    for (int32_t s = ML_READ_I32(&m->sv_start[i]); s < ML_READ_I32(&m->sv_start[i + 1]); s++) {
        sum += ML_READ_F64(&m->coef64[(size_t)(j - 1) * n_sv + (size_t)s]) *
               ml_svm_kernel64(m, x, m->sv64 + (size_t)s * (size_t)n);
    }
    for (int32_t s = ML_READ_I32(&m->sv_start[j]); s < ML_READ_I32(&m->sv_start[j + 1]); s++) {
        sum += ML_READ_F64(&m->coef64[(size_t)i * n_sv + (size_t)s]) *
               ml_svm_kernel64(m, x, m->sv64 + (size_t)s * (size_t)n);
    }
    return sum - ML_READ_F64(&m->rho64[p]);
}

/* A float with the sign (and zero-ness) of v, for the votes. */
static inline float ml_svm_sign_f32(double v)
{
    return v > 0.0 ? 1.0f : v < 0.0 ? -1.0f : 0.0f;
}

/* Exact-mode pairwise values: dec[] as ml_svm_pairs, except that every near-tie pair is
 * replaced by the sign of its float64 value (bnd: n_pairs floats of scratch; gw: n_classes
 * floats of scratch). */
static inline void ml_svm_pairs_exact(const ml_svm_t *m, const float *x, float *dec,
                                      float *bnd, float *gw)
{
    const int32_t k = m->n_classes;
    ml_svm_pairs_b(m, x, dec, bnd, gw);
    int32_t p = 0;
    for (int32_t i = 0; i < k; i++) {
        for (int32_t j = i + 1; j < k; j++) {
            if (!(ml_fabsf(dec[p]) > bnd[p])) { /* near-tie (or NaN) */
                dec[p] = ml_svm_sign_f32(ml_svm_pair64(m, x, p, i, j));
            }
            p++;
        }
    }
}

/* scikit-learn's _ovr_decision_function(dec < 0, -dec, k): out[0..k-1]. */
static inline void ml_svm_ovr(int32_t k, const float *dec, float *out, float *conf)
{
    ml_fill_f32(out, k, 0.0f);
    ml_fill_f32(conf, k, 0.0f);
    int32_t p = 0;
    for (int32_t i = 0; i < k; i++) {
        for (int32_t j = i + 1; j < k; j++) {
            conf[i] -= -dec[p];
            conf[j] += -dec[p];
            if (dec[p] < 0.0f) {
                out[j] += 1.0f;
            } else {
                out[i] += 1.0f;
            }
            p++;
        }
    }
    for (int32_t c = 0; c < k; c++) {
        out[c] += ml_divf(conf[c], 3.0f * (ml_fabsf(conf[c]) + 1.0f));
    }
}

/* libsvm's vote: the first class with the most votes (votes: k floats of scratch). */
static inline int32_t ml_svm_vote(int32_t k, const float *dec, float *votes)
{
    ml_fill_f32(votes, k, 0.0f);
    int32_t p = 0;
    for (int32_t i = 0; i < k; i++) {
        for (int32_t j = i + 1; j < k; j++) {
            if (dec[p] > 0.0f) {
                votes[i] += 1.0f;
            } else {
                votes[j] += 1.0f;
            }
            p++;
        }
    }
    return ml_argmax_f32(votes, k);
}

/* libsvm's sigmoid_predict (Platt), float32. */
static inline float ml_svm_sigmoid_predict(float dec, float a, float b)
{
    const float f = dec * a + b;
    if (f >= 0.0f) {
        const float e = ml_expf(-f);
        return ml_divf(e, 1.0f + e);
    }
    return ml_reciprocalf(1.0f + ml_expf(f));
}

/* libsvm's multiclass_probability: r[p] pairwise probabilities of pair p = (i, j), i < j
 * (P(i | i or j)); p_out[0..k-1]; q: k * k + k floats of scratch. */
static inline void ml_svm_couple(int32_t k, const float *r, float *p_out, float *q)
{
    float *Q = q;
    float *Qp = q + (size_t)k * (size_t)k;
    const int32_t max_iter = k > 100 ? k : 100;
    const float eps = ml_divf(0.005f, (float)k);
    const float kf = (float)k;
    int32_t base_t = 0; /* index of pair (t, t + 1) */
    for (int32_t t = 0; t < k; t++) {
        float *Qt = Q + (size_t)t * (size_t)k;
        p_out[t] = ml_reciprocalf(kf);
        Qt[t] = 0.0f;
        int32_t base_j = 0;
        for (int32_t j = 0; j < t; j++) { /* r[j][t] = r(j, t) */
            const float rjt = r[base_j + (t - j - 1)];
            Qt[t] += rjt * rjt;
            Qt[j] = Q[(size_t)j * (size_t)k + (size_t)t];
            base_j += k - j - 1;
        }
        for (int32_t j = t + 1; j < k; j++) { /* r[j][t] = 1 - r(t, j), r[t][j] = r(t, j) */
            const float rtj = r[base_t + (j - t - 1)];
            const float rjt = 1.0f - rtj;
            Qt[t] += rjt * rjt;
            Qt[j] = -rjt * rtj;
        }
        base_t += k - t - 1;
    }
    for (int32_t iter = 0; iter < max_iter; iter++) {
        float pQp = 0.0f;
        for (int32_t t = 0; t < k; t++) {
            const float *Qt = Q + (size_t)t * (size_t)k;
            Qp[t] = 0.0f;
            for (int32_t j = 0; j < k; j++) {
                Qp[t] += Qt[j] * p_out[j];
            }
            pQp += p_out[t] * Qp[t];
        }
        float max_error = 0.0f;
        for (int32_t t = 0; t < k; t++) {
            const float error = ml_fabsf(Qp[t] - pQp);
            if (error > max_error) {
                max_error = error;
            }
        }
        if (max_error < eps) {
            break;
        }
        for (int32_t t = 0; t < k; t++) {
            const float *Qt = Q + (size_t)t * (size_t)k;
            const float diff = ml_divf(-Qp[t] + pQp, Qt[t]);
            p_out[t] += diff;
            pQp = ml_divf(ml_divf(pQp + diff * (diff * Qt[t] + 2.0f * Qp[t]), 1.0f + diff),
                          1.0f + diff);
            for (int32_t j = 0; j < k; j++) {
                Qp[j] = ml_divf(Qp[j] + diff * Qt[j], 1.0f + diff);
                p_out[j] = ml_divf(p_out[j], 1.0f + diff);
            }
        }
    }
}

/* Index of pair (i, j), i < j, among the k (k - 1) / 2 pairs. */
static inline int32_t ml_svm_pair_index(int32_t k, int32_t i, int32_t j)
{
    return (int32_t)(((int64_t)i * (int64_t)(2 * k - i - 1)) / 2) + (j - i - 1);
}

/* break_ties in exact mode: the first maximum of the "ovr" values, certified. The
 * float32 values get a bound per class (d(out) <= ds / 3 + g(4) / 3 + u k with ds the
 * sum of its pairs' bounds + g(k) sum |dec|); when a pair's vote is a near-tie or
 * another class's value comes within the bounds of the maximum, the "ovr" values are
 * recomputed in float64, in scikit-learn's order (each pair twice: rare rows only).
 * dec, bnd, out, ob: n_pairs, n_pairs, k, k floats of scratch. */
static inline int32_t ml_svm_break_ties_exact(const ml_svm_t *m, const float *x, float *dec,
                                              float *bnd, float *out, float *ob)
{
    const int32_t k = m->n_classes;
    const float gk = ml_svm_g((float)k + 1.0f);
    const float g5_3 = ml_divf(ml_svm_g(5.0f), 3.0f);
    int uncertain = 0;
    ml_svm_pairs_b(m, x, dec, bnd, out); /* out: scratch until ml_svm_ovr fills it */
    ml_svm_ovr(k, dec, out, ob);
    ml_fill_f32(ob, k, 0.0f);
    int32_t p = 0;
    for (int32_t i = 0; i < k; i++) {
        for (int32_t j = i + 1; j < k; j++) {
            const float e = bnd[p] + gk * ml_fabsf(dec[p]);
            uncertain |= !(ml_fabsf(dec[p]) > bnd[p]);
            ob[i] += e;
            ob[j] += e;
            p++;
        }
    }
    const int32_t best = ml_argmax_f32(out, k);
    for (int32_t c = 0; c < k; c++) {
        ob[c] = ML_SVM_SAFETY * (ml_divf(ob[c], 3.0f) + g5_3 +
                                 ML_SVM_U * (float)k);
    }
    for (int32_t c = 0; c < k; c++) {
        if (c != best && !(out[c] + ob[c] < out[best] - ob[best])) {
            uncertain = 1;
        }
    }
    if (!uncertain) {
        return best;
    }
    int32_t best64 = 0;
    double best_value = 0.0;
    for (int32_t c = 0; c < k; c++) {
        double sum = 0.0;
        double votes = 0.0;
        for (int32_t o = 0; o < k; o++) { /* pairs (o, c) then (c, o): the pair order */
            if (o < c) {
                const double d = ml_svm_pair64(m, x, ml_svm_pair_index(k, o, c), o, c);
                sum += -d;
                votes += d < 0.0 ? 1.0 : 0.0;
            } else if (o > c) {
                const double d = ml_svm_pair64(m, x, ml_svm_pair_index(k, c, o), c, o);
                sum -= -d;
                votes += d < 0.0 ? 0.0 : 1.0;
            }
        }
        const double v = votes + ml_div(sum, 3.0 * (ml_fabs(sum) + 1.0));
        if (c == 0 || v > best_value) {
            best64 = c;
            best_value = v;
        }
    }
    return best64;
}

/* --- model-file section --------------------------------------------------------------
 * Layout (version 1; little-endian u32 / f32 words, offsets from the section start):
 *    0 version (1)        4 task (ML_TASK_*)     8 kernel (ML_SVM_*)   12 n_features
 *   16 n_classes (classifier >= 2, else 1)     20 n_sv               24 degree
 *   28 gamma (f32)       32 coef0 (f32)         36 flags (ML_SVM_FLAG_*)
 *   40 off_sv [n_sv * n_features] f32 (primal: [n_pairs * n_features] weights)
 *   44 off_dual_coef [rows * n_sv] f32 (rows = n_classes - 1 or 1; primal: 0 words)
 *   48 off_rho [n_pairs] f32                    52 off_sv_start [n_classes + 1] i32 (0)
 *   56 off_prob_a [n_pairs] f32 (0)             60 off_prob_b [n_pairs] f32 (0)
 *   exact mode (flag ML_SVM_FLAG_EXACT; else all 0):
 *   64 off_sv64 f64 [as off_sv]   68 off_coef64 f64 [as off_dual_coef]
 *   72 off_rho64 f64 [as off_rho]  76 off_lin_err f32 [n_pairs] (primal only, else 0)
 *   80 gamma f64                   88 coef0 f64
 * (0): zero when the table is absent (not a classifier / no probabilities). Tables are
 * 4-byte aligned (f64 tables 8-byte aligned in memory), at or after byte 96, read in
 * place (little-endian hosts). */
#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_svm_from_section(ml_svm_t *m, const uint8_t *sec, uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline double ml_svm_rd_f64(const uint8_t *p)
{
    union {
        uint64_t u;
        double d;
    } v;
    v.u = (uint64_t)ml_rd_u32(p) | ((uint64_t)ml_rd_u32(p + 4) << 32);
    return v.d;
}

/* ML_OK when the float64 table at sec + off (count entries) lies inside the section,
 * ML_ERR_ALIGN when it is not 8-byte aligned in memory, else ML_ERR_MODEL. */
static inline int32_t ml_svm_span64(const uint8_t *sec, uint32_t off, uint32_t count,
                                    uint32_t size)
{
    if (!ml_span_ok(off, count, 8u, 4u, ML_SVM_HEADER_BYTES, size)) {
        return ML_ERR_MODEL;
    }
    return ((uintptr_t)(sec + off) & 7u) == 0u ? ML_OK : ML_ERR_ALIGN;
}

static inline int32_t ml_svm_from_section(ml_svm_t *m, const uint8_t *sec, uint32_t size)
{
    ml_svm_t z;
    z.task = 0;
    z.kernel = 0;
    z.n_features = 0;
    z.n_classes = 0;
    z.n_sv = 0;
    z.degree = 0;
    z.gamma = 0.0f;
    z.coef0 = 0.0f;
    z.flags = 0u;
    z.sv = NULL;
    z.dual_coef = NULL;
    z.rho = NULL;
    z.sv_start = NULL;
    z.prob_a = NULL;
    z.prob_b = NULL;
    z.sv64 = NULL;
    z.coef64 = NULL;
    z.rho64 = NULL;
    z.lin_err = NULL;
    z.gamma64 = 0.0;
    z.coef064 = 0.0;
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    *m = z;
    if (sec == NULL) {
        return ML_ERR_NULL;
    }
    if (((uintptr_t)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    if (size < ML_SVM_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (ml_rd_u32(sec) != ML_SVM_SECTION_VERSION) {
        return ML_ERR_VERSION;
    }
    if (*(const uint32_t *)(const void *)sec != ML_SVM_SECTION_VERSION) {
        return ML_ERR_UNSUPPORTED; /* tables are read in place: little-endian only */
    }
    const uint32_t task = ml_rd_u32(sec + 4);
    const uint32_t kernel = ml_rd_u32(sec + 8);
    const uint32_t n_features = ml_rd_u32(sec + 12);
    const uint32_t n_classes = ml_rd_u32(sec + 16);
    const uint32_t n_sv = ml_rd_u32(sec + 20);
    const uint32_t degree = ml_rd_u32(sec + 24);
    const uint32_t flags = ml_rd_u32(sec + 36);
    const uint32_t off_sv = ml_rd_u32(sec + 40);
    const uint32_t off_coef = ml_rd_u32(sec + 44);
    const uint32_t off_rho = ml_rd_u32(sec + 48);
    const uint32_t off_start = ml_rd_u32(sec + 52);
    const uint32_t off_a = ml_rd_u32(sec + 56);
    const uint32_t off_b = ml_rd_u32(sec + 60);
    const uint32_t h = ML_SVM_HEADER_BYTES;
    const int classifier = task == (uint32_t)ML_TASK_CLASSIFIER;
    if (task != (uint32_t)ML_TASK_CLASSIFIER && task != (uint32_t)ML_TASK_REGRESSOR &&
        task != (uint32_t)ML_TASK_OUTLIER_DETECTOR) {
        return ML_ERR_MODEL;
    }
    if (kernel > (uint32_t)ML_SVM_PRIMAL || degree > 0x7FFFFFFFu ||
        n_features == 0u || n_features > 0x7FFFFFFFu || n_sv > 0x7FFFFFFFu) {
        return ML_ERR_MODEL;
    }
    if ((flags & ~(ML_SVM_FLAG_OVR | ML_SVM_FLAG_BREAK_TIES | ML_SVM_FLAG_PROBA |
                   ML_SVM_FLAG_EXACT)) != 0u) {
        return ML_ERR_MODEL;
    }
    const int proba = (flags & ML_SVM_FLAG_PROBA) != 0u;
    if (classifier) {
        if (n_classes < 2u || n_classes > (uint32_t)ML_SVM_MAX_CLASSES) {
            return ML_ERR_MODEL;
        }
        if (proba && n_classes > (uint32_t)ML_SVM_MAX_PROBA_CLASSES) {
            return ML_ERR_UNSUPPORTED;
        }
    } else if (n_classes != 1u || (flags & ~ML_SVM_FLAG_EXACT) != 0u) {
        return ML_ERR_MODEL;
    }
    const uint32_t n_pairs = classifier ? n_classes * (n_classes - 1u) / 2u : 1u;
    const int primal = kernel == (uint32_t)ML_SVM_PRIMAL;
    const uint32_t rows = classifier ? n_classes - 1u : 1u;
    if (primal && n_sv != 0u) {
        return ML_ERR_MODEL;
    }
    /* n_sv * n_features and rows * n_sv may exceed 32 bits: check them in 64 bits */
    const uint64_t sv_words = (uint64_t)(primal ? n_pairs : n_sv) * (uint64_t)n_features;
    const uint64_t coef_words = (uint64_t)rows * (uint64_t)n_sv;
    if (sv_words > (uint64_t)size || coef_words > (uint64_t)size) {
        return ML_ERR_MODEL;
    }
    if (!ml_span_ok(off_sv, (uint32_t)sv_words, 4u, 4u, h, size) ||
        !ml_span_ok(off_coef, (uint32_t)coef_words, 4u, 4u, h, size) ||
        !ml_span_ok(off_rho, n_pairs, 4u, 4u, h, size)) {
        return ML_ERR_MODEL;
    }
    if (classifier) {
        if (!ml_span_ok(off_start, n_classes + 1u, 4u, 4u, h, size)) {
            return ML_ERR_MODEL;
        }
        const uint8_t *st = sec + off_start;
        uint32_t prev = 0u;
        if (ml_rd_u32(st) != 0u || ml_rd_u32(st + 4u * n_classes) != n_sv) {
            return ML_ERR_MODEL;
        }
        for (uint32_t c = 1u; c <= n_classes; c++) {
            const uint32_t v = ml_rd_u32(st + 4u * c);
            if (v < prev || v > n_sv) {
                return ML_ERR_MODEL;
            }
            prev = v;
        }
        if (proba) {
            if (!ml_span_ok(off_a, n_pairs, 4u, 4u, h, size) ||
                !ml_span_ok(off_b, n_pairs, 4u, 4u, h, size)) {
                return ML_ERR_MODEL;
            }
        } else if (off_a != 0u || off_b != 0u) {
            return ML_ERR_MODEL;
        }
    } else if (off_start != 0u || off_a != 0u || off_b != 0u) {
        return ML_ERR_MODEL;
    }
    const uint32_t off_sv64 = ml_rd_u32(sec + 64);
    const uint32_t off_coef64 = ml_rd_u32(sec + 68);
    const uint32_t off_rho64 = ml_rd_u32(sec + 72);
    const uint32_t off_lin = ml_rd_u32(sec + 76);
    const int exact = (flags & ML_SVM_FLAG_EXACT) != 0u;
    if (exact) {
        int32_t st = ml_svm_span64(sec, off_sv64, (uint32_t)sv_words, size);
        if (st == ML_OK) {
            st = ml_svm_span64(sec, off_coef64, (uint32_t)coef_words, size);
        }
        if (st == ML_OK) {
            st = ml_svm_span64(sec, off_rho64, n_pairs, size);
        }
        if (st != ML_OK) {
            return st;
        }
        if (primal ? !ml_span_ok(off_lin, n_pairs, 4u, 4u, h, size) : off_lin != 0u) {
            return ML_ERR_MODEL;
        }
    } else if (off_sv64 != 0u || off_coef64 != 0u || off_rho64 != 0u || off_lin != 0u) {
        return ML_ERR_MODEL;
    }
    z.task = (int32_t)task;
    z.kernel = (int32_t)kernel;
    z.n_features = (int32_t)n_features;
    z.n_classes = (int32_t)n_classes;
    z.n_sv = (int32_t)n_sv;
    z.degree = (int32_t)degree;
    z.gamma = ml_rd_f32(sec + 28);
    z.coef0 = ml_rd_f32(sec + 32);
    z.flags = flags;
    z.sv = (const float *)(const void *)(sec + off_sv);
    z.dual_coef = (const float *)(const void *)(sec + off_coef);
    z.rho = (const float *)(const void *)(sec + off_rho);
    if (classifier) {
        z.sv_start = (const int32_t *)(const void *)(sec + off_start);
        if (proba) {
            z.prob_a = (const float *)(const void *)(sec + off_a);
            z.prob_b = (const float *)(const void *)(sec + off_b);
        }
    }
    if (exact) {
        z.sv64 = (const double *)(const void *)(sec + off_sv64);
        z.coef64 = (const double *)(const void *)(sec + off_coef64);
        z.rho64 = (const double *)(const void *)(sec + off_rho64);
        z.lin_err = primal ? (const float *)(const void *)(sec + off_lin) : NULL;
        z.gamma64 = ml_svm_rd_f64(sec + 80);
        z.coef064 = ml_svm_rd_f64(sec + 88);
    }
    *m = z;
    return ML_OK;
}
#endif /* __AVR__ */

/* --- the family API ------------------------------------------------------------------- */

static inline void ml_svm_info(const ml_svm_t *m, ml_info_t *info)
{
    const int32_t k = m->n_classes;
    info->task = m->task;
    info->n_features = m->n_features;
    info->has_proba = 0;
    info->has_score_samples = 0;
    info->scratch_floats = 0;
    if (m->task == ML_TASK_CLASSIFIER) {
        const int32_t n_pairs = ml_svm_n_pairs(m);
        info->n_outputs = k;
        info->n_decision = k == 2 ? 1 : (m->flags & ML_SVM_FLAG_OVR) != 0u ? k : n_pairs;
        info->has_proba = (m->flags & ML_SVM_FLAG_PROBA) != 0u;
        info->scratch_floats = n_pairs + 2 * k + (info->has_proba ? k * k : 0) +
                               ((m->flags & ML_SVM_FLAG_EXACT) != 0u ? n_pairs : 0);
    } else {
        info->n_outputs = 1;
        info->n_decision = m->task == ML_TASK_OUTLIER_DETECTOR ? 1 : 0;
        info->has_score_samples = m->task == ML_TASK_OUTLIER_DETECTOR;
    }
}

/* Class index (classifier; scratch: n_pairs + 2 n_classes floats, + n_pairs in exact
 * mode) or +1 / -1 (outlier
 * detector; no scratch). */
static inline int32_t ml_svm_predict(const ml_svm_t *m, const float *x, float *scratch)
{
    const int exact = (m->flags & ML_SVM_FLAG_EXACT) != 0u;
    if (m->task == ML_TASK_OUTLIER_DETECTOR) {
        if (exact) {
            float bnd;
            float dec;
            if (m->kernel == ML_SVM_PRIMAL) {
                ml_svm_pairs_b(m, x, &dec, &bnd, NULL); /* primal: no scratch */
            } else {
                dec = ml_svm_sum1_b(m, x, &bnd) - ML_READ_F32(&m->rho[0]);
            }
            if (!(ml_fabsf(dec) > bnd)) {
                return ml_svm_pair64(m, x, 0, 0, 0) > 0.0 ? 1 : -1;
            }
            return dec > 0.0f ? 1 : -1;
        }
        return ml_svm_sum1(m, x) - ML_READ_F32(&m->rho[0]) > 0.0f ? 1 : -1;
    }
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    const int32_t k = m->n_classes;
    const int32_t n_pairs = ml_svm_n_pairs(m);
    float *dec = scratch;
    float *work = scratch + n_pairs;
    float *bnd = work + 2 * k; /* exact mode: n_pairs bounds after the 2k work floats */
    const int break_ties = k > 2 && (m->flags & (ML_SVM_FLAG_OVR | ML_SVM_FLAG_BREAK_TIES)) ==
                                        (ML_SVM_FLAG_OVR | ML_SVM_FLAG_BREAK_TIES);
    if (break_ties) {
        /* np.argmax(decision_function): the first maximum of the "ovr" values */
        if (exact) {
            return ml_svm_break_ties_exact(m, x, dec, bnd, work, work + k);
        }
        ml_svm_pairs(m, x, dec);
        ml_svm_ovr(k, dec, work, work + k);
        return ml_argmax_f32(work, k);
    }
    if (exact) {
        ml_svm_pairs_exact(m, x, dec, bnd, work);
    } else {
        ml_svm_pairs(m, x, dec);
    }
    return ml_svm_vote(k, dec, work);
}

static inline int32_t ml_svm_decision_function(const ml_svm_t *m, const float *x, float *out,
                                               float *scratch)
{
    if (m->task == ML_TASK_OUTLIER_DETECTOR) {
        out[0] = ml_svm_sum1(m, x) - ML_READ_F32(&m->rho[0]);
        return ML_OK;
    }
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    const int32_t k = m->n_classes;
    const int32_t n_pairs = ml_svm_n_pairs(m);
    if (k == 2) {
        ml_svm_pairs(m, x, scratch);
        out[0] = -scratch[0];
    } else if ((m->flags & ML_SVM_FLAG_OVR) != 0u) {
        ml_svm_pairs(m, x, scratch);
        ml_svm_ovr(k, scratch, out, scratch + n_pairs);
    } else {
        ml_svm_pairs(m, x, out);
    }
    return ML_OK;
}

static inline int32_t ml_svm_predict_proba(const ml_svm_t *m, const float *x, float *out,
                                           float *scratch)
{
    if (m->task != ML_TASK_CLASSIFIER || (m->flags & ML_SVM_FLAG_PROBA) == 0u) {
        return ML_ERR_UNSUPPORTED;
    }
    const int32_t n_pairs = ml_svm_n_pairs(m);
    const float min_prob = 1e-7f;
    ml_svm_pairs(m, x, scratch);
    for (int32_t p = 0; p < n_pairs; p++) {
        float r = ml_svm_sigmoid_predict(scratch[p], ML_READ_F32(&m->prob_a[p]),
                                         ML_READ_F32(&m->prob_b[p]));
        r = r > min_prob ? r : min_prob;
        scratch[p] = r < 1.0f - min_prob ? r : 1.0f - min_prob;
    }
    ml_svm_couple(m->n_classes, scratch, out, scratch + n_pairs);
    return ML_OK;
}

static inline int32_t ml_svm_score_samples(const ml_svm_t *m, const float *x, float *out,
                                           float *scratch)
{
    (void)scratch;
    if (m->task != ML_TASK_OUTLIER_DETECTOR) {
        return ML_ERR_UNSUPPORTED;
    }
    out[0] = ml_svm_sum1(m, x);
    return ML_OK;
}

static inline int32_t ml_svm_regress(const ml_svm_t *m, const float *x, float *out,
                                     float *scratch)
{
    (void)scratch;
    if (m->task != ML_TASK_REGRESSOR) {
        return ML_ERR_UNSUPPORTED;
    }
    out[0] = ml_svm_sum1(m, x) - ML_READ_F32(&m->rho[0]);
    return ML_OK;
}

ML_DEFINE_UNSUPPORTED(svm, transform)

#endif /* ML_SVM_H */
