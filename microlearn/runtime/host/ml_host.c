/* ml_host.c - batch entry points used by microlearn's Python host build.
 *
 * Compiled (never on a device) together with a generated model header named
 * model.h, with -DMLHOST_PREFIX=<the model's name>. Python calls these through
 * ctypes once per batch of rows, so the per-row cost is one C function call.
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
MLH_EXPORT int32_t mlhost_is_classifier(void);

int32_t mlhost_n_features(void) { return MLH(N_FEATURES); }
int32_t mlhost_n_outputs(void) { return MLH(N_OUTPUTS); }
int32_t mlhost_is_classifier(void) { return MLH(IS_CLASSIFIER); }

#if MLH(IS_CLASSIFIER)
MLH_EXPORT int32_t mlhost_predict(const float *X, int64_t n_rows, int32_t n_features, int32_t *out);
MLH_EXPORT int32_t mlhost_predict_proba(const float *X, int64_t n_rows, int32_t n_features,
                                        float *out, int32_t n_out);

/* out[i] = class index of row i. Returns 0 or the first negative error code. */
int32_t mlhost_predict(const float *X, int64_t n_rows, int32_t n_features, int32_t *out)
{
    for (int64_t i = 0; i < n_rows; i++) {
        const int32_t r = MLH(predict)(X + i * n_features, n_features);
        if (r < 0) {
            return r;
        }
        out[i] = r;
    }
    return 0;
}

/* out[i * n_out + c] = probability of class c for row i. */
int32_t mlhost_predict_proba(const float *X, int64_t n_rows, int32_t n_features,
                             float *out, int32_t n_out)
{
    for (int64_t i = 0; i < n_rows; i++) {
        const int32_t r = MLH(predict_proba)(X + i * n_features, n_features, out + i * n_out, n_out);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}
#else
MLH_EXPORT int32_t mlhost_regress(const float *X, int64_t n_rows, int32_t n_features,
                                  float *out, int32_t n_out);

/* out[i * n_out + k] = regression output k for row i. */
int32_t mlhost_regress(const float *X, int64_t n_rows, int32_t n_features, float *out, int32_t n_out)
{
    for (int64_t i = 0; i < n_rows; i++) {
        const int32_t r = MLH(regress)(X + i * n_features, n_features, out + i * n_out, n_out);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}
#endif
