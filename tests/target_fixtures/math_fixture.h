/* Hand-written fixture following the generated-header contract: a "regressor" that
 * evaluates microlearn's own float32 elementary functions (runtime/ml_math.h), to check
 * that the device computes the same bits as the host and to count their instructions.
 *
 * MF_SELECT (define it before this header; default 0) chooses what regress computes,
 * out[] = {a, b, c, d}, unused outputs 0:
 *   0: {exp(x0), log(x1), sqrt(x2), tanh(x3)}
 *   8: {pow(x0, x1), x2 / x3, 1 / x0, powi(x1, 5)}
 *   1: exp(x0)  2: log(x0)  3: sqrt(x0)  4: tanh(x0)  5: pow(x0, x1)  6: 1 / x0
 *   7: x0 (nothing computed: the harness's own cost)
 * The twin math_libm_fixture.h computes the same with <math.h> (newlib's libm). When the
 * header text is given to microlearn.targets.measure, prepend the text of ml_math.h
 * (microlearn.codegen.runtime_source("ml_math.h")); with -I microlearn/runtime it also
 * compiles on its own. */
#ifndef MF_MODEL_H
#define MF_MODEL_H
#include <stdint.h>
#ifndef ML_MATH_H
#include "ml_math.h"
#endif

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
    out[0] = ml_expf(x[0]);
    out[1] = ml_logf(x[1]);
    out[2] = ml_sqrtf(x[2]);
    out[3] = ml_tanhf(x[3]);
#elif MF_SELECT == 8
    out[0] = ml_powf(x[0], x[1]);
    out[1] = ml_divf(x[2], x[3]);
    out[2] = ml_reciprocalf(x[0]);
    out[3] = ml_powif(x[1], 5);
#elif MF_SELECT == 1
    out[0] = ml_expf(x[0]);
#elif MF_SELECT == 2
    out[0] = ml_logf(x[0]);
#elif MF_SELECT == 3
    out[0] = ml_sqrtf(x[0]);
#elif MF_SELECT == 4
    out[0] = ml_tanhf(x[0]);
#elif MF_SELECT == 5
    out[0] = ml_powf(x[0], x[1]);
#elif MF_SELECT == 6
    out[0] = ml_reciprocalf(x[0]);
#else
    out[0] = x[0];
#endif
    return 0;
}
#endif
