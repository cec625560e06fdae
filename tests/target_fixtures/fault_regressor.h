/* Hand-written fixture: a broken model that executes a trap instruction when its input
 * is above 100, to check that a fault on the target is reported as an error. */
#ifndef BAD_MODEL_H
#define BAD_MODEL_H
#include <math.h>
#include <stdint.h>

#define bad_N_FEATURES 1
#define bad_N_OUTPUTS 1
#define bad_TASK 1

static inline int32_t bad_regress(const float *features, int32_t n_features, float *out,
                                  int32_t n_out)
{
    if (n_features != bad_N_FEATURES || n_out != bad_N_OUTPUTS) {
        return -1;
    }
    if (features[0] > 100.0f) {
        __builtin_trap();
    }
    out[0] = features[0];
    return 0;
}
#endif
