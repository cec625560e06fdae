/* ml_common.h - microlearn C runtime: error codes and small shared helpers.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence).
 * Rules for every runtime header:
 *   - no dynamic allocation, no global mutable state, reentrant;
 *   - every function is `static inline`, so any number of .c files may include
 *     these headers (and several generated models) in one firmware;
 *   - caller-owned buffers; errors are returned as negative int32_t codes.
 * Compiles with -std=c99 -Wall -Wextra -Wpedantic -Wconversion
 * -Wdouble-promotion -Werror (gcc, clang, arm-none-eabi-gcc) and as C++.
 */
#ifndef ML_COMMON_H
#define ML_COMMON_H

#include <stdint.h>
#include <stddef.h>

/* Error codes: every function that can fail returns 0 (ML_OK) or one of these. */
#define ML_OK                 0
#define ML_ERR_NULL         (-1)  /* a required pointer argument was NULL */
#define ML_ERR_N_FEATURES   (-2)  /* n_features does not match the model */
#define ML_ERR_N_OUT        (-3)  /* output buffer too small for the model's outputs */
#define ML_ERR_MODEL        (-4)  /* model data is invalid (corrupt or truncated blob) */
#define ML_ERR_VERSION      (-5)  /* model blob has an unsupported format version */
#define ML_ERR_UNSUPPORTED  (-6)  /* model kind/layout not supported by this runtime */

/* `restrict` for C99, and its GCC/Clang spelling when compiled as C++. */
#if defined(__cplusplus)
#if defined(__GNUC__) || defined(__clang__)
#define ML_RESTRICT __restrict__
#else
#define ML_RESTRICT
#endif
#else
#define ML_RESTRICT restrict
#endif

/* v[0..n-1] = value */
static inline void ml_fill_f32(float *v, int32_t n, float value)
{
    for (int32_t i = 0; i < n; i++) {
        v[i] = value;
    }
}

/* v[0..n-1] *= s */
static inline void ml_scale_f32(float *v, int32_t n, float s)
{
    for (int32_t i = 0; i < n; i++) {
        v[i] *= s;
    }
}

/* Index of the first maximum of v[0..n-1] (n >= 1). NaN entries never win. */
static inline int32_t ml_argmax_f32(const float *v, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

#endif /* ML_COMMON_H */
