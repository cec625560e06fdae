/* Hand-written fixture following the generated-header contract: two features, two
 * outputs: out0 = 2*x0 + x1, out1 = x0 <= 0.25 ? -1.5 : sqrt(|x1|) (float32). */
#ifndef REG2_MODEL_H
#define REG2_MODEL_H
#include <math.h>
#include <stdint.h>

#define reg2_N_FEATURES 2
#define reg2_N_OUTPUTS 2
#define reg2_TASK 1

static inline int32_t reg2_regress(const float *features, int32_t n_features, float *out,
                                   int32_t n_out)
{
    if (n_features != reg2_N_FEATURES) {
        return -1;
    }
    if (n_out != reg2_N_OUTPUTS) {
        return -2;
    }
    out[0] = 2.0f * features[0] + features[1];
    out[1] = features[0] <= 0.25f ? -1.5f : sqrtf(fabsf(features[1]));
    return 0;
}
#endif
