/* Hand-written fixture: the twin of math_fixture.h computing the same with <math.h>
 * (the target's C library: newlib's libm on the Arm targets), to compare instruction
 * counts (and, for information, results) with microlearn's ml_math.h.
 * MF_SELECT as in math_fixture.h (8: powi(x1, 5) is x1^5 by powf). */
#ifndef MF_MODEL_H
#define MF_MODEL_H
#include <math.h>
#include <stdint.h>

#ifndef MF_SELECT
#define MF_SELECT 0
#endif

#define mf_N_FEATURES 4
#define mf_N_OUTPUTS 4
#define mf_TASK 1

static inline int32_t mf_regress(const float *x, int32_t n_features, float *out,
                                 int32_t n_out)
{
    if (n_features != mf_N_FEATURES || n_out != mf_N_OUTPUTS) {
        return -1;
    }
    out[1] = 0.0f;
    out[2] = 0.0f;
    out[3] = 0.0f;
#if MF_SELECT == 0
    out[0] = expf(x[0]);
    out[1] = logf(x[1]);
    out[2] = sqrtf(x[2]);
    out[3] = tanhf(x[3]);
#elif MF_SELECT == 8
    out[0] = powf(x[0], x[1]);
    out[1] = x[2] / x[3];
    out[2] = 1.0f / x[0];
    out[3] = powf(x[1], 5.0f);
#elif MF_SELECT == 1
    out[0] = expf(x[0]);
#elif MF_SELECT == 2
    out[0] = logf(x[0]);
#elif MF_SELECT == 3
    out[0] = sqrtf(x[0]);
#elif MF_SELECT == 4
    out[0] = tanhf(x[0]);
#elif MF_SELECT == 5
    out[0] = powf(x[0], x[1]);
#elif MF_SELECT == 6
    out[0] = 1.0f / x[0];
#else
    out[0] = x[0];
#endif
    return 0;
}
#endif
