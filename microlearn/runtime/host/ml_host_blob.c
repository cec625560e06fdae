/* ml_host_blob.c - host entry points for running a model blob through the C
 * blob loader (ml_blob.h) and the table-driven engine. Used by the tests to
 * verify blobs; not for devices. */
#include <math.h>
#include "../ml_blob.h"

#if defined(__GNUC__)
#define MLH_EXPORT __attribute__((visibility("default")))
#else
#define MLH_EXPORT
#endif

MLH_EXPORT int32_t mlhost_blob_load(const void *blob, int64_t size);
MLH_EXPORT int32_t mlhost_blob_run(const void *blob, int64_t size, const float *X, int64_t n_rows,
                                   int32_t n_features, float *out, int32_t n_out, int32_t *cls);

/* Validate a blob: ML_OK or the loader's error code. */
int32_t mlhost_blob_load(const void *blob, int64_t size)
{
    ml_trees_t m;
    return ml_trees_from_blob(&m, blob, (size_t)size);
}

/* Load the blob, then for every row: out[i, :] = ensemble output and, for a
 * classifier, cls[i] = argmax. Returns ML_OK or the first error code. */
int32_t mlhost_blob_run(const void *blob, int64_t size, const float *X, int64_t n_rows,
                        int32_t n_features, float *out, int32_t n_out, int32_t *cls)
{
    ml_trees_t m;
    const int32_t status = ml_trees_from_blob(&m, blob, (size_t)size);
    if (status != ML_OK) {
        return status;
    }
    if (n_features != m.n_features) {
        return ML_ERR_N_FEATURES;
    }
    if (n_out < m.n_outputs) {
        return ML_ERR_N_OUT;
    }
    for (int64_t i = 0; i < n_rows; i++) {
        float *o = out + i * n_out;
        /* the class is the first maximum of the sum (as the module's predict), the
         * outputs are the mean */
        const int32_t r = ml_trees_sum(&m, X + i * n_features, o);
        if (r != ML_OK) {
            return r;
        }
        if (ml_trees_is_classifier(&m)) {
            cls[i] = ml_argmax_f32(o, m.n_outputs);
        }
        ml_trees_finish(&m, o);
    }
    return ML_OK;
}
