/* Hand-written fixture following the generated-header contract: one feature, two
 * classes, class 1 when x > 0.5 (NaN: class 1, as "x <= 0.5" is false). */
#ifndef THR_MODEL_H
#define THR_MODEL_H
#include <math.h>
#include <stdint.h>

#define thr_N_FEATURES 1
#define thr_N_OUTPUTS 2
#define thr_TASK 0

static inline int32_t thr_predict(const float *features, int32_t n_features)
{
    if (n_features != thr_N_FEATURES) {
        return -1;
    }
    return features[0] <= 0.5f ? 0 : 1;
}

static inline int32_t thr_predict_proba(const float *features, int32_t n_features, float *out,
                                        int32_t n_out)
{
    int32_t c = thr_predict(features, n_features);
    if (c < 0) {
        return c;
    }
    if (n_out != thr_N_OUTPUTS) {
        return -2;
    }
    out[0] = c == 0 ? 1.0f : 0.0f;
    out[1] = c == 0 ? 0.0f : 1.0f;
    return 0;
}
#endif
