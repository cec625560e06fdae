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
#define ML_ERR_UNSUPPORTED  (-6)  /* model kind/layout/method not supported by this runtime */
#define ML_ERR_ALIGN        (-7)  /* model data is not 4-byte aligned (read in place) */
#define ML_ERR_ARG          (-8)  /* an argument is out of its range (size, count, parameter) */

/* -ffast-math lets the compiler assume no NaN/inf and reassociate sums: the model's
 * comparisons and float32 sums would no longer be the ones verified against
 * scikit-learn (measured: 2-8% of answers change). Compile microlearn code without it. */
#if defined(__FAST_MATH__) && !defined(ML_ALLOW_FAST_MATH)
#error "microlearn: do not compile with -ffast-math (or -Ofast): it changes model answers; see the README (define ML_ALLOW_FAST_MATH to override)"
#endif

/* Tasks (ml_info_t.task, model-file section tasks). */
#define ML_TASK_CLASSIFIER        0
#define ML_TASK_REGRESSOR         1
#define ML_TASK_OUTLIER_DETECTOR  2
#define ML_TASK_TRANSFORMER       3

/* What a loaded model (or pipeline step) computes; filled by ml_<family>_info(). */
typedef struct ml_info {
    int32_t task;            /* ML_TASK_* */
    int32_t n_features;      /* inputs per sample */
    int32_t n_outputs;       /* classes / targets / transformed features / 1 (outliers) */
    int32_t n_decision;      /* width of decision_function, 0: none */
    int32_t has_proba;       /* predict_proba available */
    int32_t has_score_samples;
    int32_t scratch_floats;  /* floats of scratch the family's functions need */
} ml_info_t;

#if defined(__GNUC__)
#define ML_LIKELY(c) __builtin_expect(!!(c), 1)
#define ML_UNLIKELY(c) __builtin_expect(!!(c), 0)
#else
#define ML_LIKELY(c) (c)
#define ML_UNLIKELY(c) (c)
#endif

/* For family headers: the methods a family does not have. Every family defines the full
 * set ml_<family>_{predict, predict_proba, decision_function, score_samples, regress,
 * transform} (the model-file dispatcher ml_model.h calls them); these return
 * ML_ERR_UNSUPPORTED. */
#define ML_DEFINE_UNSUPPORTED(FAM, METHOD)                                               \
    static inline int32_t ml_##FAM##_##METHOD(const ml_##FAM##_t *m, const float *x,    \
                                              float *out, float *scratch)              \
    {                                                                                   \
        (void)m;                                                                        \
        (void)x;                                                                        \
        (void)out;                                                                      \
        (void)scratch;                                                                  \
        return ML_ERR_UNSUPPORTED;                                                      \
    }
#define ML_DEFINE_UNSUPPORTED_PREDICT(FAM)                                               \
    static inline int32_t ml_##FAM##_predict(const ml_##FAM##_t *m, const float *x,     \
                                             float *scratch)                           \
    {                                                                                   \
        (void)m;                                                                        \
        (void)x;                                                                        \
        (void)scratch;                                                                  \
        return ML_ERR_UNSUPPORTED;                                                      \
    }

/* Constant tables in program memory (AVR). On AVR (avr-gcc; Arduino Uno and other
 * ATmega/ATtiny parts) data is in RAM unless it is placed in program memory and read
 * with special instructions (LPM); elsewhere const data is already in flash.
 *   ML_CONST           storage of a generated constant table: `static ML_CONST float t[] =`.
 *                      `const PROGMEM` on AVR, plain `const` elsewhere.
 *   ML_READ_AS(T, p)   *p for a pointer p into such a table, T one of float, double,
 *                      uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t (a type name);
 *                      ML_READ_F32 / _U8 / _I8 / _U16 / _I16 / _U32 / _I32 spell them.
 *   ML_FLASH_STRUCT(T, local, src)
 *                      declares `const T *const local` pointing at the ML_CONST struct src
 *                      (on AVR: at a copy of it on the stack).
 * ML_PROGMEM is 1 on AVR (define ML_NO_PROGMEM to keep tables in RAM there), else 0.
 * Plain dereferences off AVR: the compiled code of other targets is unchanged. Model files
 * (ml_model.h) are not supported on AVR: the ml_*_from_section loaders return
 * ML_ERR_UNSUPPORTED there (the DSP engine ml_dsp.h and the nets ml_nets*.h are ported). */
#if defined(__AVR__) && !defined(ML_NO_PROGMEM)
#include <avr/pgmspace.h>
#include <string.h>
#define ML_PROGMEM 1
#define ML_CONST const PROGMEM
#define ML_READ_AS(T, p) ml_pgm_read_##T(p)
#define ML_FLASH_STRUCT(T, local, src)                                                   \
    T local##_copy_;                                                                     \
    memcpy_P(&local##_copy_, &(src), sizeof local##_copy_);                              \
    const T *const local = &local##_copy_

static inline uint8_t ml_pgm_read_uint8_t(const uint8_t *p)
{
    return (uint8_t)pgm_read_byte(p);
}

static inline int8_t ml_pgm_read_int8_t(const int8_t *p)
{
    return (int8_t)pgm_read_byte(p);
}

static inline uint16_t ml_pgm_read_uint16_t(const uint16_t *p)
{
    return (uint16_t)pgm_read_word(p);
}

static inline int16_t ml_pgm_read_int16_t(const int16_t *p)
{
    return (int16_t)pgm_read_word(p);
}

static inline uint32_t ml_pgm_read_uint32_t(const uint32_t *p)
{
    return (uint32_t)pgm_read_dword(p);
}

static inline int32_t ml_pgm_read_int32_t(const int32_t *p)
{
    return (int32_t)pgm_read_dword(p);
}

static inline float ml_pgm_read_float(const float *p)
{
    return pgm_read_float(p);
}

static inline double ml_pgm_read_double(const double *p)
{
    double v;
    memcpy_P(&v, p, sizeof v); /* 4 bytes with avr-gcc's default 32-bit double */
    return v;
}
#else
#define ML_PROGMEM 0
#define ML_CONST const
#define ML_READ_AS(T, p) (*(p))
#define ML_FLASH_STRUCT(T, local, src) const T *const local = &(src)
#endif

/* avr-libc defines INFINITY and NAN as double constants (C99 wants float); double is float
 * there, so the float spellings change no value and keep -Wdouble-promotion quiet. */
#if defined(__AVR__)
#include <math.h>
#undef INFINITY
#define INFINITY __builtin_inff()
#undef NAN
#define NAN __builtin_nanf("")
#endif

#define ML_READ_F32(p) ML_READ_AS(float, p)
#define ML_READ_U8(p) ML_READ_AS(uint8_t, p)
#define ML_READ_I8(p) ML_READ_AS(int8_t, p)
#define ML_READ_U16(p) ML_READ_AS(uint16_t, p)
#define ML_READ_I16(p) ML_READ_AS(int16_t, p)
#define ML_READ_U32(p) ML_READ_AS(uint32_t, p)
#define ML_READ_I32(p) ML_READ_AS(int32_t, p)
#define ML_READ_F64(p) ML_READ_AS(double, p)

/* Little-endian reads of model-file fields (any alignment). */
static inline uint32_t ml_rd_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static inline uint32_t ml_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline float ml_rd_f32(const uint8_t *p)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.u = ml_rd_u32(p);
    return v.f;
}

/* 1 when [offset, offset + count * width) lies inside [min_offset, size) and offset is a
 * multiple of align. */
static inline int ml_span_ok(uint32_t offset, uint32_t count, uint32_t width, uint32_t align,
                             uint32_t min_offset, uint32_t size)
{
    const uint64_t end = (uint64_t)offset + (uint64_t)count * (uint64_t)width;
    return offset >= min_offset && offset % align == 0u && end <= (uint64_t)size;
}

/* Order-preserving signed key of a float's bits: a <= b iff key(a) <= key(b) for non-NaN
 * a, b (except -0.0 < +0.0 in keys); NaN keys lie outside [key(-inf), key(+inf)]. */
static inline int32_t ml_float_key(float f)
{
    union {
        float f;
        uint32_t u;
    } v;
    v.f = f;
    const uint32_t mask = (uint32_t)((int32_t)v.u >> 31) >> 1; /* 0x7FFFFFFF if negative */
    return (int32_t)(v.u ^ mask);
}

#define ML_FLOAT_KEY_INF ((int32_t)0x7F800000)       /* ml_float_key(+inf) */
#define ML_FLOAT_KEY_NINF ((int32_t)-2139095041)     /* ml_float_key(-inf) */

/* 1 when key k (of x) is a NaN's */
static inline int ml_float_key_is_nan(int32_t k)
{
    return (uint32_t)k - (uint32_t)ML_FLOAT_KEY_NINF >
           (uint32_t)ML_FLOAT_KEY_INF - (uint32_t)ML_FLOAT_KEY_NINF;
}

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
