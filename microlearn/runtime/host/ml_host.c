/* ml_host.c - batch entry points used by microlearn's Python host build.
 *
 * Compiled (never on a device) together with a generated model header named model.h,
 * with -DMLHOST_PREFIX=<the model's name> and -DMLHOST_HAS_<method> for each public
 * function the model has (predict, predict_proba, decision_function, score_samples,
 * regress, transform). Python calls these through ctypes once per batch of rows, so the
 * per-row cost is one C function call.
 */
#include "model.h"

#define MLH_CAT2(a, b) a##_##b
#define MLH_CAT(a, b) MLH_CAT2(a, b)
#define MLH(x) MLH_CAT(MLHOST_PREFIX, x)

#if defined(__GNUC__)
#define MLH_EXPORT __attribute__((visibility("default")))
#else
#define MLH_EXPORT
#endif

MLH_EXPORT int32_t mlhost_n_features(void);
MLH_EXPORT int32_t mlhost_n_outputs(void);
int32_t mlhost_n_features(void) { return MLH(N_FEATURES); }
int32_t mlhost_n_outputs(void) { return MLH(N_OUTPUTS); }

#ifdef MLHOST_HAS_predict
MLH_EXPORT int32_t mlhost_predict(const float *X, int64_t n_rows, int32_t n_features, int32_t *out);

/* out[i] = predict(row i): class index or +1/-1. Returns 0 or the first negative error
 * code (an outlier detector's -1 is a result, not an error). */
int32_t mlhost_predict(const float *X, int64_t n_rows, int32_t n_features, int32_t *out)
{
    for (int64_t i = 0; i < n_rows; i++) {
        const int32_t r = MLH(predict)(X + i * n_features, n_features);
        if (MLH(TASK) == ML_TASK_OUTLIER_DETECTOR ? r == 0 : r < 0) {
            return r == 0 ? ML_ERR_MODEL : r; /* outlier detectors: 0 is the error */
        }
        out[i] = r;
    }
    return 0;
}
#endif

#ifdef MLHOST_HAS_score_samples
MLH_EXPORT int32_t mlhost_score_samples(const float *X, int64_t n_rows, int32_t n_features,
                                        float *out, int32_t n_out);

int32_t mlhost_score_samples(const float *X, int64_t n_rows, int32_t n_features, float *out,
                             int32_t n_out)
{
    (void)n_out;
    for (int64_t i = 0; i < n_rows; i++) {
        out[i] = MLH(score_samples)(X + i * n_features, n_features);
    }
    return 0;
}
#endif

/* out[i * n_out ...] = METHOD(row i). Returns 0 or the first negative error code. */
#define MLH_BATCH(METHOD)                                                              \
    MLH_EXPORT int32_t mlhost_##METHOD(const float *X, int64_t n_rows, int32_t n_features, \
                                       float *out, int32_t n_out);                     \
    int32_t mlhost_##METHOD(const float *X, int64_t n_rows, int32_t n_features, float *out, \
                            int32_t n_out)                                             \
    {                                                                                  \
        for (int64_t i = 0; i < n_rows; i++) {                                         \
            const int32_t r = MLH(METHOD)(X + i * n_features, n_features, out + i * n_out, \
                                          n_out);                                      \
            if (r < 0) {                                                               \
                return r;                                                              \
            }                                                                          \
        }                                                                              \
        return 0;                                                                      \
    }

#ifdef MLHOST_HAS_predict_proba
MLH_BATCH(predict_proba)
#endif
#ifdef MLHOST_HAS_decision_function
MLH_BATCH(decision_function)
#endif
#ifdef MLHOST_HAS_regress
MLH_BATCH(regress)
#endif
#ifdef MLHOST_HAS_transform
MLH_BATCH(transform)
#endif

/* The integer entry of an int8 net (MLHOST_INT_VALUES = predict_proba or regress; with
 * MLHOST_INT_CLASS also predict): batches of int8 / int16 rows, as above. */
#ifdef MLHOST_INT_VALUES
#define MLH_INT(M, S) MLH_CAT(MLH_CAT(MLHOST_PREFIX, M), S)
#define MLH_INT_BATCH(S, T)                                                            \
    MLH_EXPORT int32_t mlhost_values_##S(const T *X, int64_t n_rows, int32_t n_features, \
                                         float *out, int32_t n_out);                   \
    int32_t mlhost_values_##S(const T *X, int64_t n_rows, int32_t n_features, float *out, \
                              int32_t n_out)                                           \
    {                                                                                  \
        for (int64_t i = 0; i < n_rows; i++) {                                         \
            const int32_t r = MLH_INT(MLHOST_INT_VALUES, S)(X + i * n_features, n_features, \
                                                           out + i * n_out, n_out);    \
            if (r < 0) {                                                               \
                return r;                                                              \
            }                                                                          \
        }                                                                              \
        return 0;                                                                      \
    }
MLH_INT_BATCH(i8, int8_t)
MLH_INT_BATCH(i16, int16_t)
#ifdef MLHOST_INT_CLASS
#define MLH_INT_PREDICT(S, T)                                                          \
    MLH_EXPORT int32_t mlhost_predict_##S(const T *X, int64_t n_rows, int32_t n_features, \
                                          int32_t *out);                               \
    int32_t mlhost_predict_##S(const T *X, int64_t n_rows, int32_t n_features, int32_t *out) \
    {                                                                                  \
        for (int64_t i = 0; i < n_rows; i++) {                                         \
            const int32_t r = MLH_INT(predict, S)(X + i * n_features, n_features);     \
            if (r < 0) {                                                               \
                return r;                                                              \
            }                                                                          \
            out[i] = r;                                                                \
        }                                                                              \
        return 0;                                                                      \
    }
MLH_INT_PREDICT(i8, int8_t)
MLH_INT_PREDICT(i16, int16_t)
#endif
#endif
