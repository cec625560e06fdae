/* ml_neighbors.h - microlearn C runtime: nearest-neighbour models.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * One engine for four scikit-learn estimators (ml_neighbors_t.kind):
 *   KNN_CLASSIFIER  KNeighborsClassifier: vote of the k nearest training points
 *   KNN_REGRESSOR   KNeighborsRegressor: (weighted) mean of their targets
 *   CENTROID        NearestCentroid: nearest class centroid / discriminant scores
 *   LOF             LocalOutlierFactor(novelty=True): score_samples, decision, predict
 * The training set (or the centroids) is a caller-owned float32 table; the search is
 * a brute-force scan with a fixed-size sorted list of the best candidates in the
 * caller's scratch (no allocation).
 *
 * Neighbour selection. Points are ranked by (distance, training index): on equal
 * distances the smaller training index wins. Distances are first computed in float32
 * ("reduced" distances: squared euclidean, sum |d|, max |d|, sum |d|^p). Their error
 * is bounded (ml_neighbors_rel_err): |rd32 - rd| <= e rd + a. The scan keeps the k+1
 * best; when the (k+1)-th lies within the error bound of the k-th, the float32 order
 * may differ from the exact one and every point within the bound is recomputed in
 * double (differences of float32 values, squared and summed in double), so the k
 * selected points are the exact k nearest (up to double rounding, 2^-29 times smaller)
 * whatever the float32 rounding. Costs a second scan on such rows only.
 *
 * Distance weights (weights == DISTANCE) are 1/distance, and, as in scikit-learn,
 * when some selected point lies at distance 0 those points get weight 1 and the
 * others 0. A classifier predicts the first maximum of the class weights (smallest
 * class index on ties). With distance weights, when the two largest class sums lie
 * within their float32 error bound the sums are recomputed in double.
 */
#ifndef ML_NEIGHBORS_H
#define ML_NEIGHBORS_H

#include "ml_common.h"
#include "ml_math.h"
#include <string.h>

#define ML_NEIGHBORS_KNN_CLASSIFIER 0
#define ML_NEIGHBORS_KNN_REGRESSOR 1
#define ML_NEIGHBORS_CENTROID 2
#define ML_NEIGHBORS_LOF 3

#define ML_NEIGHBORS_EUCLIDEAN 0
#define ML_NEIGHBORS_MANHATTAN 1
#define ML_NEIGHBORS_CHEBYSHEV 2
#define ML_NEIGHBORS_MINKOWSKI 3

#define ML_NEIGHBORS_UNIFORM 0
#define ML_NEIGHBORS_DISTANCE 1

/* flags (CENTROID) */
#define ML_NEIGHBORS_F_UNIFORM_PRIORS 1 /* predict = nearest raw centroid (priors uniform) */
#define ML_NEIGHBORS_F_DECISION 2       /* decision_function / predict_proba (euclidean) */

#define ML_NEIGHBORS_SECTION_VERSION 1u
#define ML_NEIGHBORS_HEADER_BYTES 76u
#define ML_NEIGHBORS_MAX_POINTS 16777216 /* 2^24: indices kept exactly in float scratch */
#define ML_NEIGHBORS_MAX_DIM 65535

typedef struct ml_neighbors {
    int32_t kind;        /* ML_NEIGHBORS_KNN_CLASSIFIER ... LOF */
    int32_t metric;      /* ML_NEIGHBORS_EUCLIDEAN ... MINKOWSKI */
    int32_t weights;     /* ML_NEIGHBORS_UNIFORM / DISTANCE (k-NN) */
    int32_t n_features;
    int32_t n_points;    /* training points (k-NN, LOF) or classes (CENTROID) */
    int32_t n_outputs;   /* classes, targets, or 1 (LOF) */
    int32_t k;           /* neighbours (1 for CENTROID), 1 <= k <= n_points */
    int32_t flags;       /* ML_NEIGHBORS_F_* */
    float p;             /* Minkowski p (> 0) */
    float inv_p;         /* 1/p rounded to float32 */
    float offset;        /* LOF offset_ */
    const float *points;      /* [n_points * n_features] training points / raw centroids */
    const uint16_t *labels;   /* KNN_CLASSIFIER: [n_points] class index */
    const float *targets;     /* KNN_REGRESSOR: [n_points * n_outputs] */
    const float *inv_scale;   /* CENTROID decision: [n_features] 1/within-class std (1 if 0) */
    const float *norm_points; /* CENTROID decision: [n_outputs * n_features] centroid/std */
    const float *bias;        /* CENTROID decision: [n_outputs] 2 log(prior) */
    const float *k_distance;  /* LOF: [n_points] k-distance of each training point */
    const float *lrd;         /* LOF: [n_points] local reachability density */
} ml_neighbors_t;

/* Floats of scratch the functions need: sorted list of k+1 distances and indices,
 * k doubles, n_outputs floats and n_outputs doubles. */
static inline int32_t ml_neighbors_scratch_floats(const ml_neighbors_t *m)
{
    return 2 * (m->k + 1) + 2 * m->k + 3 * m->n_outputs;
}

/* doubles kept in float scratch (memcpy: no alignment or aliasing assumption) */
static inline double ml_neighbors_ld64(const float *slot)
{
    double v;
    memcpy(&v, slot, sizeof v);
    return v;
}

static inline void ml_neighbors_st64(float *slot, double v)
{
    memcpy(slot, &v, sizeof v);
}

/* Reduced distance in float32: squared euclidean, sum |d|, max |d| or sum |d|^p. */
static inline float ml_neighbors_rdist_f32(const ml_neighbors_t *m, const float *x,
                                           const float *y)
{
    const int32_t n = m->n_features;
    float acc = 0.0f;
    switch (m->metric) {
    case ML_NEIGHBORS_EUCLIDEAN:
        for (int32_t i = 0; i < n; i++) {
            const float d = x[i] - ML_READ_F32(&y[i]);
            acc += d * d;
        }
        break;
    case ML_NEIGHBORS_MANHATTAN:
        for (int32_t i = 0; i < n; i++) {
            acc += ml_fabsf(x[i] - ML_READ_F32(&y[i]));
        }
        break;
    case ML_NEIGHBORS_CHEBYSHEV:
        for (int32_t i = 0; i < n; i++) {
            const float d = ml_fabsf(x[i] - ML_READ_F32(&y[i]));
            if (!(d <= acc)) { /* NaN propagates */
                acc = d;
            }
        }
        break;
    default:
        for (int32_t i = 0; i < n; i++) {
            acc += ml_powf(ml_fabsf(x[i] - ML_READ_F32(&y[i])), m->p);
        }
        break;
    }
    return acc;
}

/* The same in double (the float32 differences are exact or nearly so in double). */
static inline double ml_neighbors_rdist_f64(const ml_neighbors_t *m, const float *x,
                                            const float *y)
{
    const int32_t n = m->n_features;
    double acc = 0.0;
    switch (m->metric) {
    case ML_NEIGHBORS_EUCLIDEAN:
        for (int32_t i = 0; i < n; i++) {
            const double d = (double)x[i] - (double)ML_READ_F32(&y[i]);
            acc += d * d;
        }
        break;
    case ML_NEIGHBORS_MANHATTAN:
        for (int32_t i = 0; i < n; i++) {
            acc += ml_fabs((double)x[i] - (double)ML_READ_F32(&y[i]));
        }
        break;
    case ML_NEIGHBORS_CHEBYSHEV:
        for (int32_t i = 0; i < n; i++) {
            const double d = ml_fabs((double)x[i] - (double)ML_READ_F32(&y[i]));
            if (!(d <= acc)) {
                acc = d;
            }
        }
        break;
    default:
        for (int32_t i = 0; i < n; i++) {
            acc += ml_pow(ml_fabs((double)x[i] - (double)ML_READ_F32(&y[i])), (double)m->p);
        }
        break;
    }
    return acc;
}

/* Distance from a reduced distance. */
static inline float ml_neighbors_dist_f32(const ml_neighbors_t *m, float rd)
{
    if (m->metric == ML_NEIGHBORS_EUCLIDEAN) {
        return ml_sqrtf(rd);
    }
    if (m->metric == ML_NEIGHBORS_MINKOWSKI) {
        return ml_powf(rd, m->inv_p);
    }
    return rd;
}

static inline double ml_neighbors_dist_f64(const ml_neighbors_t *m, double rd)
{
    if (m->metric == ML_NEIGHBORS_EUCLIDEAN) {
        return ml_sqrt(rd);
    }
    if (m->metric == ML_NEIGHBORS_MINKOWSKI) {
        return ml_pow(rd, ml_div(1.0, (double)m->p));
    }
    return rd;
}

#define ML_NEIGHBORS_U 5.9604645e-08f /* 2^-24, float32 unit roundoff */

/* Relative error bound e of ml_neighbors_rdist_f32 (first order, with 1/16 slack for the
 * higher-order terms; n_features <= 65535): a difference rounds once (u), a square
 * twice more (2u), |d|^p by (1+u)^p and ml_powf's own error (<= 2 ulp = 4u, ml_math.h), and
 * a sequential sum of n non-negative terms by (n-1)u. */
static inline float ml_neighbors_rel_err(const ml_neighbors_t *m)
{
    const float n = (float)m->n_features;
    float c;
    switch (m->metric) {
    case ML_NEIGHBORS_EUCLIDEAN: c = n + 3.0f; break;
    case ML_NEIGHBORS_MANHATTAN: c = n + 1.0f; break;
    case ML_NEIGHBORS_CHEBYSHEV: c = 2.0f; break;
    default: c = n + m->p + 5.0f; break;
    }
    return c * ML_NEIGHBORS_U * 1.0625f;
}

/* Absolute error bound a: underflowing terms (also with flush-to-zero), 2^-125 each. */
static inline float ml_neighbors_abs_err(const ml_neighbors_t *m)
{
    return (float)m->n_features * 2.3509887e-38f;
}

/* Insert (d, j) into the sorted list (dist, idx) of *cnt <= cap entries; j is larger than
 * every index already in the list, so equal distances keep the smaller index first. */
static inline void ml_neighbors_insert(float *dist, float *idx, int32_t *cnt, int32_t cap,
                                       float d, int32_t j)
{
    int32_t pos = *cnt;
    if (pos == cap) {
        if (!(d < dist[cap - 1])) {
            return;
        }
        pos = cap - 1;
    } else {
        *cnt = pos + 1;
    }
    while (pos > 0 && d < dist[pos - 1]) {
        dist[pos] = dist[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
    }
    dist[pos] = d;
    idx[pos] = (float)j;
}

static inline void ml_neighbors_insert64(float *dist64, float *idx, int32_t *cnt,
                                         int32_t cap, double d, int32_t j)
{
    int32_t pos = *cnt;
    if (pos == cap) {
        if (!(d < ml_neighbors_ld64(dist64 + 2 * (cap - 1)))) {
            return;
        }
        pos = cap - 1;
    } else {
        *cnt = pos + 1;
    }
    while (pos > 0 && d < ml_neighbors_ld64(dist64 + 2 * (pos - 1))) {
        memcpy(dist64 + 2 * pos, dist64 + 2 * (pos - 1), sizeof(double));
        idx[pos] = idx[pos - 1];
        pos--;
    }
    ml_neighbors_st64(dist64 + 2 * pos, d);
    idx[pos] = (float)j;
}

/* Select the k (= m->k) nearest points of x. On return idx[0..k-1] holds their indices
 * (as floats, exact below 2^24) and rd[0..k-1] their reduced distances (float32 of the
 * double recomputation when it was needed), in (distance, index) order. rd and idx hold
 * k + 1 floats each, rd64 2k floats. Returns 1 when the double pass ran, else 0. */
static inline int32_t ml_neighbors_select(const ml_neighbors_t *m, const float *x, float *rd,
                                          float *idx, float *rd64)
{
    const int32_t k = m->k;
    const int32_t cap = k < m->n_points ? k + 1 : k;
    const int32_t nf = m->n_features;
    int32_t cnt = 0;
    for (int32_t j = 0; j < m->n_points; j++) {
        const float d = ml_neighbors_rdist_f32(m, x, m->points + (size_t)j * (size_t)nf);
        ml_neighbors_insert(rd, idx, &cnt, cap, d, j);
    }
    if (cap == k) {
        return 0; /* every point is selected */
    }
    const float e = ml_neighbors_rel_err(m);
    const float a = ml_neighbors_abs_err(m);
    /* a point whose float32 distance exceeds t is farther than each of the k selected */
    const float t = ((rd[k - 1] + a) * ml_divf(1.0f + e, 1.0f - e) + a) * (1.0f + 4.0f * ML_NEIGHBORS_U);
    if (!(rd[k] <= t)) {
        return 0;
    }
    cnt = 0;
    for (int32_t i = 0; i < k; i++) {
        ml_neighbors_st64(rd64 + 2 * i, (double)rd[i]); /* only read if NaN points */
    }
    for (int32_t j = 0; j < m->n_points; j++) {
        const float *y = m->points + (size_t)j * (size_t)nf;
        if (ml_neighbors_rdist_f32(m, x, y) <= t) {
            ml_neighbors_insert64(rd64, idx, &cnt, k, ml_neighbors_rdist_f64(m, x, y), j);
        }
    }
    for (int32_t i = 0; i < k; i++) {
        rd[i] = (float)ml_neighbors_ld64(rd64 + 2 * i);
    }
    return 1;
}

/* Number of selected points at distance 0 (scikit-learn's rule for distance weights). */
static inline int32_t ml_neighbors_zeros(const float *rd, int32_t k)
{
    int32_t z = 0;
    for (int32_t i = 0; i < k; i++) {
        z += rd[i] == 0.0f ? 1 : 0;
    }
    return z;
}

/* Weight of selected point i: 1 (uniform), 1/distance, or the zero-distance rule. */
static inline float ml_neighbors_weight(const ml_neighbors_t *m, const float *rd, int32_t i,
                                        int32_t zeros)
{
    if (m->weights == ML_NEIGHBORS_UNIFORM) {
        return 1.0f;
    }
    if (zeros > 0) {
        return rd[i] == 0.0f ? 1.0f : 0.0f;
    }
    return ml_reciprocalf(ml_neighbors_dist_f32(m, rd[i]));
}

/* Relative error bound of a distance weight 1/dist from a float32 reduced distance:
 * e/p of the root (p = 2 for euclidean, 1 otherwise), the root itself (sqrtf exact
 * rounding; ml_powf (<= 2 ulp = 4u) with a rounded 1/p: (4 + 104/p)u for |ln rd| <= 104)
 * and the division. */
static inline float ml_neighbors_weight_err(const ml_neighbors_t *m)
{
    const float e = ml_neighbors_rel_err(m);
    switch (m->metric) {
    case ML_NEIGHBORS_EUCLIDEAN: return 0.5f * e + 2.0f * ML_NEIGHBORS_U;
    case ML_NEIGHBORS_MINKOWSKI:
        return e * m->inv_p * 1.0625f + (6.0f + 104.0f * m->inv_p) * ML_NEIGHBORS_U;
    default: return e + ML_NEIGHBORS_U;
    }
}

/* Class weight sums of the selected points: acc[c] (float32). */
static inline void ml_neighbors_votes(const ml_neighbors_t *m, const float *rd,
                                      const float *idx, float *acc)
{
    const int32_t k = m->k;
    const int32_t zeros = m->weights == ML_NEIGHBORS_DISTANCE ? ml_neighbors_zeros(rd, k) : 0;
    ml_fill_f32(acc, m->n_outputs, 0.0f);
    for (int32_t i = 0; i < k; i++) {
        acc[ML_READ_U16(&m->labels[(int32_t)idx[i]])] += ml_neighbors_weight(m, rd, i, zeros);
    }
}

/* Predicted class of a k-NN classifier (first maximum of the class weights). */
static inline int32_t ml_neighbors_knn_class(const ml_neighbors_t *m, const float *x,
                                             float *scratch)
{
    const int32_t k = m->k;
    float *rd = scratch;
    float *idx = rd + (k + 1);
    float *rd64 = idx + (k + 1);
    float *acc = rd64 + 2 * k;
    float *acc64 = acc + m->n_outputs;
    ml_neighbors_select(m, x, rd, idx, rd64);
    ml_neighbors_votes(m, rd, idx, acc);
    const int32_t best = ml_argmax_f32(acc, m->n_outputs);
    if (m->weights == ML_NEIGHBORS_UNIFORM || ml_neighbors_zeros(rd, k) > 0) {
        return best; /* integer counts: exact */
    }
    /* sums of k positive terms, each within ew: relative error <= ew + (k-1)u */
    const float es = (ml_neighbors_weight_err(m) + (float)k * ML_NEIGHBORS_U) * 1.0625f;
    int32_t close = 0;
    for (int32_t c = 0; c < m->n_outputs; c++) {
        if (c != best && acc[best] - acc[c] <= es * (acc[best] + acc[c]) * 2.0f) {
            close = 1;
        }
    }
    if (!close) {
        return best;
    }
    /* near-tie: class sums in double from double distances */
    for (int32_t c = 0; c < m->n_outputs; c++) {
        ml_neighbors_st64(acc64 + 2 * c, 0.0);
    }
    int32_t zeros = 0;
    for (int32_t i = 0; i < k; i++) {
        const int32_t j = (int32_t)idx[i];
        const double r =
            ml_neighbors_rdist_f64(m, x, m->points + (size_t)j * (size_t)m->n_features);
        ml_neighbors_st64(rd64 + 2 * i, r);
        zeros += r == 0.0 ? 1 : 0;
    }
    for (int32_t i = 0; i < k; i++) {
        const double r = ml_neighbors_ld64(rd64 + 2 * i);
        const double w = zeros > 0 ? (r == 0.0 ? 1.0 : 0.0) : ml_div(1.0, ml_neighbors_dist_f64(m, r));
        float *slot = acc64 + 2 * (int32_t)ML_READ_U16(&m->labels[(int32_t)idx[i]]);
        ml_neighbors_st64(slot, ml_neighbors_ld64(slot) + w);
    }
    int32_t b = 0;
    double bv = ml_neighbors_ld64(acc64);
    for (int32_t c = 1; c < m->n_outputs; c++) {
        const double v = ml_neighbors_ld64(acc64 + 2 * c);
        if (v > bv) {
            bv = v;
            b = c;
        }
    }
    return b;
}

/* NearestCentroid discriminant scores: out[c] = bias[c] - dist(x/std, centroid/std)^2. */
static inline void ml_neighbors_centroid_scores(const ml_neighbors_t *m, const float *x,
                                                float *out)
{
    const int32_t nf = m->n_features;
    for (int32_t c = 0; c < m->n_outputs; c++) {
        const float *y = m->norm_points + (size_t)c * (size_t)nf;
        float acc = 0.0f;
        if (m->metric == ML_NEIGHBORS_EUCLIDEAN) {
            for (int32_t i = 0; i < nf; i++) {
                const float d = x[i] * ML_READ_F32(&m->inv_scale[i]) - ML_READ_F32(&y[i]);
                acc += d * d;
            }
        } else {
            for (int32_t i = 0; i < nf; i++) {
                acc += ml_fabsf(x[i] * ML_READ_F32(&m->inv_scale[i]) - ML_READ_F32(&y[i]));
            }
            acc *= acc;
        }
        out[c] = ML_READ_F32(&m->bias[c]) - acc;
    }
}

/* ------------------------------------------------------------------------------------ */
/* The family API (see microlearn/families/README.md). */

static inline void ml_neighbors_info(const ml_neighbors_t *m, ml_info_t *info)
{
    info->task = m->kind == ML_NEIGHBORS_KNN_REGRESSOR ? ML_TASK_REGRESSOR
                 : m->kind == ML_NEIGHBORS_LOF         ? ML_TASK_OUTLIER_DETECTOR
                                                       : ML_TASK_CLASSIFIER;
    info->n_features = m->n_features;
    info->n_outputs = m->n_outputs;
    info->n_decision = 0;
    info->has_proba = m->kind == ML_NEIGHBORS_KNN_CLASSIFIER;
    info->has_score_samples = m->kind == ML_NEIGHBORS_LOF;
    if (m->kind == ML_NEIGHBORS_CENTROID && (m->flags & ML_NEIGHBORS_F_DECISION) != 0) {
        info->has_proba = 1;
        info->n_decision = m->n_outputs == 2 ? 1 : m->n_outputs;
    }
    if (m->kind == ML_NEIGHBORS_LOF) {
        info->n_decision = 1;
    }
    info->scratch_floats = ml_neighbors_scratch_floats(m);
}

/* LOF score_samples: -mean(lrd[j]) * (mean(max(dist_j, k_distance[j])) + 1e-10). */
static inline float ml_neighbors_lof_score(const ml_neighbors_t *m, const float *x,
                                           float *scratch)
{
    const int32_t k = m->k;
    float *rd = scratch;
    float *idx = rd + (k + 1);
    ml_neighbors_select(m, x, rd, idx, idx + (k + 1));
    float reach = 0.0f;
    float dens = 0.0f;
    for (int32_t i = 0; i < k; i++) {
        const int32_t j = (int32_t)idx[i];
        const float d = ml_neighbors_dist_f32(m, rd[i]);
        reach += d > ML_READ_F32(&m->k_distance[j]) ? d : ML_READ_F32(&m->k_distance[j]);
        dens += ML_READ_F32(&m->lrd[j]);
    }
    const float kf = (float)k;
    return -ml_divf(dens, kf) * (ml_divf(reach, kf) + 1e-10f);
}

/* k-NN class probabilities: class weight sums / their total. */
static inline void ml_neighbors_knn_proba(const ml_neighbors_t *m, const float *x, float *out,
                                          float *scratch)
{
    const int32_t k = m->k;
    float *rd = scratch;
    float *idx = rd + (k + 1);
    ml_neighbors_select(m, x, rd, idx, idx + (k + 1));
    ml_neighbors_votes(m, rd, idx, out);
    float total = 0.0f;
    for (int32_t c = 0; c < m->n_outputs; c++) {
        total += out[c];
    }
    for (int32_t c = 0; c < m->n_outputs; c++) {
        out[c] = ml_divf(out[c], total);
    }
}

/* NearestCentroid predict: nearest raw centroid (uniform priors) or the best score. */
static inline int32_t ml_neighbors_centroid_predict(const ml_neighbors_t *m, const float *x,
                                                    float *scratch)
{
    if ((m->flags & ML_NEIGHBORS_F_UNIFORM_PRIORS) != 0) {
        float *rd = scratch;
        float *idx = rd + (m->k + 1);
        ml_neighbors_select(m, x, rd, idx, idx + (m->k + 1));
        return (int32_t)idx[0];
    }
    ml_neighbors_centroid_scores(m, x, scratch);
    return ml_argmax_f32(scratch, m->n_outputs);
}

/* NearestCentroid predict_proba: softmax of the scores. */
static inline void ml_neighbors_centroid_proba(const ml_neighbors_t *m, const float *x,
                                               float *out)
{
    ml_neighbors_centroid_scores(m, x, out);
    const float top = out[ml_argmax_f32(out, m->n_outputs)];
    float total = 0.0f;
    for (int32_t c = 0; c < m->n_outputs; c++) {
        out[c] = ml_expf(out[c] - top);
        total += out[c];
    }
    for (int32_t c = 0; c < m->n_outputs; c++) {
        out[c] = ml_divf(out[c], total);
    }
}

/* NearestCentroid decision_function: the scores (two classes: s1 - s0). */
static inline void ml_neighbors_centroid_decision(const ml_neighbors_t *m, const float *x,
                                                  float *out, float *scratch)
{
    if (m->n_outputs == 2) {
        ml_neighbors_centroid_scores(m, x, scratch);
        out[0] = scratch[1] - scratch[0];
    } else {
        ml_neighbors_centroid_scores(m, x, out);
    }
}

/* Class index (classifier) or +1/-1 (LOF), or a negative error code. */
static inline int32_t ml_neighbors_predict(const ml_neighbors_t *m, const float *x,
                                           float *scratch)
{
    switch (m->kind) {
    case ML_NEIGHBORS_KNN_CLASSIFIER:
        return ml_neighbors_knn_class(m, x, scratch);
    case ML_NEIGHBORS_CENTROID:
        return ml_neighbors_centroid_predict(m, x, scratch);
    case ML_NEIGHBORS_LOF:
        return ml_neighbors_lof_score(m, x, scratch) - m->offset < 0.0f ? -1 : 1;
    default:
        return ML_ERR_UNSUPPORTED;
    }
}

static inline int32_t ml_neighbors_predict_proba(const ml_neighbors_t *m, const float *x,
                                                 float *out, float *scratch)
{
    if (m->kind == ML_NEIGHBORS_KNN_CLASSIFIER) {
        ml_neighbors_knn_proba(m, x, out, scratch);
        return ML_OK;
    }
    if (m->kind == ML_NEIGHBORS_CENTROID && (m->flags & ML_NEIGHBORS_F_DECISION) != 0) {
        ml_neighbors_centroid_proba(m, x, out);
        return ML_OK;
    }
    return ML_ERR_UNSUPPORTED;
}

static inline int32_t ml_neighbors_decision_function(const ml_neighbors_t *m, const float *x,
                                                     float *out, float *scratch)
{
    if (m->kind == ML_NEIGHBORS_LOF) {
        out[0] = ml_neighbors_lof_score(m, x, scratch) - m->offset;
        return ML_OK;
    }
    if (m->kind == ML_NEIGHBORS_CENTROID && (m->flags & ML_NEIGHBORS_F_DECISION) != 0) {
        ml_neighbors_centroid_decision(m, x, out, scratch);
        return ML_OK;
    }
    return ML_ERR_UNSUPPORTED;
}

static inline int32_t ml_neighbors_score_samples(const ml_neighbors_t *m, const float *x,
                                                 float *out, float *scratch)
{
    if (m->kind != ML_NEIGHBORS_LOF) {
        return ML_ERR_UNSUPPORTED;
    }
    out[0] = ml_neighbors_lof_score(m, x, scratch);
    return ML_OK;
}

/* k-NN regression: (weighted) mean of the targets of the k nearest points. */
static inline void ml_neighbors_knn_regress(const ml_neighbors_t *m, const float *x,
                                            float *out, float *scratch)
{
    const int32_t k = m->k;
    const int32_t no = m->n_outputs;
    float *rd = scratch;
    float *idx = rd + (k + 1);
    ml_neighbors_select(m, x, rd, idx, idx + (k + 1));
    const int32_t zeros = m->weights == ML_NEIGHBORS_DISTANCE ? ml_neighbors_zeros(rd, k) : 0;
    float total = 0.0f;
    ml_fill_f32(out, no, 0.0f);
    for (int32_t i = 0; i < k; i++) {
        const float w = ml_neighbors_weight(m, rd, i, zeros);
        const float *y = m->targets + (size_t)(int32_t)idx[i] * (size_t)no;
        total += w;
        for (int32_t o = 0; o < no; o++) {
            const float v = ML_READ_F32(&y[o]);
            out[o] += m->weights == ML_NEIGHBORS_UNIFORM ? v : w * v;
        }
    }
    for (int32_t o = 0; o < no; o++) {
        out[o] = ml_divf(out[o], total);
    }
}

static inline int32_t ml_neighbors_regress(const ml_neighbors_t *m, const float *x, float *out,
                                           float *scratch)
{
    if (m->kind != ML_NEIGHBORS_KNN_REGRESSOR) {
        return ML_ERR_UNSUPPORTED;
    }
    ml_neighbors_knn_regress(m, x, out, scratch);
    return ML_OK;
}

ML_DEFINE_UNSUPPORTED(neighbors, transform)

/* ------------------------------------------------------------------------------------ */
/* Model-file section (docs/families/neighbors.md):
 *   u32 version (1), kind, metric, weights, n_features, n_points, n_outputs, k, flags,
 *   f32 p, f32 offset, then u32 offsets (0: absent) of the tables
 *   points, labels, targets, inv_scale, norm_points, bias, k_distance, lrd
 * (76 bytes), tables 4-byte aligned, offsets from the section start. */

/* 1 when the table at off holds count entries of width bytes inside the section. */
static inline int ml_neighbors_table_ok(uint32_t off, uint64_t count, uint32_t width,
                                        uint32_t size)
{
    return off >= ML_NEIGHBORS_HEADER_BYTES && off % 4u == 0u && off <= size &&
           count * (uint64_t)width <= (uint64_t)(size - off);
}

static inline int ml_neighbors_finite(float v)
{
    return v - v == 0.0f; /* false for inf and NaN */
}

#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_neighbors_from_section(ml_neighbors_t *m, const uint8_t *sec,
                                                uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_neighbors_from_section(ml_neighbors_t *m, const uint8_t *sec,
                                                uint32_t size)
{
    if (m == NULL || sec == NULL) {
        return ML_ERR_NULL;
    }
    memset(m, 0, sizeof *m);
    if (((uintptr_t)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    if (size < ML_NEIGHBORS_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (ml_rd_u32(sec) != ML_NEIGHBORS_SECTION_VERSION) {
        return ML_ERR_VERSION;
    }
    const uint32_t kind = ml_rd_u32(sec + 4);
    const uint32_t metric = ml_rd_u32(sec + 8);
    const uint32_t weights = ml_rd_u32(sec + 12);
    const uint32_t nf = ml_rd_u32(sec + 16);
    const uint32_t np = ml_rd_u32(sec + 20);
    const uint32_t no = ml_rd_u32(sec + 24);
    const uint32_t k = ml_rd_u32(sec + 28);
    const uint32_t flags = ml_rd_u32(sec + 32);
    const float p = ml_rd_f32(sec + 36);
    const float offset = ml_rd_f32(sec + 40);
    uint32_t off[8];
    for (uint32_t i = 0; i < 8u; i++) {
        off[i] = ml_rd_u32(sec + 44 + 4u * i);
    }
    int ok = kind <= 3u && metric <= 3u && weights <= 1u && flags <= 3u && nf >= 1u &&
             nf <= (uint32_t)ML_NEIGHBORS_MAX_DIM && np >= 1u &&
             np <= (uint32_t)ML_NEIGHBORS_MAX_POINTS && no >= 1u &&
             no <= (uint32_t)ML_NEIGHBORS_MAX_DIM && k >= 1u && k <= np &&
             k <= (uint32_t)ML_NEIGHBORS_MAX_DIM && ml_neighbors_finite(offset) &&
             ml_neighbors_table_ok(off[0], (uint64_t)np * nf, 4u, size);
    if (ok && metric == (uint32_t)ML_NEIGHBORS_MINKOWSKI) {
        ok = ml_neighbors_finite(p) && p > 0.0f && ml_neighbors_finite(ml_reciprocalf(p));
    }
    if (ok) {
        switch (kind) {
        case ML_NEIGHBORS_KNN_CLASSIFIER:
            ok = ml_neighbors_table_ok(off[1], np, 2u, size);
            break;
        case ML_NEIGHBORS_KNN_REGRESSOR:
            ok = ml_neighbors_table_ok(off[2], (uint64_t)np * no, 4u, size);
            break;
        case ML_NEIGHBORS_CENTROID:
            ok = np == no && k == 1u &&
                 (metric == (uint32_t)ML_NEIGHBORS_EUCLIDEAN ||
                  metric == (uint32_t)ML_NEIGHBORS_MANHATTAN) &&
                 ml_neighbors_table_ok(off[3], nf, 4u, size) &&
                 ml_neighbors_table_ok(off[4], (uint64_t)no * nf, 4u, size) &&
                 ml_neighbors_table_ok(off[5], no, 4u, size);
            break;
        default: /* LOF */
            ok = no == 1u && ml_neighbors_table_ok(off[6], np, 4u, size) &&
                 ml_neighbors_table_ok(off[7], np, 4u, size);
            break;
        }
    }
    if (ok && kind == (uint32_t)ML_NEIGHBORS_KNN_CLASSIFIER) {
        const uint8_t *lab = sec + off[1];
        for (uint32_t i = 0; i < np && ok; i++) {
            ok = ml_rd_u16(lab + 2u * i) < no;
        }
    }
    if (!ok) {
        return ML_ERR_MODEL;
    }
    m->kind = (int32_t)kind;
    m->metric = (int32_t)metric;
    m->weights = (int32_t)weights;
    m->n_features = (int32_t)nf;
    m->n_points = (int32_t)np;
    m->n_outputs = (int32_t)no;
    m->k = (int32_t)k;
    m->flags = (int32_t)flags;
    m->p = metric == (uint32_t)ML_NEIGHBORS_MINKOWSKI ? p : 2.0f;
    m->inv_p = ml_reciprocalf(m->p);
    m->offset = offset;
    m->points = (const float *)(const void *)(sec + off[0]);
    switch (kind) {
    case ML_NEIGHBORS_KNN_CLASSIFIER:
        m->labels = (const uint16_t *)(const void *)(sec + off[1]);
        break;
    case ML_NEIGHBORS_KNN_REGRESSOR:
        m->targets = (const float *)(const void *)(sec + off[2]);
        break;
    case ML_NEIGHBORS_CENTROID:
        m->inv_scale = (const float *)(const void *)(sec + off[3]);
        m->norm_points = (const float *)(const void *)(sec + off[4]);
        m->bias = (const float *)(const void *)(sec + off[5]);
        break;
    default:
        m->k_distance = (const float *)(const void *)(sec + off[6]);
        m->lrd = (const float *)(const void *)(sec + off[7]);
        break;
    }
    return ML_OK;
}
#endif /* __AVR__ */

#endif /* ML_NEIGHBORS_H */
