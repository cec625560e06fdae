/* ml_host_blob.c - test tooling (not shipped): run a model file through the C loader and
 * dispatcher (ml_model.h) on the host, for every row of a batch. */
#include <math.h>
#include "ml_model.h"

#if defined(__GNUC__)
#define MLH_EXPORT __attribute__((visibility("default")))
#else
#define MLH_EXPORT
#endif

MLH_EXPORT int32_t mlhost_blob_load(const void *blob, int64_t size, int32_t *info);
MLH_EXPORT int32_t mlhost_blob_run(const void *blob, int64_t size, int32_t method,
                                   const float *X, int64_t n_rows, int32_t n_features,
                                   float *out, int32_t n_out, int32_t *cls);

/* Validate a blob: ML_OK or the loader's error code; info[0..7] = task, n_features,
 * n_outputs, n_decision, has_proba, has_score_samples, scratch floats, n_steps. */
int32_t mlhost_blob_load(const void *blob, int64_t size, int32_t *info)
{
    ml_model_t m;
    const int32_t status = ml_model_load(&m, blob, (size_t)size);
    if (status == ML_OK && info != NULL) {
        info[0] = m.info.task;
        info[1] = m.info.n_features;
        info[2] = m.info.n_outputs;
        info[3] = m.info.n_decision;
        info[4] = m.info.has_proba;
        info[5] = m.info.has_score_samples;
        info[6] = ml_model_scratch_floats(&m);
        info[7] = m.n_steps;
    }
    return status;
}

/* Load the blob, then for every row: method 0 predict (cls[i]), 1 predict_proba,
 * 2 decision_function, 3 score_samples, 4 regress, 5 transform (out[i, :n_out]).
 * Returns ML_OK or the first error code. */
int32_t mlhost_blob_run(const void *blob, int64_t size, int32_t method, const float *X,
                        int64_t n_rows, int32_t n_features, float *out, int32_t n_out,
                        int32_t *cls)
{
    static ml_model_t m; /* test tooling: large with many families; not reentrant */
    static float scratch[1 << 16];
    int32_t status = ml_model_load(&m, blob, (size_t)size);
    if (status != ML_OK) {
        return status;
    }
    if (n_features != m.info.n_features) {
        return ML_ERR_N_FEATURES;
    }
    if (ml_model_scratch_floats(&m) > (int32_t)(sizeof scratch / sizeof scratch[0])) {
        return ML_ERR_N_OUT;
    }
    for (int64_t i = 0; i < n_rows; i++) {
        const float *x = X + i * n_features;
        float *o = out + i * n_out;
        switch (method) {
        case 0: cls[i] = ml_model_predict(&m, x, scratch); status = ML_OK; break;
        case 1: status = ml_model_predict_proba(&m, x, o, scratch); break;
        case 2: status = ml_model_decision_function(&m, x, o, scratch); break;
        case 3: status = ml_model_score_samples(&m, x, o, scratch); break;
        case 4: status = ml_model_regress(&m, x, o, scratch); break;
        case 5: status = ml_model_transform(&m, x, o, scratch); break;
        default: return ML_ERR_UNSUPPORTED;
        }
        if (status != ML_OK) {
            return status;
        }
    }
    return ML_OK;
}
