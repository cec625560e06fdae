/* host_runner.c - run a model file on the host with the C runtime (ml_model.h), for
 * `microlearn device run`: the host side of the device-vs-host comparison runs the very file
 * installed on the device. Caller-owned model struct and scratch (no globals, no malloc). */
#include "ml_model.h"

#if defined(__GNUC__)
#define MLDEV_EXPORT __attribute__((visibility("default")))
#else
#define MLDEV_EXPORT
#endif

MLDEV_EXPORT int64_t mldev_model_size(void);
MLDEV_EXPORT int32_t mldev_load(void *model, const void *blob, int64_t size, int32_t *info);
MLDEV_EXPORT int32_t mldev_run(const void *model, int32_t method, const float *X,
                               int64_t n_rows, float *out, int32_t n_out, int32_t *cls,
                               float *scratch);

/* Bytes the caller allocates for the ml_model_t handed to mldev_load / mldev_run. */
int64_t mldev_model_size(void)
{
    return (int64_t)sizeof(ml_model_t);
}

/* Load (validate) a blob into *model; info[0..4] = task, n_features, n_outputs, n_decision,
 * scratch floats. ML_OK or the loader's error code. The blob must outlive *model. */
int32_t mldev_load(void *model, const void *blob, int64_t size, int32_t *info)
{
    ml_model_t *m = (ml_model_t *)model;
    const int32_t status = ml_model_load(m, blob, (size_t)size);
    if (status == ML_OK) {
        info[0] = m->info.task;
        info[1] = m->info.n_features;
        info[2] = m->info.n_outputs;
        info[3] = m->info.n_decision;
        info[4] = ml_model_scratch_floats(m);
    }
    return status;
}

/* For every row of X (n_rows x n_features): method 0 predict (cls[i]), 1 predict_proba,
 * 2 decision_function, 3 score_samples, 4 regress, 5 transform (out[i * n_out ...]).
 * ML_OK or the first error code. */
int32_t mldev_run(const void *model, int32_t method, const float *X, int64_t n_rows,
                  float *out, int32_t n_out, int32_t *cls, float *scratch)
{
    const ml_model_t *m = (const ml_model_t *)model;
    int32_t status = ML_OK;
    for (int64_t i = 0; i < n_rows; i++) {
        const float *x = X + i * m->info.n_features;
        float *o = out + i * n_out;
        switch (method) {
        case 0: cls[i] = ml_model_predict(m, x, scratch); break;
        case 1: status = ml_model_predict_proba(m, x, o, scratch); break;
        case 2: status = ml_model_decision_function(m, x, o, scratch); break;
        case 3: status = ml_model_score_samples(m, x, o, scratch); break;
        case 4: status = ml_model_regress(m, x, o, scratch); break;
        case 5: status = ml_model_transform(m, x, o, scratch); break;
        default: return ML_ERR_UNSUPPORTED;
        }
        if (status < 0) {
            return status;
        }
    }
    return ML_OK;
}
