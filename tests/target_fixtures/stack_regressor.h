/* Hand-written fixture following the generated-header contract: one feature, one
 * output, with a 200-float (800-byte) buffer on the stack: a model whose stack use is
 * known to be at least 800 bytes. out = x * 199 (float32). */
#ifndef STK_MODEL_H
#define STK_MODEL_H
#include <math.h>
#include <stdint.h>

#define stk_N_FEATURES 1
#define stk_N_OUTPUTS 1
#define stk_TASK 1

static inline int32_t stk_regress(const float *features, int32_t n_features, float *out,
                                  int32_t n_out)
{
    volatile float buf[200];
    int32_t i;
    if (n_features != stk_N_FEATURES || n_out != stk_N_OUTPUTS) {
        return -1;
    }
    for (i = 0; i < 200; i++) {
        buf[i] = features[0] * (float)i;
    }
    out[0] = buf[199];
    return 0;
}

static inline float stk_regress1(const float *features, int32_t n_features)
{
    float y;
    return stk_regress(features, n_features, &y, 1) == 0 ? y : NAN;
}
#endif
