/* ml_nets_int8.h - microlearn C runtime: int8 neural-network kernels (TFLite integer spec).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence). Usage:
 *
 *     #include "ml_nets_int8.h"
 *     static const ml_nets_q7_op_t ops[] = { ... };      (written by microlearn)
 *     int8_t arena[ARENA_BYTES];                          (caller-owned, e.g. on the stack)
 *     ml_nets_q7_run(ops, n_ops, x, y, arena);            float in, float out
 *
 * The kernels compute exactly what TensorFlow Lite Micro's reference int8 kernels compute
 * (bit for bit; microlearn's tests compare them with the TFLM interpreter on every op):
 * int8 activations with a per-tensor (scale, zero point), int8 symmetric weights with a
 * scale per output channel, int32 bias, and requantization by an int32 multiplier and a
 * shift with TFLite's rounding (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT: "double rounding"). Softmax, logistic and tanh use gemmlowp's
 * fixed-point exp / reciprocal as TFLite does. The multipliers, shifts, offsets and clamps
 * are computed on the host (microlearn.families.nets.quantize.op_params) and stored in the
 * op table, so no floating point is used except in QUANTIZE (float input -> int8: x / scale
 * rounded half away from zero, without libm) and DEQUANTIZE (int8 -> float output).
 *
 * Rules: no allocation, no globals, every function static (inline, except the depthwise
 * inner loop, kept out of line for its register allocation); caller-owned buffers.
 * Signed right shifts are arithmetic (as on every compiler microlearn targets: gcc, clang,
 * arm-none-eabi-gcc); additions that TFLite lets wrap are done in uint32_t.
 */
#ifndef ML_NETS_INT8_H
#define ML_NETS_INT8_H

#include "ml_common.h"
#include "ml_math.h"
#include <stddef.h>
#include <string.h>

/* Cortex-M4/M7 (and any core with the 32-bit SIMD instructions): dot products with SMLAD,
 * two multiply-adds per instruction. Integer sums are exact, so the results are the same
 * bit for bit; define ML_NETS_NO_SIMD to use the portable loops only. */
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32 && defined(__ARM_FEATURE_DSP) && \
    __ARM_FEATURE_DSP && !defined(ML_NETS_NO_SIMD)
#include <arm_acle.h>
#define ML_NETS_SIMD32 1
#endif

/* Cortex-M4F / M7 with GCC, optimised builds (the dot product's loop needs 13 registers):
 * the float input's quantization (VCVT's saturating truncation) and the dense rows over
 * widened inputs in inline assembly. Define ML_NETS_NO_ASM for the portable code. */
#if defined(ML_NETS_SIMD32) && defined(__GNUC__) && !defined(__clang__) && defined(__arm__) && \
    defined(__thumb2__) && defined(__ARM_FP) && (__ARM_FP & 4) && defined(__OPTIMIZE__) &&   \
    !defined(ML_NETS_NO_ASM)
#define ML_NETS_Q7__VFP 1
#endif

/* The per-output requantization is inlined into the kernels' loops (gcc -Os would call
 * it: ~10 more instructions per output); not on AVR, where program memory is short. */
#if defined(__GNUC__) && !defined(__AVR__)
#define ML_NETS_Q7_HOT __attribute__((always_inline))
/* a loop kept out of line: its own register allocation (inlined into a large caller its
 * accumulators spill to the stack); "unused": no warning where no kernel calls it */
#define ML_NETS_Q7_LOOP static __attribute__((noinline, unused))
#else
#define ML_NETS_Q7_HOT
#define ML_NETS_Q7_LOOP static inline
#endif

/* In a short byte-copy loop: keeps it a loop (gcc would call memcpy for a few bytes). */
#ifdef __GNUC__
#define ML_NETS_Q7__NO_MEMCPY() __asm__("" ::: "memory")
#else
#define ML_NETS_Q7__NO_MEMCPY() ((void)0)
#endif

/* --- fixed-point primitives (TFLite / gemmlowp semantics) ----------------------------- */

/* One int8 weight / int32 table entry of an op: the generated tables are ML_CONST, in
 * program memory on AVR, where the portable kernels read them through these
 * (ML_READ_I8 / ML_READ_I32); plain dereferences elsewhere (the SIMD32 paths load the
 * weights directly). */
#define ML_NETS_Q7_W(p) ML_READ_I8(p)
#define ML_NETS_Q7_I32(p) ML_READ_I32(p)

#define ML_NETS_Q_MIN32 ((int32_t)(-2147483647 - 1))
#define ML_NETS_Q_MAX32 ((int32_t)2147483647)

static inline int32_t ml_nets_q_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t ml_nets_q_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t ml_nets_q_shl(int32_t x, int32_t s)
{
    return (int32_t)((uint32_t)x << s);
}

/* (a * b) / 2^31 rounded to nearest; -1 * -1 saturates (ARM VQRDMULH). TFLite writes it
 * as (ab + nudge) / 2^31 with nudge = 2^30 (ab >= 0) or 1 - 2^30 (ab < 0) and division
 * toward zero; for ab < 0 that is floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31), so both cases
 * are floor((ab + 2^30) / 2^31): one 64-bit product, an add and an arithmetic shift. */
static inline int32_t ml_nets_q_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == ML_NETS_Q_MIN32) {
        return ML_NETS_Q_MAX32;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* ml_nets_q_srdhm(a, b) where |a| < 2^30 (the callers' ranges say so): on Cortex-M4/M7
 * one SMMULR of 2a and b, floor((2ab + 2^31) / 2^32) = floor((ab + 2^30) / 2^31). */
static inline int32_t ml_nets_q_srdhm_small(int32_t a, int32_t b)
{
#ifdef ML_NETS_SIMD32
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a * 2), "r"(b));
    return r;
#else
    return ml_nets_q_srdhm(a, b);
#endif
}

/* x / 2^e rounded to nearest, ties away from zero; 0 <= e <= 31. */
static inline int32_t ml_nets_q_rdbpot(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    const int32_t rem = x & mask;
    const int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (rem > thr ? 1 : 0);
}

/* x * m * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier (double rounding). */
static inline int32_t ml_nets_q_mbqm(int32_t x, int32_t m, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return ml_nets_q_rdbpot(ml_nets_q_srdhm(ml_nets_q_shl(x, left), m), right);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<e>. */
static inline int32_t ml_nets_q_sat_pot(int32_t x, int32_t e)
{
    int32_t thr;
    if (e == 0) {
        return x;
    }
    if (e < 0) {
        return ml_nets_q_rdbpot(x, -e);
    }
    thr = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
    if (x > thr) {
        return ML_NETS_Q_MAX32;
    }
    if (x < -thr) {
        return ML_NETS_Q_MIN32;
    }
    return ml_nets_q_shl(x, e);
}

static inline int32_t ml_nets_q_clz(uint32_t x)
{
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
}

/* exp(a) for a in [-1/4, 0), Q0.31 (a in [-2^29, 0)). x = a + 1/8 is within +-2^28, so
 * every product below has a first operand under 2^30 (x2 <= 2^25; x3, x4 and the
 * polynomial smaller still; srdhm is symmetric: c (x + poly) as (x + poly) c). */
static inline int32_t ml_nets_q_exp_quarter(int32_t a)
{
    const int32_t c = 1895147668;      /* exp(-1/8) */
    const int32_t third = 715827883;   /* 1/3 */
    const int32_t x = ml_nets_q_add(a, (int32_t)1 << 28);
    const int32_t x2 = ml_nets_q_srdhm_small(x, x);
    const int32_t x3 = ml_nets_q_srdhm_small(x2, x);
    const int32_t x4 = ml_nets_q_srdhm_small(x2, x2);
    const int32_t x4_4 = ml_nets_q_sat_pot(x4, -2);
    const int32_t poly = ml_nets_q_sat_pot(
        ml_nets_q_add(ml_nets_q_srdhm_small(ml_nets_q_add(x4_4, x3), third), x2), -1);
    return ml_nets_q_add(c, ml_nets_q_srdhm_small(ml_nets_q_add(x, poly), c));
}

/* exp(a) for a <= 0 given with int_bits integer bits; result Q0.31 (gemmlowp). */
static inline int32_t ml_nets_q_exp_neg(int32_t a, int32_t int_bits)
{
    static ML_CONST int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535, 720401, 242};
    const int32_t frac = 31 - int_bits;
    const int32_t quarter = (int32_t)1 << (frac - 2);
    const int32_t a_mod = ml_nets_q_sub(a & (quarter - 1), quarter);
    const int32_t rem = ml_nets_q_sub(a_mod, a);
    int32_t result = ml_nets_q_exp_quarter(ml_nets_q_sat_pot(a_mod, int_bits));
    int32_t k;
    for (k = 0; k < 7; k++) {
        const int32_t exponent = k - 2;
        if (int_bits > exponent) {
            const int32_t bit = frac + exponent;
            if ((rem & ((int32_t)1 << bit)) != 0) {
                /* mults[2..6] are under 2^30 */
                result = k >= 2 ? ml_nets_q_srdhm_small(ML_NETS_Q7_I32(mults + k), result)
                                : ml_nets_q_srdhm(result, ML_NETS_Q7_I32(mults + k));
            }
        }
    }
    if (int_bits > 5 && a < -((int32_t)1 << (36 - int_bits))) {
        result = 0;
    }
    return a == 0 ? ML_NETS_Q_MAX32 : result;
}

static inline int32_t ml_nets_q_half_sum(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    return (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
}

/* Newton-Raphson 1 / (2 * half_denominator) in Q2.29 (gemmlowp). */
static inline int32_t ml_nets_q_newton(int32_t half_den)
{
    int32_t x = ml_nets_q_add(1515870810, ml_nets_q_srdhm(half_den, -1010580540));
    int32_t i;
    for (i = 0; i < 3; i++) {
        const int32_t hdx = ml_nets_q_srdhm(half_den, x);
        const int32_t one_minus = ml_nets_q_sub((int32_t)1 << 29, hdx);
        x = ml_nets_q_add(x, ml_nets_q_sat_pot(ml_nets_q_srdhm(x, one_minus), 2));
    }
    return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31. */
static inline int32_t ml_nets_q_one_over_one_plus(int32_t a)
{
    return ml_nets_q_sat_pot(ml_nets_q_newton(ml_nets_q_half_sum(a, ML_NETS_Q_MAX32)), 1);
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31. */
static inline int32_t ml_nets_q_one_minus_over_one_plus(int32_t a)
{
    const int32_t x = ml_nets_q_newton(ml_nets_q_half_sum(a, ML_NETS_Q_MAX32));
    return ml_nets_q_sat_pot(ml_nets_q_sub(x, (int32_t)1 << 29), 2);
}

/* logistic(a), a in Q4.27; Q0.31. */
static inline int32_t ml_nets_q_logistic(int32_t a)
{
    int32_t r;
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    r = ml_nets_q_one_over_one_plus(ml_nets_q_exp_neg(a > 0 ? ml_nets_q_sub(0, a) : a, 4));
    return a > 0 ? r : ml_nets_q_sub(ML_NETS_Q_MAX32, r);
}

/* tanh(a), a in Q4.27; Q0.31. */
static inline int32_t ml_nets_q_tanh(int32_t a)
{
    int32_t t;
    if (a == 0) {
        return 0;
    }
    t = ml_nets_q_one_minus_over_one_plus(
        ml_nets_q_exp_neg(a < 0 ? a : ml_nets_q_sub(0, a), 5));
    return a < 0 ? ml_nets_q_sub(0, t) : t;
}

static inline int8_t ml_nets_q_sat8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* -zp in both 16-bit halves: the addend of SXTAB16 that widens int8 pairs to x - zp. */
static inline int32_t ml_nets_q7__nzp(int32_t zp)
{
    return (int32_t)(((uint32_t)(uint16_t)(int16_t)(-zp)) * 0x00010001u);
}

/* acc + sum_i (x[i] - zp) * w[i] over n int8 pairs. */
static inline int32_t ml_nets_q7_dot(const int8_t *x, const int8_t *w, int32_t n, int32_t zp,
                                     int32_t acc)
{
    int32_t i = 0;
#ifdef ML_NETS_SIMD32
    const int32_t nzp = ml_nets_q7__nzp(zp);
    for (; i + 4 <= n; i += 4) {
        uint32_t xv, wv;
        memcpy(&xv, x + i, 4);
        memcpy(&wv, w + i, 4);
        acc = __smlad(__sxtab16(nzp, (int32_t)xv), __sxtb16((int32_t)wv), acc);
        acc = __smlad(__sxtab16(nzp, (int32_t)((xv >> 8) | (xv << 24))),
                      __sxtb16((int32_t)((wv >> 8) | (wv << 24))), acc);
    }
#endif
    for (; i < n; i++) {
        acc += ((int32_t)x[i] - zp) * (int32_t)ML_NETS_Q7_W(w + i);
    }
    return acc;
}

/* acc[j] += sum over i < n of (x[i] - zp) * w[j * ws + i] for the four rows j < 4: each
 * input is loaded (and with SIMD32 widened) once for the four rows. Integer sums are
 * exact, so the order does not change the result. */
#ifdef __AVR__
static inline void
#else
/* its own register allocation: inlined into a model's dispatch loop, the four rows'
 * pointers and sums spill on cores with few registers (Cortex-M0+: 16% more instructions
 * in this loop) */
ML_NETS_Q7_LOOP void
#endif
ml_nets_q7_dot4(const int8_t *x, const int8_t *w, size_t ws, int32_t n, int32_t zp,
                int32_t *acc)
{
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + ws;
    const int8_t *w2 = w1 + ws;
    const int8_t *w3 = w2 + ws;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
#ifdef ML_NETS_SIMD32
    const int32_t nzp = ml_nets_q7__nzp(zp);
#endif
#ifdef ML_NETS_SIMD32
    for (; i + 4 <= n; i += 4) {
        uint32_t xv, wv;
        memcpy(&xv, x + i, 4);
        const int32_t xa = __sxtab16(nzp, (int32_t)xv);
        const int32_t xb = __sxtab16(nzp, (int32_t)((xv >> 8) | (xv << 24)));
        memcpy(&wv, w0 + i, 4);
        a0 = __smlad(xa, __sxtb16((int32_t)wv), a0);
        a0 = __smlad(xb, __sxtb16((int32_t)((wv >> 8) | (wv << 24))), a0);
        memcpy(&wv, w1 + i, 4);
        a1 = __smlad(xa, __sxtb16((int32_t)wv), a1);
        a1 = __smlad(xb, __sxtb16((int32_t)((wv >> 8) | (wv << 24))), a1);
        memcpy(&wv, w2 + i, 4);
        a2 = __smlad(xa, __sxtb16((int32_t)wv), a2);
        a2 = __smlad(xb, __sxtb16((int32_t)((wv >> 8) | (wv << 24))), a2);
        memcpy(&wv, w3 + i, 4);
        a3 = __smlad(xa, __sxtb16((int32_t)wv), a3);
        a3 = __smlad(xb, __sxtb16((int32_t)((wv >> 8) | (wv << 24))), a3);
    }
#endif
    for (; i < n; i++) {
        const int32_t v = (int32_t)x[i] - zp;
        a0 += v * (int32_t)ML_NETS_Q7_W(w0 + i);
        a1 += v * (int32_t)ML_NETS_Q7_W(w1 + i);
        a2 += v * (int32_t)ML_NETS_Q7_W(w2 + i);
        a3 += v * (int32_t)ML_NETS_Q7_W(w3 + i);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* --- the op table ------------------------------------------------------------------------ */

/* Op kinds (ml_nets_q7_op_t.kind). */
#define ML_NETS_Q7_QUANTIZE       1   /* float input -> int8: round(x / scale) + zp */
#define ML_NETS_Q7_DEQUANTIZE     2   /* int8 -> float output: scale * (q - zp) */
#define ML_NETS_Q7_REQUANTIZE     3   /* int8 -> int8 with new parameters (also RELU) */
#define ML_NETS_Q7_DENSE          4
#define ML_NETS_Q7_CONV2D         5
#define ML_NETS_Q7_DEPTHWISE      6
#define ML_NETS_Q7_MAX_POOL       7
#define ML_NETS_Q7_AVG_POOL       8
#define ML_NETS_Q7_MEAN           9   /* global average pooling (TFLite MEAN over H, W) */
#define ML_NETS_Q7_PAD            10
#define ML_NETS_Q7_ADD            11
#define ML_NETS_Q7_MUL            12
#define ML_NETS_Q7_COPY           13  /* concatenation: one input into a column range */
#define ML_NETS_Q7_SOFTMAX        14
#define ML_NETS_Q7_LOGISTIC       15
#define ML_NETS_Q7_TANH           16
#define ML_NETS_Q7_CLAMP          17  /* RELU6 on unchanged parameters; global max pool 1x1 */
#define ML_NETS_Q7_LEAKY_RELU     18
#define ML_NETS_Q7_GLOBAL_MAX     19
#define ML_NETS_Q7_HARD_SWISH     20  /* m0/s0: output int16 multiplier / exponent,
                                         m1/s1: "relu-ish" multiplier / exponent */

/* Geometry (ml_nets_q7_op_t.g) of the image kernels. */
#define ML_NETS_G_IN_H   0
#define ML_NETS_G_IN_W   1
#define ML_NETS_G_IN_C   2
#define ML_NETS_G_OUT_H  3
#define ML_NETS_G_OUT_W  4
#define ML_NETS_G_OUT_C  5
#define ML_NETS_G_K_H    6   /* kernel / pool height */
#define ML_NETS_G_K_W    7
#define ML_NETS_G_S_H    8   /* strides */
#define ML_NETS_G_S_W    9
#define ML_NETS_G_D_H    10  /* dilation */
#define ML_NETS_G_D_W    11
#define ML_NETS_G_PAD_T  12  /* padding before (top, left) */
#define ML_NETS_G_PAD_L  13
#define ML_NETS_G_MULT   14  /* depthwise channel multiplier */
/* Element-wise kinds use g[0] = elements; ADD/MUL g[1] = elements of the second operand
 * (repeated: 1 or the channel count broadcast); DENSE g[0] = inputs, g[1] = outputs,
 * g[2] = rows;
 * SOFTMAX g[0] = rows, g[1] = classes per row; COPY g[0] = outer rows, g[1] = columns of
 * the input, g[2] = columns of the output, g[3] = first output column. */

/* One int8 operation. Offsets are bytes into the caller's arena; in = -1 for QUANTIZE
 * (reads the float input), out = -1 for DEQUANTIZE (writes the float output). */
typedef struct ml_nets_q7_op {
    int32_t kind;
    int32_t in;
    int32_t in2;            /* second operand (ADD, MUL), -1: the constant `w` */
    int32_t out;
    int32_t g[15];
    int32_t in_zp;
    int32_t in2_zp;
    int32_t out_zp;
    int32_t act_min;        /* output clamp */
    int32_t act_max;
    int32_t m0;             /* scalar multipliers and shifts (meaning per kind) */
    int32_t s0;
    int32_t m1;
    int32_t s1;
    int32_t m2;
    int32_t s2;
    float scale;            /* QUANTIZE / DEQUANTIZE */
    const int8_t *w;        /* weights, or the constant second operand of ADD / MUL */
    const int32_t *bias;    /* per output channel */
    const int32_t *mult;    /* per output channel */
    const int32_t *shift;   /* per output channel */
    int32_t rq_right;       /* bit 0: every channel's shift is a right shift (-31..-1);
                               bit 1 (with bit 0): |accumulator + bias| < 2^30 for every
                               input (taps x 255 x 128 + max |bias| < 2^30); bit 3: `w`
                               may be read 3 bytes past its last weight (the Cortex-M4F /
                               M7 rows and windows of a dense / conv read whole words) */
} ml_nets_q7_op_t;

/* --- kernels ---------------------------------------------------------------------------- */

/* One value: x / scale (IEEE division: ml_divf), NaN -> the zero point, clamped to
 * +-1e6, rounded half away from zero (as roundf: |v| <= 1e6 < 2^23 makes v - trunc(v)
 * exact), + zp, saturated to int8. */
static inline int8_t ml_nets_q7__quantize1(float x, float scale, int32_t zp)
{
    float v = ml_divf(x, scale);
    int32_t q;
    float f;
    if (!(v == v)) {
        v = 0.0f;
    }
    v = v > 1.0e6f ? 1.0e6f : (v < -1.0e6f ? -1.0e6f : v);
    q = (int32_t)v;
    f = v - (float)q;
    q += f >= 0.5f ? 1 : (f <= -0.5f ? -1 : 0);
    return ml_nets_q_sat8(q + zp, -128, 127);
}

static inline void ml_nets_q7_quantize(const ml_nets_q7_op_t *op, const float *x, int8_t *y)
{
    int32_t i;
#ifdef ML_NETS_Q7__VFP
    /* Cortex-M4F / M7: VCVT truncates toward zero, saturates and maps NaN to 0, so with
     * q = trunc(v) and f = v - q (exact), round half away from zero is q + trunc(2 f); the
     * saturating adds and SSAT give ml_nets_q7__quantize1's int8 for every v, NaN, +-inf
     * and |v| >= 2^31 included (tests/families/test_nets_int8.py, emulated M4F). */
    const float scale = op->scale;
    const int32_t zp = op->out_zp;
    const float *const xe = x + op->g[0]; /* read once: the int8 stores may alias op */
    (void)i;
    while (x < xe) {
        const float v = *x++ / scale; /* VDIV: IEEE, as ml_divf */
        float t0, t1;
        int32_t q, r;
        __asm__("vcvt.s32.f32 %[t0], %[v]\n\t"
                "vcvt.f32.s32 %[t1], %[t0]\n\t"
                "vsub.f32 %[t1], %[v], %[t1]\n\t"
                "vadd.f32 %[t1], %[t1], %[t1]\n\t"
                "vcvt.s32.f32 %[t1], %[t1]\n\t"
                "vmov %[q], %[t0]\n\t"
                "vmov %[r], %[t1]\n\t"
                "qadd %[q], %[q], %[r]\n\t"
                "qadd %[q], %[q], %[zp]\n\t"
                "ssat %[q], #8, %[q]"
                : [q] "=&r"(q), [r] "=&r"(r), [t0] "=&t"(t0), [t1] "=&t"(t1)
                : [v] "t"(v), [zp] "r"(zp)
                : "cc");
        *y++ = (int8_t)q;
    }
#else
    for (i = 0; i < op->g[0]; i++) {
        y[i] = ml_nets_q7__quantize1(x[i], op->scale, op->out_zp);
    }
#endif
}

/* QUANTIZE of integer features (the int16 entry): the same values as
 * ml_nets_q7_quantize on (float)x[i] (exact for every int16). */
static inline void ml_nets_q7_quantize_i16(const ml_nets_q7_op_t *op, const int16_t *x,
                                           int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        y[i] = ml_nets_q7__quantize1((float)x[i], op->scale, op->out_zp);
    }
}

static inline void ml_nets_q7_dequantize(const ml_nets_q7_op_t *op, const int8_t *x, float *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        y[i] = op->scale * (float)((int32_t)x[i] - op->in_zp);
    }
}

/* y = clamp(mbqm(x - in_zp, m0, s0) + out_zp): QUANTIZE int8 -> int8, RELU. */
static inline void ml_nets_q7_requantize(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        const int32_t v = ml_nets_q_mbqm((int32_t)x[i] - op->in_zp, op->m0, op->s0);
        y[i] = ml_nets_q_sat8(v + op->out_zp, op->act_min, op->act_max);
    }
}

static inline void ml_nets_q7_clamp(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        y[i] = ml_nets_q_sat8((int32_t)x[i], op->act_min, op->act_max);
    }
}

static inline void ml_nets_q7_leaky_relu(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        const int32_t v = (int32_t)x[i] - op->in_zp;
        const int32_t r = v >= 0 ? ml_nets_q_mbqm(v, op->m0, op->s0)
                                 : ml_nets_q_mbqm(v, op->m1, op->s1);
        y[i] = ml_nets_q_sat8(r + op->out_zp, -128, 127);
    }
}

/* What the requantization of an op's outputs reads, copied out of the op once per kernel
 * call: a local copy stays in registers across the int8 stores (which may alias any
 * memory, the op included). */
typedef struct ml_nets_q7_rq {
    const int32_t *bias, *mult, *shift;
    int32_t zp, lo, hi;
    int32_t fast; /* op->rq_right, and bit 2: the clamp is the int8 range */
} ml_nets_q7_rq_t;

/* The requantization of an op's output channels. */
static inline ml_nets_q7_rq_t ml_nets_q7__rq(const ml_nets_q7_op_t *op)
{
    ml_nets_q7_rq_t rq;
    rq.bias = op->bias;
    rq.mult = op->mult;
    rq.shift = op->shift;
    rq.zp = op->out_zp;
    rq.lo = op->act_min;
    rq.hi = op->act_max;
    /* bit 1 only with bit 0 (a hand-made op table may set it alone) */
    rq.fast = ((op->rq_right & 1) ? (op->rq_right & 3) : 0) |
              (op->act_min == -128 && op->act_max == 127 ? 4 : 0);
    return rq;
}

#ifdef ML_NETS_SIMD32
/* SMMULR: the high word of a b, rounded: floor((a b + 2^31) / 2^32). */
static inline int32_t ml_nets_q7__smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* SSAT #8: v saturated to -128..127. */
static inline int32_t ml_nets_q7__ssat8(int32_t v)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
}
#endif

#ifdef ML_NETS_SIMD32
/* The requantization's short path on Cortex-M4/M7 (see ml_nets_q7__rqout): a right shift
 * e = -shift in 1..31, |x| < 2^30; the zero point is not added. */
static inline ML_NETS_Q7_HOT int32_t ml_nets_q7__rqshort(int32_t x, int32_t m, int32_t shift)
{
    const int32_t h = ml_nets_q7__smmulr(x * 2, m);
    return (((h - (int32_t)((uint32_t)h >> 31)) >> ~shift) + 1) >> 1;
}
#endif

/* The int8 output of output channel o for the accumulator acc: bias, TFLite's
 * requantization (per-channel multiplier and shift), zero point, clamp. */
static inline ML_NETS_Q7_HOT int8_t ml_nets_q7__rqout(const ml_nets_q7_rq_t *rq, int32_t acc,
                                                      int32_t o)
{
    /* ml_nets_q_mbqm (ml_nets_q_srdhm, then ml_nets_q_rdbpot) written out, so that the
     * compiler inlines it here, in the kernels' loops, and only here */
    const int32_t shift = ML_NETS_Q7_I32(rq->shift + o), m = ML_NETS_Q7_I32(rq->mult + o);
#ifdef ML_NETS_SIMD32
    {
        /* Cortex-M4/M7, a right shift e = -shift in 1..31 (rq->fast bit 0) and |x| <
         * 2^30 (tested here, or known for the whole op: bit 1): srdhm(x, m) = floor((x m +
         * 2^30) / 2^31) = floor((2x m + 2^31) / 2^32), one SMMULR; then rdbpot(h, e) =
         * floor((h + 2^(e-1) - [h < 0]) / 2^e) (TFLite's rounding half away from zero),
         * computed as ((h' >> (e-1)) + 1) >> 1 with h' = h - [h < 0] (with h' = q 2^(e-1) +
         * r, 0 <= r < 2^(e-1), both are floor((q + 1) / 2)), e - 1 = ~shift; the clamp to
         * the int8 range (bit 2) is one SSAT. Checked against ml_nets_q_mbqm on the
         * emulated Cortex-M4F (tests/families/test_nets_int8.py). */
        const int32_t x = acc + ML_NETS_Q7_I32(rq->bias + o);
        if ((rq->fast & 2) || ((rq->fast & 1) && (uint32_t)x + 0x40000000u < 0x80000000u)) {
            int32_t v = ml_nets_q7__rqshort(x, m, shift) + rq->zp;
            if (rq->fast & 4) {
                return (int8_t)ml_nets_q7__ssat8(v);
            }
            v = v < rq->lo ? rq->lo : v;
            return (int8_t)(v > rq->hi ? rq->hi : v);
        }
    }
#endif
    if (shift <= -2 && shift >= -31 && m >= 0x40000000) {
        /* The usual case (a right shift e = -shift >= 2, a normalised multiplier) in one
         * rounding: with P = x m, srdhm = floor((P + 2^30) / 2^31) = h and rdbpot(h, e) =
         * floor((h + 2^(e-1) - [h < 0]) / 2^e) = floor((P + 2^30 - 2^31 [h < 0] +
         * 2^(30+e)) / 2^(31+e)). h < 0 exactly when x < 0, but for x = -1, m = 2^30,
         * where both give 0; and 2^(30+e) = 2^(e-2) 2^32 adds to the high word: v =
         * (hi(P +- 2^30) + 2^(e-2)) >> (e - 1). Checked equal to ml_nets_q_mbqm
         * (tests/families/test_nets_int8.py::test_fast_requantization_equals_mbqm). */
        const int32_t x = acc + ML_NETS_Q7_I32(rq->bias + o);
        const int32_t e1 = -shift - 1;
        const int64_t t = (int64_t)x * (int64_t)m +
                          (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
        const int32_t v = ((int32_t)(t >> 32) + ((int32_t)1 << (e1 - 1))) >> e1;
        return ml_nets_q_sat8(v + rq->zp, rq->lo, rq->hi);
    }
    {
        const int32_t x = ml_nets_q_shl(acc + ML_NETS_Q7_I32(rq->bias + o), shift > 0 ? shift : 0);
        const int32_t e = shift > 0 ? 0 : -shift;
        const int32_t h = (x == m && x == ML_NETS_Q_MIN32)
                              ? ML_NETS_Q_MAX32
                              : (int32_t)(((int64_t)x * (int64_t)m + ((int64_t)1 << 30)) >> 31);
        const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
        const int32_t v = (h >> e) + ((h & mask) > (mask >> 1) + (h < 0 ? 1 : 0) ? 1 : 0);
        return ml_nets_q_sat8(v + rq->zp, rq->lo, rq->hi);
    }
}

#if defined(ML_NETS_SIMD32) && !defined(ML_NETS_Q7__VFP)
/* y[0..3] = the outputs of channels o..o+3 for acc[0..3] when every bit of rq->fast is
 * set (right shifts, no accumulator near 2^30, the int8 range as the clamp): the short
 * path of ml_nets_q7__rqout without a test per output. */
static inline ML_NETS_Q7_HOT void ml_nets_q7__rq4short(const ml_nets_q7_rq_t *rq,
                                                       const int32_t *acc, int32_t o, int8_t *y)
{
    const int32_t *b = rq->bias + o, *m = rq->mult + o, *s = rq->shift + o;
    y[0] = (int8_t)ml_nets_q7__ssat8(ml_nets_q7__rqshort(acc[0] + b[0], m[0], s[0]) + rq->zp);
    y[1] = (int8_t)ml_nets_q7__ssat8(ml_nets_q7__rqshort(acc[1] + b[1], m[1], s[1]) + rq->zp);
    y[2] = (int8_t)ml_nets_q7__ssat8(ml_nets_q7__rqshort(acc[2] + b[2], m[2], s[2]) + rq->zp);
    y[3] = (int8_t)ml_nets_q7__ssat8(ml_nets_q7__rqshort(acc[3] + b[3], m[3], s[3]) + rq->zp);
}
#endif

#ifdef ML_NETS_Q7__VFP
/* The state of the assembly kernels ml_nets_q7__fc4n (one row of a dense / pointwise op)
 * and ml_nets_q7__dw4n (one output pixel of a depthwise convolution): n_c4 > 0 groups of
 * four outputs, x / w at the current group's input and weights, bias / mult / shift / y
 * at its first output; nzp = -zp of the input in both halves, out_zp the output's.
 * fc4n: the row's inputs x .. xe (a multiple of 4, at least 4), weights w[o][ws].
 * dw4n (multiplier 1, stride-1 columns): n_ky > 0 rows of n_kx > 0 taps, input and
 * weights both stepping by ws (the channels) per column and after a row by x_row_adv /
 * w_row_adv more. fc4n2d: as fc4n over n_ky kernel rows of n_kx bytes, stepping
 * x_row_adv / w_row_adv after each. fc2x2: n_c4 groups of two outputs, inputs x .. xe
 * (the widened pair), pixel B's outputs n_kx bytes after pixel A's. The offsets are the
 * assembly's: do not reorder. */
typedef struct ml_nets_q7__kctx {
    const int8_t *x;          /*  0 */
    const int8_t *w;          /*  4 */
    int8_t *y;                /*  8 */
    const int32_t *bias;      /* 12 */
    const int32_t *mult;      /* 16 */
    const int32_t *shift;     /* 20 */
    int32_t n_c4;             /* 24: groups left */
    int32_t nzp;              /* 28 */
    int32_t out_zp;           /* 32 */
    const int8_t *xe;         /* 36: fc4n */
    int32_t ws;               /* 40 */
    int32_t n_ky;             /* 44: dw4n */
    int32_t n_kx;             /* 48 */
    int32_t x_row_adv;        /* 52 */
    int32_t w_row_adv;        /* 56 */
    int32_t ky_left;          /* 60: scratch */
} ml_nets_q7__kctx_t;

typedef char ml_nets_q7__kctx_layout[(sizeof(void *) == 4 &&
                                      offsetof(ml_nets_q7__kctx_t, n_c4) == 24 &&
                                      offsetof(ml_nets_q7__kctx_t, ky_left) == 60) ? 1 : -1];

/* The per-call fields: n_c4 groups from input x, weights w, outputs y, and the op's
 * requantization tables from channel 0. */
static inline void ml_nets_q7__kstart(ml_nets_q7__kctx_t *c, const int8_t *x, const int8_t *w,
                                      int8_t *y, const ml_nets_q7_rq_t *rq, int32_t n_c4)
{
    c->x = x;
    c->w = w;
    c->y = y;
    c->bias = rq->bias;
    c->mult = rq->mult;
    c->shift = rq->shift;
    c->n_c4 = n_c4;
}

/* The requantization of the sum in register A (ml_nets_q7__rqshort): the multiplier in
 * register M, the complement of the shift (~shift = e - 1) in S, the zero point in r3. */
#define ML_NETS_Q7__RQ_CORE_ASM(A, M, S)                                                 \
    "lsl " A ", " A ", #1\n\t"                                                            \
    "smmulr " A ", " A ", " M "\n\t"                                                      \
    "sub " A ", " A ", " A ", lsr #31\n\t"                                                \
    "asr " A ", " A ", " S "\n\t"                                                         \
    "add " A ", " A ", #1\n\t"                                                            \
    "add " A ", r3, " A ", asr #1\n\t"                                                    \
    "ssat " A ", #8, " A "\n\t"

/* One output: the sum in register A, mult / shift post-incremented from r8 / r9, the zero
 * point in r3, the byte stored at r12 (post-incremented); r10, r11 scratch. */
#define ML_NETS_Q7__RQ_ASM(A)                                                            \
    "ldr r10, [r8], #4\n\t"                                                               \
    "ldr r11, [r9], #4\n\t"                                                               \
    "mvn r11, r11\n\t"                                                                    \
    ML_NETS_Q7__RQ_CORE_ASM(A, "r10", "r11")                                              \
    "strb " A ", [r12], #1\n\t"

/* A group's start (the four sums r4-r7 from the bias, which advances) and end (its four
 * outputs requantized as ml_nets_q7__rqshort, zero point, SSAT, stored; y, mult and
 * shift advanced), with the state in r0. */
#define ML_NETS_Q7__GROUP_START_ASM                                                       \
    "ldr r10, [r0, #12]\n\t"                                                              \
    "ldm r10!, {r4, r5, r6, r7}\n\t"                                                      \
    "str r10, [r0, #12]\n\t"
#define ML_NETS_Q7__GROUP_END_ASM                                                         \
    "ldr r8, [r0, #16]\n\t"                                                               \
    "ldr r9, [r0, #20]\n\t"                                                               \
    "ldr r3, [r0, #32]\n\t"                                                               \
    "ldr r12, [r0, #8]\n\t"                                                               \
    ML_NETS_Q7__RQ_ASM("r4") ML_NETS_Q7__RQ_ASM("r5") ML_NETS_Q7__RQ_ASM("r6")             \
    ML_NETS_Q7__RQ_ASM("r7")                                                              \
    "str r12, [r0, #8]\n\t"                                                               \
    "str r8, [r0, #16]\n\t"                                                               \
    "str r9, [r0, #20]\n\t"

/* Every group of four channels of one output pixel of a depthwise convolution on the
 * short requantization path (every bit of rq->fast set), in assembly: per tap two loads,
 * two pointer steps, four SXT(A)B16 and four 16 x 16 multiply-adds (SMLABB / SMLATT) into
 * the sums r4-r7, then the requantization. A naked function (basic assembly only): c
 * arrives in r0 and is updated. */
static __attribute__((naked, noinline, unused)) void
ml_nets_q7__dw4n(ml_nets_q7__kctx_t *c __attribute__((unused)))
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldr r1, [r0, #40]\n\t"          /* column step */
            "ldr r2, [r0, #28]\n"             /* nzp */
            "1:\n\t"                          /* a group of four channels */
            ML_NETS_Q7__GROUP_START_ASM
            "ldr r8, [r0, #0]\n\t"
            "ldr r9, [r0, #4]\n\t"
            "ldr r10, [r0, #44]\n\t"
            "str r10, [r0, #60]\n"
            "2:\n\t"                          /* a row of taps */
            "ldr r3, [r0, #48]\n"
            "3:\n\t"                          /* a tap */
            "ldr r10, [r8]\n\t"
            "ldr r12, [r9]\n\t"
            "add r8, r8, r1\n\t"
            "add r9, r9, r1\n\t"
            "sxtab16 r11, r2, r10, ror #8\n\t"
            "sxtab16 r10, r2, r10\n\t"
            "sxtb16 lr, r12, ror #8\n\t"
            "sxtb16 r12, r12\n\t"
            "smlabb r4, r10, r12, r4\n\t"
            "smlatt r6, r10, r12, r6\n\t"
            "smlabb r5, r11, lr, r5\n\t"
            "smlatt r7, r11, lr, r7\n\t"
            "subs r3, r3, #1\n\t"
            "bne 3b\n\t"
            "ldr r10, [r0, #52]\n\t"
            "add r8, r8, r10\n\t"
            "ldr r10, [r0, #56]\n\t"
            "add r9, r9, r10\n\t"
            "ldr r10, [r0, #60]\n\t"
            "subs r10, r10, #1\n\t"
            "str r10, [r0, #60]\n\t"
            "bne 2b\n\t"
            ML_NETS_Q7__GROUP_END_ASM
            "ldr r10, [r0, #0]\n\t"           /* the next four channels */
            "add r10, r10, #4\n\t"
            "str r10, [r0, #0]\n\t"
            "ldr r10, [r0, #4]\n\t"
            "add r10, r10, #4\n\t"
            "str r10, [r0, #4]\n\t"
            "ldr r10, [r0, #24]\n\t"
            "subs r10, r10, #1\n\t"
            "str r10, [r0, #24]\n\t"
            "bne 1b\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}

/* The dense rows' assembly, shared by ml_nets_q7__fc4n and ml_nets_q7__fc4n2d (state in
 * r0; sums r4-r7): ENTER: the saved registers and state, a group's start (label 1), ROWS;
 * ROWS: inputs at r8, the four weight rows at r9, r9 + r1 + 4, r10,
 * r10 + r1 + 4 (r1 = row stride - 4); STEP: 4 inputs times the 4 rows (one load, two
 * SXTAB16 for x - zp with the packed -zp in r0, then per row one load, two SXTB16, two
 * SMLAD: 23 instructions per 16 multiply-adds); NEXT: the group's outputs, the next four
 * weight rows, the next group or the return. */
#define ML_NETS_Q7__FC4_ENTER_ASM                                                         \
    "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                                       \
    "str r0, [sp, #-8]!\n"                                                                  \
    "1:\n\t"                                                                               \
    "ldr r0, [sp]\n\t"                                                                     \
    ML_NETS_Q7__GROUP_START_ASM                                                           \
    ML_NETS_Q7__FC4_ROWS_ASM
#define ML_NETS_Q7__FC4_ROWS_ASM                                                          \
    "ldr r8, [r0, #0]\n\t"                                                                 \
    "ldr r9, [r0, #4]\n\t"                                                                 \
    "ldr r1, [r0, #40]\n\t"                                                                \
    "add r10, r9, r1, lsl #1\n\t"                                                          \
    "sub r1, r1, #4\n\t"
#define ML_NETS_Q7__FC4_ROW_ASM(R, ADDR)                                                  \
    "ldr lr, " ADDR "\n\t"                                                                 \
    "sxtb16 r3, lr\n\t"                                                                    \
    "sxtb16 lr, lr, ror #8\n\t"                                                            \
    "smlad " R ", r11, r3, " R "\n\t"                                                      \
    "smlad " R ", r12, lr, " R "\n\t"
#define ML_NETS_Q7__FC4_STEP_ASM                                                          \
    "ldr r12, [r8], #4\n\t"                                                                \
    "sxtab16 r11, r0, r12\n\t"                                                             \
    "sxtab16 r12, r0, r12, ror #8\n\t"                                                     \
    ML_NETS_Q7__FC4_ROW_ASM("r4", "[r9], #4") ML_NETS_Q7__FC4_ROW_ASM("r5", "[r9, r1]")     \
    ML_NETS_Q7__FC4_ROW_ASM("r6", "[r10], #4") ML_NETS_Q7__FC4_ROW_ASM("r7", "[r10, r1]")
#define ML_NETS_Q7__FC4_NEXT_ASM                                                          \
    ML_NETS_Q7__GROUP_END_ASM                                                             \
    "ldr r10, [r0, #4]\n\t"                                                                \
    "ldr r11, [r0, #40]\n\t"                                                               \
    "add r10, r10, r11, lsl #2\n\t"                                                        \
    "str r10, [r0, #4]\n\t"                                                                \
    ML_NETS_Q7__GROUPS_LOOP_ASM

/* The kernels' last lines: one group fewer (c->n_c4), the next one (label 1) or the
 * return (the state pointer's slot and the saved registers popped). */
#define ML_NETS_Q7__GROUPS_LOOP_ASM                                                       \
    "ldr r10, [r0, #24]\n\t"                                                               \
    "subs r10, r10, #1\n\t"                                                                \
    "str r10, [r0, #24]\n\t"                                                               \
    "bne 1b\n\t"                                                                           \
    "add sp, sp, #8\n\t"                                                                   \
    "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}"

/* Every group of four outputs of one row of a dense / pointwise op on the short
 * requantization path, in assembly: per 4 inputs one load and two SXTAB16 (x - zp,
 * widened once for the four rows), and per row one load, two SXTB16 and two SMLAD (25
 * instructions per 16 multiply-adds) into the sums r4-r7, then the requantization. A
 * naked function (basic assembly only): c arrives in r0 and is updated. */
static __attribute__((naked, noinline, unused)) void
ml_nets_q7__fc4n(ml_nets_q7__kctx_t *c __attribute__((unused)))
{
    __asm__(ML_NETS_Q7__FC4_ENTER_ASM
            "ldr r2, [r0, #36]\n\t"
            "ldr r0, [r0, #28]\n"             /* nzp */
            "2:\n\t"
            ML_NETS_Q7__FC4_STEP_ASM
            "cmp r8, r2\n\t"
            "bne 2b\n\t"
            "ldr r0, [sp]\n\t"
            ML_NETS_Q7__FC4_NEXT_ASM);
}

/* ml_nets_q7__fc4n over the taps of one output pixel of a regular convolution whose
 * channels come in whole words (in_c a multiple of 4, columns stride 1): n_ky kernel rows of
 * n_kx (bytes: taps x in_c) contiguous inputs and weights each; after a row the input
 * advances x_row_adv and the four weight rows w_row_adv. Same 25 instructions per 16
 * multiply-adds and the same requantization; the row walk costs about 11 per kernel row.
 * A naked function: c arrives in r0 and is updated (ky_left is scratch). */
static __attribute__((naked, noinline, unused)) void
ml_nets_q7__fc4n2d(ml_nets_q7__kctx_t *c __attribute__((unused)))
{
    __asm__(ML_NETS_Q7__FC4_ENTER_ASM
            "ldr r3, [r0, #44]\n\t"
            "str r3, [r0, #60]\n\t"          /* kernel rows left */
            "ldr r2, [r0, #48]\n\t"
            "add r2, r8, r2\n\t"             /* the end of this kernel row's inputs */
            "ldr r0, [r0, #28]\n"             /* nzp */
            "2:\n\t"
            ML_NETS_Q7__FC4_STEP_ASM
            "cmp r8, r2\n\t"
            "bne 2b\n\t"
            "ldr r11, [sp]\n\t"              /* the next kernel row, if any */
            "ldr r12, [r11, #60]\n\t"
            "subs r12, r12, #1\n\t"
            "beq 3f\n\t"
            "str r12, [r11, #60]\n\t"
            "ldr r12, [r11, #52]\n\t"
            "add r8, r8, r12\n\t"
            "ldr r12, [r11, #56]\n\t"
            "add r9, r9, r12\n\t"
            "add r10, r10, r12\n\t"
            "ldr r12, [r11, #48]\n\t"
            "add r2, r8, r12\n\t"
            "b 2b\n"
            "3:\n\t"
            "ldr r0, [sp]\n\t"
            ML_NETS_Q7__FC4_NEXT_ASM);
}

/* Two output pixels of a regular convolution at a time, two output channels per group:
 * the pixels' windows widened once (x - zp as 16-bit pairs, interleaved per 4 inputs:
 * A (x0, x2), A (x1, x3), B (x0, x2), B (x1, x3) from c->x to c->xe, ml_nets_q7__conv), so
 * each weight word feeds four SMLAD: per 4 inputs one LDM, and per row one load, two
 * SXTB16 and four SMLAD (16 instructions per 16 multiply-adds: the loop runs two steps, an
 * odd count enters at the second). Every group of two channels (n_c4 groups: out_c / 2)
 * requantizes its four sums as the kernels above, each channel's multiplier and shift
 * loaded once for both pixels; outputs of pixel A at y, of pixel B at y + n_kx (out_c).
 * Weight rows are ws bytes apart and read in words (up to 3 bytes past a row of a length
 * that is not a multiple of 4: times the zero padding of the window). A naked function:
 * c arrives in r0 and is updated. */
#define ML_NETS_Q7__FC2X2_CH_ASM(ADDR, A, B)                                             \
    "ldr r12, " ADDR "\n\t"                                                                \
    "sxtb16 lr, r12\n\t"                                                                   \
    "sxtb16 r12, r12, ror #8\n\t"                                                          \
    "smlad " A ", r8, lr, " A "\n\t"                                                       \
    "smlad " A ", r9, r12, " A "\n\t"                                                      \
    "smlad " B ", r10, lr, " B "\n\t"                                                      \
    "smlad " B ", r11, r12, " B "\n\t"
#define ML_NETS_Q7__FC2X2_STEP_ASM                                                       \
    "ldm r1!, {r8, r9, r10, r11}\n\t"                                                      \
    ML_NETS_Q7__FC2X2_CH_ASM("[r2], #4", "r4", "r6")                                       \
    ML_NETS_Q7__FC2X2_CH_ASM("[r2, r3]", "r5", "r7")
static __attribute__((naked, noinline, unused)) void
ml_nets_q7__fc2x2(ml_nets_q7__kctx_t *c __attribute__((unused)))
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "str r0, [sp, #-8]!\n"
            "1:\n\t"                          /* two output channels of both pixels */
            "ldr r0, [sp]\n\t"
            "ldr r10, [r0, #12]\n\t"
            "ldm r10!, {r4, r5}\n\t"         /* A: channels c, c + 1 from the bias */
            "str r10, [r0, #12]\n\t"
            "mov r6, r4\n\t"                  /* B: the same */
            "mov r7, r5\n\t"
            "ldr r1, [r0, #0]\n\t"
            "ldr r2, [r0, #4]\n\t"
            "ldr r3, [r0, #40]\n\t"
            "sub r3, r3, #4\n\t"             /* channel c + 1's weights at [r2, r3] */
            "ldr r0, [r0, #36]\n\t"
            "sub r12, r0, r1\n\t"            /* 16 bytes per step: an odd count */
            "tst r12, #16\n\t"
            "bne 3f\n"
            "2:\n\t"
            ML_NETS_Q7__FC2X2_STEP_ASM
            "3:\n\t"
            ML_NETS_Q7__FC2X2_STEP_ASM
            "cmp r1, r0\n\t"
            "bne 2b\n\t"
            "ldr r0, [sp]\n\t"
            "ldr r8, [r0, #16]\n\t"
            "ldm r8!, {r1, r2}\n\t"          /* multipliers of c, c + 1 */
            "str r8, [r0, #16]\n\t"
            "ldr r8, [r0, #20]\n\t"
            "ldm r8!, {r10, r11}\n\t"        /* shifts */
            "str r8, [r0, #20]\n\t"
            "mvn r10, r10\n\t"
            "mvn r11, r11\n\t"
            "ldr r3, [r0, #32]\n\t"
            "ldr r12, [r0, #8]\n\t"
            "ldr lr, [r0, #48]\n\t"          /* pixel B's outputs at y + out_c */
            ML_NETS_Q7__RQ_CORE_ASM("r4", "r1", "r10")
            "strb r4, [r12]\n\t"
            ML_NETS_Q7__RQ_CORE_ASM("r5", "r2", "r11")
            "strb r5, [r12, #1]\n\t"
            ML_NETS_Q7__RQ_CORE_ASM("r6", "r1", "r10")
            "strb r6, [r12, lr]\n\t"
            ML_NETS_Q7__RQ_CORE_ASM("r7", "r2", "r11")
            "add lr, r12, lr\n\t"
            "strb r7, [lr, #1]\n\t"
            "add r12, r12, #2\n\t"
            "str r12, [r0, #8]\n\t"
            "ldr r10, [r0, #4]\n\t"           /* the next two weight rows */
            "ldr r11, [r0, #40]\n\t"
            "add r10, r10, r11, lsl #1\n\t"
            "str r10, [r0, #4]\n\t"
            ML_NETS_Q7__GROUPS_LOOP_ASM);
}

/* Every group of four outputs of one dense row whose weights are stored in blocks
 * (ML_NETS_Q7_BLK: per group of four rows, per 4 inputs, the four rows' 4 bytes: one LDM
 * of 16 bytes), over the row's inputs widened once (c->x .. c->xe: per 4 inputs the words
 * (x0 - zp, x2 - zp), (x1 - zp, x3 - zp), ml_nets_q7__widen1): per 4 inputs one LDRD,
 * one LDM, eight SXTB16 and eight SMLAD (18 instructions per 16 multiply-adds; the loop
 * runs two steps, an odd count enters at the second), then the requantization of
 * ml_nets_q7__fc4n. A naked function: c arrives in r0 and is updated (c->w: the next
 * group's block). */
#define ML_NETS_Q7__FC4B_ROW_ASM(A, W)                                                   \
    "sxtb16 lr, " W ", ror #8\n\t"                                                         \
    "sxtb16 " W ", " W "\n\t"                                                              \
    "smlad " A ", r2, " W ", " A "\n\t"                                                    \
    "smlad " A ", r3, lr, " A "\n\t"
#define ML_NETS_Q7__FC4B_STEP_ASM                                                        \
    "ldrd r2, r3, [r1], #8\n\t"                                                            \
    "ldm r12!, {r8, r9, r10, r11}\n\t"                                                     \
    ML_NETS_Q7__FC4B_ROW_ASM("r4", "r8") ML_NETS_Q7__FC4B_ROW_ASM("r5", "r9")               \
    ML_NETS_Q7__FC4B_ROW_ASM("r6", "r10") ML_NETS_Q7__FC4B_ROW_ASM("r7", "r11")
static __attribute__((naked, noinline, unused)) void
ml_nets_q7__fc4b(ml_nets_q7__kctx_t *c __attribute__((unused)))
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "str r0, [sp, #-8]!\n"
            "1:\n\t"
            "ldr r0, [sp]\n\t"
            ML_NETS_Q7__GROUP_START_ASM
            "ldr r12, [r0, #4]\n\t"
            "ldr r1, [r0, #0]\n\t"
            "ldr r0, [r0, #36]\n\t"
            "sub r2, r0, r1\n\t"             /* 8 bytes per step: an odd count */
            "tst r2, #8\n\t"
            "bne 3f\n"
            "2:\n\t"
            ML_NETS_Q7__FC4B_STEP_ASM
            "3:\n\t"
            ML_NETS_Q7__FC4B_STEP_ASM
            "cmp r1, r0\n\t"
            "bne 2b\n\t"
            "ldr r0, [sp]\n\t"
            "str r12, [r0, #4]\n\t"
            ML_NETS_Q7__GROUP_END_ASM
            ML_NETS_Q7__GROUPS_LOOP_ASM);
}

/* m > 0 words of inputs at x widened for ml_nets_q7__fc4b at o (per word (x0 - zp,
 * x2 - zp), (x1 - zp, x3 - zp); nzp = -zp in both halves). */
static inline void ml_nets_q7__widen1(const int8_t *x, int32_t m, int32_t nzp, uint32_t *o)
{
    __asm__ volatile("1:\n\t"
                     "ldr r4, [%[x]], #4\n\t"
                     "sxtab16 r5, %[nzp], r4, ror #8\n\t"
                     "sxtab16 r4, %[nzp], r4\n\t"
                     "stmia %[o]!, {r4, r5}\n\t"
                     "subs %[m], %[m], #1\n\t"
                     "bne 1b"
                     : [x] "+r"(x), [o] "+r"(o), [m] "+r"(m)
                     : [nzp] "r"(nzp)
                     : "r4", "r5", "cc", "memory");
}

/* rq_right bit 4: the op's weights are stored in blocks for ml_nets_q7__fc4b (set by the
 * generated header's op table on Cortex-M4F / M7 only, where the table is re-laid; 0
 * elsewhere, and never in a model file) */
#define ML_NETS_Q7_BLK 16
#define ML_NETS_Q7_ALIGN4 __attribute__((aligned(4)))

/* the largest window (k_h k_w in_c values) ml_nets_q7__fc2x2 widens for two pixels
 * (4 bytes per value on the stack of ml_nets_q7__conv) */
#define ML_NETS_Q7_WIDE_MAX 288
#endif

#ifdef ML_NETS_Q7__VFP
/* the longest dense row that ml_nets_q7__fc pads to whole words on the stack (longer rows
 * whose length is not a multiple of 4 run the C SIMD loop) */
#define ML_NETS_Q7_PAD_MAX 64
#else
#define ML_NETS_Q7_BLK 0 /* no blocked weights without ml_nets_q7__fc4b */
#define ML_NETS_Q7_ALIGN4
#endif

static inline ML_NETS_Q7_HOT int8_t ml_nets_q7__out(const ml_nets_q7_op_t *op, int32_t acc,
                                                    int32_t o)
{
    const ml_nets_q7_rq_t rq = ml_nets_q7__rq(op);
    return ml_nets_q7__rqout(&rq, acc, o);
}

/* rows of n_in int8 inputs -> rows of n_out outputs (w[out][in]). Output row r is written
 * only after input row r was read for the last time, so y may overlap x when every output
 * row ends at or before the start of its input row (the planner's overlapping pointwise
 * convolution: y + (r + 1) n_out <= x + r n_in for every r). */
static inline void ml_nets_q7__fc(const ml_nets_q7_op_t *op, const ml_nets_q7_rq_t *rqp,
                                  const int8_t *x, int8_t *y, int32_t rows, int32_t n_in,
                                  int32_t n_out)
{
    const ml_nets_q7_rq_t rq = *rqp;
    const int8_t *const w0 = op->w;
    const int32_t zp = op->in_zp;
    int32_t r, o, j;
#ifdef ML_NETS_Q7__VFP
    /* on the short path every group of four outputs of a row in ml_nets_q7__fc4n; a row
     * that is not a multiple of 4 long is copied padded with the zero point (times the
     * next weight row's first weights: 0; past the last row the table's spare bytes,
     * rq_right bit 3) */
    const int32_t n4 = (n_in + 3) & ~(int32_t)3;
    const int fused = rq.fast == 7 && n_in > 0 && n_out >= 4 &&
                      (n4 == n_in || ((op->rq_right & 8) && n4 <= ML_NETS_Q7_PAD_MAX));
    int8_t pad[ML_NETS_Q7_PAD_MAX];
    ml_nets_q7__kctx_t fc;
    fc.ws = n_in;
    fc.out_zp = rq.zp;
    fc.nzp = ml_nets_q7__nzp(zp);
#endif
    for (r = 0; r < rows; r++) {
        const int8_t *xr = x + (size_t)r * (size_t)n_in;
        int8_t *yr = y + (size_t)r * (size_t)n_out;
        const int8_t *w = w0;
        o = 0;
#ifdef ML_NETS_Q7__VFP
        if (fused) {
            const int8_t *xs = xr;
            if (n4 != n_in) {
                for (j = 0; j < n4; j++) {
                    pad[j] = j < n_in ? xr[j] : (int8_t)zp;
                    ML_NETS_Q7__NO_MEMCPY();
                }
                xs = pad;
            }
            ml_nets_q7__kstart(&fc, xs, w0, yr, &rq, n_out >> 2);
            fc.xe = xs + n4;
            ml_nets_q7__fc4n(&fc);
            o = n_out & ~(int32_t)3;
            w += (size_t)o * (size_t)n_in;
        }
#endif
        for (; o + 4 <= n_out; o += 4) {
            int32_t acc[4];
            acc[0] = acc[1] = acc[2] = acc[3] = 0; /* no memset call */
            ml_nets_q7_dot4(xr, w, (size_t)n_in, n_in, zp, acc);
            w += 4 * (size_t)n_in;
#if defined(ML_NETS_SIMD32) && !defined(ML_NETS_Q7__VFP)
            /* the short path for the whole op, or one output at a time (rarely taken:
             * kept small); Cortex-M4F / M7 run the short path in ml_nets_q7__fc4n */
            if (rq.fast == 7) {
                ml_nets_q7__rq4short(&rq, acc, o, yr + o);
            } else {
                for (j = 0; j < 4; j++) {
                    yr[o + j] = ml_nets_q7__rqout(&rq, acc[j], o + j);
                }
            }
#elif defined(ML_NETS_Q7__VFP)
            for (j = 0; j < 4; j++) {
                yr[o + j] = ml_nets_q7__rqout(&rq, acc[j], o + j);
            }
#else
            (void)j;
            yr[o] = ml_nets_q7__rqout(&rq, acc[0], o);
            yr[o + 1] = ml_nets_q7__rqout(&rq, acc[1], o + 1);
            yr[o + 2] = ml_nets_q7__rqout(&rq, acc[2], o + 2);
            yr[o + 3] = ml_nets_q7__rqout(&rq, acc[3], o + 3);
#endif
        }
        for (; o < n_out; o++) {
            yr[o] = ml_nets_q7__rqout(&rq, ml_nets_q7_dot(xr, w, n_in, zp, 0), o);
            w += n_in;
        }
    }
}

/* Fully connected over the last axis: g[2] rows of g[0] inputs -> rows of g[1] outputs
 * (w[out][in]). */
#ifdef ML_NETS_Q7__VFP
/* ml_nets_q7__fc for an op whose weights are stored in blocks (blocked: rq_right &
 * ML_NETS_Q7_BLK, where the generated header guarantees the short path, n_in a multiple
 * of 4 and four outputs or more): each row's input widened once into xw (n_in / 2 words),
 * every group of four outputs in ml_nets_q7__fc4b, the rows left over (stored plainly
 * after the blocks) in C; blocked = 0: every output in C. Called only where the
 * generated code passes a buffer, so that models without blocked weights do not link it. */
static inline void ml_nets_q7__fc_blk(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y,
                                      int32_t rows, int32_t n_in, int32_t n_out, uint32_t *xw,
                                      int blocked)
{
    const ml_nets_q7_rq_t rq = ml_nets_q7__rq(op);
    const int32_t start = blocked ? n_out & ~(int32_t)3 : 0;
    ml_nets_q7__kctx_t fc;
    int32_t r, o;
    fc.ws = n_in;
    fc.out_zp = rq.zp;
    fc.nzp = ml_nets_q7__nzp(op->in_zp);
    for (r = 0; r < rows; r++) {
        const int8_t *xr = x + (size_t)r * (size_t)n_in;
        int8_t *yr = y + (size_t)r * (size_t)n_out;
        if (blocked) {
            ml_nets_q7__widen1(xr, n_in >> 2, fc.nzp, xw);
            ml_nets_q7__kstart(&fc, (const int8_t *)xw, op->w, yr, &rq, n_out >> 2);
            fc.xe = (const int8_t *)(xw + (n_in >> 1));
            ml_nets_q7__fc4b(&fc);
        }
        for (o = start; o < n_out; o++) {
            yr[o] = ml_nets_q7__rqout(
                &rq, ml_nets_q7_dot(xr, op->w + (size_t)o * (size_t)n_in, n_in, op->in_zp, 0),
                o);
        }
    }
}
#endif

/* DENSE; xw (or NULL): n_in / 2 words for the input of an op whose weights are stored in
 * blocks (rq_right & ML_NETS_Q7_BLK, the generated header on Cortex-M4F / M7);
 * all_blocked (a constant): every dense op of the model is, so the other row kernels are
 * not linked in (an op without the flag then takes ml_nets_q7__fc_blk's C loop). */
static inline void ml_nets_q7__dense(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y,
                                     uint32_t *xw, int all_blocked)
{
    const int32_t rows = op->g[2] > 0 ? op->g[2] : 1;
    const ml_nets_q7_rq_t rq = ml_nets_q7__rq(op);
    (void)xw;
    (void)all_blocked;
#ifdef ML_NETS_Q7__VFP
    if (all_blocked || (xw != (uint32_t *)0 && (op->rq_right & ML_NETS_Q7_BLK))) {
        ml_nets_q7__fc_blk(op, x, y, rows, op->g[0], op->g[1], xw,
                           xw != (uint32_t *)0 && (op->rq_right & ML_NETS_Q7_BLK));
        return;
    }
#endif
    ml_nets_q7__fc(op, &rq, x, y, rows, op->g[0], op->g[1]);
}

static inline void ml_nets_q7_dense(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    ml_nets_q7__dense(op, x, y, (uint32_t *)0, 0);
}

/* the largest window (k_h * k_w * in_c values) gathered by ml_nets_q7_conv */
#define ML_NETS_Q7_WINDOW_MAX 64

/* 1 for a pointwise convolution: 1x1 kernel, stride 1, no padding (a dense layer over
 * the H x W pixels). */
static inline int ml_nets_q7__pointwise(const int32_t *g)
{
    return g[ML_NETS_G_K_H] == 1 && g[ML_NETS_G_K_W] == 1 && g[ML_NETS_G_S_H] == 1 &&
           g[ML_NETS_G_S_W] == 1 && g[ML_NETS_G_PAD_T] == 0 && g[ML_NETS_G_PAD_L] == 0 &&
           g[ML_NETS_G_OUT_H] == g[ML_NETS_G_IN_H] && g[ML_NETS_G_OUT_W] == g[ML_NETS_G_IN_W];
}

/* acc[j] += sum over the taps of (x - zp) * w for the four neighbouring channels j < 4 of
 * a depthwise convolution with multiplier 1 (x and w step by x_step / w_step per column,
 * x_row / w_row per kernel row). On Cortex-M4/M7 one word load of each feeds four
 * 16 x 16 multiply-adds (SMLABB / SMLATT on the widened halves). */
ML_NETS_Q7_LOOP void ml_nets_q7__dw4(const int8_t *xr, const int8_t *wr, int32_t n_ky,
                                   int32_t n_kx, size_t x_step, size_t w_step, size_t x_row,
                                   size_t w_row, int32_t zp, int32_t *acc)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, ky, kx;
#ifdef ML_NETS_SIMD32
    const int32_t nzp = ml_nets_q7__nzp(zp);
#endif
    for (ky = 0; ky < n_ky; ky++) {
        const int8_t *xp = xr;
        const int8_t *wp = wr;
        for (kx = 0; kx < n_kx; kx++) {
#ifdef ML_NETS_SIMD32
            uint32_t xv, wv;
            memcpy(&xv, xp, 4);
            memcpy(&wv, wp, 4);
            {
                const int32_t xe = __sxtab16(nzp, (int32_t)xv);
                const int32_t xo = __sxtab16(nzp, (int32_t)((xv >> 8) | (xv << 24)));
                const int32_t we = __sxtb16((int32_t)wv);
                const int32_t wo = __sxtb16((int32_t)((wv >> 8) | (wv << 24)));
                a0 = __smlabb(xe, we, a0);
                a2 = __smlatt(xe, we, a2);
                a1 = __smlabb(xo, wo, a1);
                a3 = __smlatt(xo, wo, a3);
            }
#else
            a0 += ((int32_t)xp[0] - zp) * (int32_t)ML_NETS_Q7_W(wp + 0);
            a1 += ((int32_t)xp[1] - zp) * (int32_t)ML_NETS_Q7_W(wp + 1);
            a2 += ((int32_t)xp[2] - zp) * (int32_t)ML_NETS_Q7_W(wp + 2);
            a3 += ((int32_t)xp[3] - zp) * (int32_t)ML_NETS_Q7_W(wp + 3);
#endif
            xp += x_step;
            wp += w_step;
        }
        xr += x_row;
        wr += w_row;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The taps k in [*k0, *k1) of a kernel of size k_n (dilation d) starting at input
 * position p0 that fall inside [0, size). */
static inline void ml_nets_q7_taps(int32_t p0, int32_t d, int32_t k_n, int32_t size,
                                   int32_t *k0, int32_t *k1)
{
    const int32_t lo = p0 < 0 ? (-p0 + d - 1) / d : 0;
    const int32_t hi = size - p0 > 0 ? (size - p0 + d - 1) / d : 0;
    *k0 = lo;
    *k1 = hi < k_n ? hi : k_n;
}

#ifdef ML_NETS_Q7__VFP
/* m > 0 words of pixel A's inputs at pa and of pixel B's at pb widened for
 * ml_nets_q7__fc2x2 (per word A (x0 - zp, x2 - zp), A (x1 - zp, x3 - zp), then B's) at o;
 * returns the end. Leaves r7 and r9 alone (frame pointer, static base). */
static inline uint32_t *ml_nets_q7__widen_run(const int8_t *pa, const int8_t *pb, int32_t m,
                                              int32_t nzp, uint32_t *o)
{
    __asm__ volatile("1:\n\t"
                     "ldr r4, [%[pa]], #4\n\t"
                     "ldr r6, [%[pb]], #4\n\t"
                     "sxtab16 r5, %[nzp], r4, ror #8\n\t"
                     "sxtab16 r4, %[nzp], r4\n\t"
                     "sxtab16 r8, %[nzp], r6, ror #8\n\t"
                     "sxtab16 r6, %[nzp], r6\n\t"
                     "stmia %[o]!, {r4, r5, r6, r8}\n\t"
                     "subs %[m], %[m], #1\n\t"
                     "bne 1b"
                     : [pa] "+r"(pa), [pb] "+r"(pb), [o] "+r"(o), [m] "+r"(m)
                     : [nzp] "r"(nzp)
                     : "r4", "r5", "r6", "r8", "cc", "memory");
    return o;
}
#endif

#ifdef ML_NETS_Q7__VFP
/* The windows of output pixels A (columns from x0) and B (x0 + stride) of a regular
 * convolution (in_c a multiple of 4, stride-1 columns), kernel rows ky0..ky1-1 (those
 * inside the input), widened for ml_nets_q7__fc2x2: per 4 channels of a tap the words
 * A (x0 - zp, x2 - zp), A (x1 - zp, x3 - zp), B (...), B (...); a column in the padding
 * is 0 (TFLite skips it: the same sum). Returns the words written. Out of line: its
 * own registers (inlined into the op loop it spills); the assembly leaves r7 and r9
 * alone (frame pointer, static base of position-independent builds). */
static __attribute__((noinline)) int32_t
ml_nets_q7__widen2(const int8_t *x, const int32_t *g, int32_t y0, int32_t ky0, int32_t ky1,
                   int32_t x0, int32_t nzp, uint32_t *out)
{
    const int32_t in_w = g[ML_NETS_G_IN_W], in_c = g[ML_NETS_G_IN_C], k_w = g[ML_NETS_G_K_W];
    const int32_t xb = x0 + g[ML_NETS_G_S_W];
    /* a column in the padding reads in_c bytes of the zero point: x - zp = 0 */
    int8_t zrow[ML_NETS_Q7_WIDE_MAX];
    uint32_t *o = out;
    int32_t ky, kx, i;
    for (i = 0; i < in_c; i++) {
        zrow[i] = (int8_t)(0 - (int32_t)(int16_t)nzp);
    }
    for (ky = ky0; ky < ky1; ky++) {
        const int8_t *row = x + (size_t)(y0 + ky * g[ML_NETS_G_D_H]) * (size_t)in_w *
                                    (size_t)in_c;
        /* both windows' rows inside the input: one run of k_w in_c bytes each */
        const int inside = x0 >= 0 && xb + k_w <= in_w;
        for (kx = 0; kx < (inside ? 1 : k_w); kx++) {
            const int32_t ia = x0 + kx, ib = xb + kx;
            const int8_t *pa = ia >= 0 && ia < in_w ? row + (size_t)ia * (size_t)in_c : zrow;
            const int8_t *pb = ib >= 0 && ib < in_w ? row + (size_t)ib * (size_t)in_c : zrow;
            o = ml_nets_q7__widen_run(pa, pb, (inside ? k_w * in_c : in_c) >> 2, nzp, o);
        }
    }
    return (int32_t)(o - out);
}
#endif

/* The window of one output pixel of a regular convolution whose first tap is input row y0,
 * column x0 (either may lie in the padding) gathered into col (k_h k_w in_c bytes; taps in
 * the padding as the zero point: (zp - zp) w = 0, as TFLite's skipped taps). Out of line:
 * the pair path calls it twice. */
ML_NETS_Q7_LOOP void ml_nets_q7__gather(const int32_t *g, const int8_t *x, int32_t zp,
                                        int32_t y0, int32_t x0, int8_t *col)
{
    const int32_t in_h = g[ML_NETS_G_IN_H], in_w = g[ML_NETS_G_IN_W], in_c = g[ML_NETS_G_IN_C];
    const int32_t k_h = g[ML_NETS_G_K_H], k_w = g[ML_NETS_G_K_W];
    const int32_t d_h = g[ML_NETS_G_D_H], d_w = g[ML_NETS_G_D_W];
    int8_t *c = col;
    int32_t ky, kx, i;
    if (d_w == 1 && y0 >= 0 && y0 + (k_h - 1) * d_h < in_h && x0 >= 0 && x0 + k_w <= in_w) {
        /* an interior window: k_h runs of k_w in_c bytes */
        const int32_t run = k_w * in_c;
        const size_t x_row = (size_t)d_h * (size_t)in_w * (size_t)in_c;
        const int8_t *xp = x + ((size_t)y0 * (size_t)in_w + (size_t)x0) * (size_t)in_c;
        for (ky = 0; ky < k_h; ky++) {
            for (i = 0; i < run; i++) {
                c[i] = xp[i];
                ML_NETS_Q7__NO_MEMCPY();
            }
            c += run;
            xp += x_row;
        }
        return;
    }
    for (ky = 0; ky < k_h; ky++) {
        const int32_t iy = y0 + ky * d_h;
        for (kx = 0; kx < k_w; kx++) {
            const int32_t ix = x0 + kx * d_w;
            const int in = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            /* one select per value (not a memcpy / memset call per tap) */
            const int8_t *xp =
                in ? x + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c : x;
            for (i = 0; i < in_c; i++) {
                c[i] = in ? xp[i] : (int8_t)zp;
            }
            c += in_c;
        }
    }
}

/* The assembly kernels a regular convolution may take on Cortex-M4F / M7 (the `kernels`
 * mask of ml_nets_q7__conv): ml_nets_q7__fc4n2d for windows of whole words of channels,
 * ml_nets_q7__fc2x2 for two such pixels at a time (with ML_NETS_Q7_K_ROWS), and
 * ml_nets_q7__fc2x2 for two gathered windows (at most ML_NETS_Q7_WINDOW_MAX values). */
#define ML_NETS_Q7_K_ROWS 1
#define ML_NETS_Q7_K_PAIR 2
#define ML_NETS_Q7_K_PAIR_SMALL 4
#define ML_NETS_Q7_K_ALL 7
/* with the pair kernels: the caller passes the widened windows' buffer (xw, as many words
 * as the largest such window has values, rounded up to 4), so ml_nets_q7__conv's frame
 * does not hold its own (1,152 bytes for the largest window) */
#define ML_NETS_Q7_K_SCRATCH 8
/* pointwise convolutions may have their weights stored in blocks (xw: their inputs) */
#define ML_NETS_Q7_K_BLOCKED 16

/* CONV2D (w[out_c][k_h][k_w][in_c]) and DEPTHWISE (w[k_h][k_w][in_c * mult]); taps in
 * the padding are skipped (they contribute 0 in TFLite's arithmetic). kernels: the
 * ML_NETS_Q7_K_* the convolutions may use (a constant: the generated code passes what
 * its convolutions can use, so the other kernels are not linked in). xw (or NULL): in_c / 2
 * words for a pointwise convolution whose weights are stored in blocks (ml_nets_q7__dense,
 * with ML_NETS_Q7_K_BLOCKED), and with ML_NETS_Q7_K_SCRATCH the pair kernels' buffer. */
static inline void ml_nets_q7__conv(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y,
                                    int kernels, uint32_t *xw)
{
    const int32_t *g = op->g;
    const int32_t in_w = g[ML_NETS_G_IN_W], in_c = g[ML_NETS_G_IN_C];
    const int32_t out_c = g[ML_NETS_G_OUT_C], k_h = g[ML_NETS_G_K_H], k_w = g[ML_NETS_G_K_W];
    const int32_t d_h = g[ML_NETS_G_D_H], d_w = g[ML_NETS_G_D_W];
    const int32_t depthwise = op->kind == ML_NETS_Q7_DEPTHWISE;
    const int32_t mult = g[ML_NETS_G_MULT] > 0 ? g[ML_NETS_G_MULT] : 1;
    const int32_t zp = op->in_zp;
    const ml_nets_q7_rq_t rq = ml_nets_q7__rq(op);
    const size_t x_step = (size_t)d_w * (size_t)in_c;
    const size_t x_row = (size_t)d_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row = (size_t)k_w * (size_t)(depthwise ? out_c : in_c);
    const size_t w_out = (size_t)k_h * w_row; /* conv: weights per output channel */
    int32_t oy, ox, oc, j;
    (void)kernels;
    (void)xw;
    if (!depthwise && ml_nets_q7__pointwise(g)) {
#ifdef ML_NETS_Q7__VFP
        if ((kernels & ML_NETS_Q7_K_BLOCKED) && (op->rq_right & ML_NETS_Q7_BLK)) {
            ml_nets_q7__fc_blk(op, x, y, g[ML_NETS_G_IN_H] * in_w, in_c, out_c, xw, 1);
            return;
        }
#endif
        ml_nets_q7__fc(op, &rq, x, y, g[ML_NETS_G_IN_H] * in_w, in_c, out_c);
        return;
    }
    if (!depthwise && (int64_t)k_h * k_w * in_c <= ML_NETS_Q7_WINDOW_MAX) {
        /* small windows: each output pixel's window gathered, then one dense row over the
         * weights w[out_c][k_h * k_w * in_c] */
        const int32_t n = k_h * k_w * in_c;
        int8_t *dst;
#ifdef ML_NETS_Q7__VFP
        /* the short path: each window padded with the zero point to whole words (times
         * the next row's first weights: 0) and its groups of four outputs in
         * ml_nets_q7__fc4n, which then reads up to 3 bytes past the last weight row
         * (rq_right bit 3: the table has them); or two pixels' windows (A at col, B at
         * col + n4) widened into wide for ml_nets_q7__fc2x2. ml_nets_q7__fc would do the
         * same per call, but its set-up and row copy per pixel cost the CNN of
         * benchmarks/RESULTS_nets.md 11% more instructions: the pad is written once */
        int8_t col[2 * ML_NETS_Q7_WINDOW_MAX];
        /* the pair buffer: the caller's (ML_NETS_Q7_K_SCRATCH) or a local one (not
         * allocated without the pair path) */
        uint32_t wide_own[ML_NETS_Q7_WINDOW_MAX];
        uint32_t *const wide = (kernels & ML_NETS_Q7_K_SCRATCH) ? xw : wide_own;
        int32_t i0;
        const int32_t n4 = (n + 3) & ~(int32_t)3;
        const int win_fused = rq.fast == 7 && out_c >= 4 && ((n & 3) == 0 || (op->rq_right & 8));
        const int win_pair = (kernels & ML_NETS_Q7_K_PAIR_SMALL) && win_fused && (out_c & 1) == 0;
        ml_nets_q7__kctx_t fc;
        fc.ws = n;
        fc.out_zp = rq.zp;
        fc.nzp = ml_nets_q7__nzp(zp);
        fc.n_kx = out_c; /* fc2x2: pixel B's outputs follow pixel A's */
        for (i0 = n; i0 < n4; i0++) {
            col[i0] = (int8_t)zp;
            col[n4 + i0] = (int8_t)zp;
        }
#else
        int8_t col[ML_NETS_Q7_WINDOW_MAX];
#endif
        for (oy = 0; oy < g[ML_NETS_G_OUT_H]; oy++) {
            const int32_t y0 = oy * g[ML_NETS_G_S_H] - g[ML_NETS_G_PAD_T];
            for (ox = 0; ox < g[ML_NETS_G_OUT_W]; ox++) {
                const int32_t x0 = ox * g[ML_NETS_G_S_W] - g[ML_NETS_G_PAD_L];
                ml_nets_q7__gather(g, x, zp, y0, x0, col);
                dst = y + ((size_t)oy * (size_t)g[ML_NETS_G_OUT_W] + (size_t)ox) * (size_t)out_c;
#ifdef ML_NETS_Q7__VFP
                if (win_pair && ox + 1 < g[ML_NETS_G_OUT_W]) {
                    uint32_t *e;
                    ml_nets_q7__gather(g, x, zp, y0, x0 + g[ML_NETS_G_S_W], col + n4);
                    e = ml_nets_q7__widen_run(col, col + n4, n4 >> 2, fc.nzp, wide);
                    ml_nets_q7__kstart(&fc, (const int8_t *)wide, op->w, dst, &rq, out_c >> 1);
                    fc.xe = (const int8_t *)e;
                    ml_nets_q7__fc2x2(&fc);
                    ox++;
                    continue;
                }
                if (win_fused) {
                    ml_nets_q7__kstart(&fc, col, op->w, dst, &rq, out_c >> 2);
                    fc.xe = col + n4;
                    ml_nets_q7__fc4n(&fc);
                    for (oc = out_c & ~(int32_t)3; oc < out_c; oc++) {
                        dst[oc] = ml_nets_q7__rqout(
                            &rq, ml_nets_q7_dot(col, op->w + (size_t)oc * (size_t)n, n, zp, 0),
                            oc);
                    }
                    continue;
                }
#endif
                ml_nets_q7__fc(op, &rq, col, dst, 1, n, out_c);
            }
        }
        return;
    }
#ifdef ML_NETS_Q7__VFP
    /* depthwise, multiplier 1, stride-1 columns, short path: each pixel's groups of four
     * channels in ml_nets_q7__dw4n; regular convolutions over whole words of channels
     * (stride-1 columns): each pixel's groups of four outputs in ml_nets_q7__fc4n2d */
    const int dw_fused = depthwise && mult == 1 && d_w == 1 && rq.fast == 7 && out_c >= 4;
    const int cv_fused = (kernels & ML_NETS_Q7_K_ROWS) && !depthwise && (in_c & 3) == 0 && d_w == 1 &&
                         rq.fast == 7 && out_c >= 4;
    /* and two pixels at a time (ml_nets_q7__fc2x2) when their widened windows fit */
    const int cv_pair = cv_fused && (kernels & ML_NETS_Q7_K_PAIR) && (out_c & 1) == 0 &&
                        (int64_t)k_h * k_w * in_c <= ML_NETS_Q7_WIDE_MAX;
    uint32_t wide_own[ML_NETS_Q7_WIDE_MAX]; /* or the caller's (ML_NETS_Q7_K_SCRATCH) */
    uint32_t *const wide = (kernels & ML_NETS_Q7_K_SCRATCH) ? xw : wide_own;
    ml_nets_q7__kctx_t dc;
    dc.ky_left = 0;
    dc.ws = depthwise ? (int32_t)x_step : (int32_t)w_out;
    dc.nzp = ml_nets_q7__nzp(zp);
    dc.out_zp = rq.zp;
#endif
    for (oy = 0; oy < g[ML_NETS_G_OUT_H]; oy++) {
        const int32_t y0 = oy * g[ML_NETS_G_S_H] - g[ML_NETS_G_PAD_T];
        int32_t ky0, ky1;
        ml_nets_q7_taps(y0, d_h, k_h, g[ML_NETS_G_IN_H], &ky0, &ky1);
        for (ox = 0; ox < g[ML_NETS_G_OUT_W]; ox++) {
            const int32_t x0 = ox * g[ML_NETS_G_S_W] - g[ML_NETS_G_PAD_L];
            int8_t *dst = y + ((size_t)oy * (size_t)g[ML_NETS_G_OUT_W] + (size_t)ox) *
                              (size_t)out_c;
#ifdef ML_NETS_Q7__VFP
            if (cv_pair && ox + 1 < g[ML_NETS_G_OUT_W] && ky1 > ky0) {
                const int32_t n_w = ml_nets_q7__widen2(x, g, y0, ky0, ky1, x0, dc.nzp, wide);
                ml_nets_q7__kstart(&dc, (const int8_t *)wide, op->w + (size_t)ky0 * w_row,
                                   dst, &rq, out_c >> 1);
                dc.xe = (const int8_t *)(wide + n_w);
                dc.n_kx = out_c; /* pixel B's outputs follow pixel A's */
                ml_nets_q7__fc2x2(&dc);
                ox++;
                continue;
            }
#endif
            int32_t kx0, kx1;
            ml_nets_q7_taps(x0, d_w, k_w, in_w, &kx0, &kx1);
            const int32_t n_kx = kx1 - kx0;
            /* the first valid tap (row ky0, column kx0, channel 0) in the input */
            const int8_t *src0 = x + ((size_t)(y0 + ky0 * d_h) * (size_t)in_w +
                                      (size_t)(x0 + kx0 * d_w)) * (size_t)in_c;
            oc = 0;
#ifdef ML_NETS_Q7__VFP
            if (dw_fused && n_kx > 0 && ky1 > ky0) {
                ml_nets_q7__kstart(&dc, src0, op->w + (size_t)ky0 * w_row +
                                   (size_t)kx0 * (size_t)out_c, dst, &rq, out_c >> 2);
                dc.n_ky = ky1 - ky0;
                dc.n_kx = n_kx;
                dc.x_row_adv = (int32_t)x_row - n_kx * dc.ws;
                dc.w_row_adv = (int32_t)w_row - n_kx * dc.ws;
                ml_nets_q7__dw4n(&dc);
                oc = out_c & ~(int32_t)3;
            } else if (cv_fused && n_kx > 0 && ky1 > ky0) {
                ml_nets_q7__kstart(&dc, src0, op->w + (size_t)ky0 * w_row +
                                   (size_t)kx0 * (size_t)in_c, dst, &rq, out_c >> 2);
                dc.n_ky = ky1 - ky0;
                dc.n_kx = n_kx * in_c; /* bytes per kernel row */
                dc.x_row_adv = (int32_t)x_row - dc.n_kx;
                dc.w_row_adv = (int32_t)w_row - dc.n_kx;
                ml_nets_q7__fc4n2d(&dc);
                oc = out_c & ~(int32_t)3;
            }
#endif
            for (; oc < out_c; oc += 4) {
                int32_t acc[4];
                acc[0] = acc[1] = acc[2] = acc[3] = 0; /* no memset call */
                const int32_t n_oc = out_c - oc < 4 ? out_c - oc : 4;
                int32_t ky, kx;
                if (depthwise && mult == 1 && n_oc == 4) {
                    ml_nets_q7__dw4(src0 + oc, op->w + (size_t)ky0 * w_row +
                                    (size_t)kx0 * (size_t)out_c + (size_t)oc, ky1 - ky0, n_kx,
                                    x_step, (size_t)out_c, x_row, w_row, zp, acc);
                } else if (depthwise) {
                    /* c = (oc + j) / mult without a division */
                    int32_t c = 0, q = 0, t;
                    if (mult == 1) {
                        c = oc;
                    } else {
                        for (t = 0; t < oc; t++) {
                            if (++q == mult) {
                                q = 0;
                                c++;
                            }
                        }
                    }
                    for (j = 0; j < n_oc; j++) {
                        const int8_t *xr = src0 + c;
                        const int8_t *wr = op->w + (size_t)ky0 * w_row +
                                           (size_t)kx0 * (size_t)out_c + (size_t)(oc + j);
                        int32_t a = 0;
                        for (ky = ky0; ky < ky1; ky++) {
                            const int8_t *xp = xr;
                            const int8_t *wp = wr;
                            for (kx = 0; kx < n_kx; kx++) {
                                a += ((int32_t)*xp - zp) * (int32_t)ML_NETS_Q7_W(wp);
                                xp += x_step;
                                wp += out_c;
                            }
                            xr += x_row;
                            wr += w_row;
                        }
                        acc[j] = a;
                        if (++q == mult) {
                            q = 0;
                            c++;
                        }
                    }
                } else {
                    const int8_t *wo = op->w + (size_t)oc * w_out + (size_t)ky0 * w_row +
                                       (size_t)kx0 * (size_t)in_c;
                    const int8_t *xr = src0;
                    for (ky = ky0; ky < ky1; ky++) {
                        if (n_oc == 4 && d_w == 1) { /* the row's taps are contiguous */
                            ml_nets_q7_dot4(xr, wo, w_out, n_kx * in_c, zp, acc);
                        } else {
                            for (j = 0; j < n_oc; j++) {
                                const int8_t *wj = wo + (size_t)j * w_out;
                                for (kx = 0; kx < n_kx; kx++) {
                                    acc[j] = ml_nets_q7_dot(xr + (size_t)kx * x_step,
                                                            wj + (size_t)kx * (size_t)in_c,
                                                            in_c, zp, acc[j]);
                                }
                            }
                        }
                        xr += x_row;
                        wo += w_row;
                    }
                }
#if defined(ML_NETS_SIMD32) && !defined(ML_NETS_Q7__VFP)
                if (n_oc == 4 && rq.fast == 7) {
                    ml_nets_q7__rq4short(&rq, acc, oc, dst + oc);
                    continue;
                }
#endif
                for (j = 0; j < n_oc; j++) {
                    dst[oc + j] = ml_nets_q7__rqout(&rq, acc[j], oc + j);
                }
            }
        }
    }
}

/* CONV2D / DEPTHWISE (see ml_nets_q7__conv) with every kernel. */
static inline void ml_nets_q7_conv(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    ml_nets_q7__conv(op, x, y, ML_NETS_Q7_K_ALL, (uint32_t *)0);
}

static inline void ml_nets_q7_pool(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    const int32_t *g = op->g;
    const int32_t in_h = g[ML_NETS_G_IN_H], in_w = g[ML_NETS_G_IN_W], c_n = g[ML_NETS_G_IN_C];
    const int is_max = op->kind == ML_NETS_Q7_MAX_POOL;
    int32_t oy, ox, c;
    for (oy = 0; oy < g[ML_NETS_G_OUT_H]; oy++) {
        const int32_t y0 = oy * g[ML_NETS_G_S_H] - g[ML_NETS_G_PAD_T];
        const int32_t ky0 = y0 < 0 ? -y0 : 0;
        const int32_t ky1 = in_h - y0 < g[ML_NETS_G_K_H] ? in_h - y0 : g[ML_NETS_G_K_H];
        for (ox = 0; ox < g[ML_NETS_G_OUT_W]; ox++) {
            const int32_t x0 = ox * g[ML_NETS_G_S_W] - g[ML_NETS_G_PAD_L];
            const int32_t kx0 = x0 < 0 ? -x0 : 0;
            const int32_t kx1 = in_w - x0 < g[ML_NETS_G_K_W] ? in_w - x0 : g[ML_NETS_G_K_W];
            int8_t *dst = y + ((size_t)oy * (size_t)g[ML_NETS_G_OUT_W] + (size_t)ox) *
                              (size_t)c_n;
            const int8_t *x0p = x + ((size_t)(y0 + ky0) * (size_t)in_w + (size_t)(x0 + kx0)) *
                                        (size_t)c_n;
            const int32_t n_ky = ky1 - ky0, n_kx = kx1 - kx0;
            const int32_t count = n_ky > 0 && n_kx > 0 ? n_ky * n_kx : 0;
            const size_t row = (size_t)in_w * (size_t)c_n;
            if (is_max && count > 0) {
                /* cells in order, all channels of a cell at a time (the maximum of the
                 * cells, then the clamp: the same values as starting from -128) */
                const int clamp = op->act_min > -128 || op->act_max < 127;
                int32_t ky, kx;
                c = 0;
#ifdef ML_NETS_Q7__VFP
                /* four channels per word: SSUB8 sets the GE flag of each byte where the
                 * cell's value >= the maximum so far, SEL takes those bytes */
                for (; c + 4 <= c_n; c += 4) {
                    const int8_t *xr = x0p + c;
                    uint32_t m, v;
                    memcpy(&m, xr, 4);
                    for (ky = 0; ky < n_ky; ky++) {
                        const int8_t *xp = xr;
                        for (kx = 0; kx < n_kx; kx++) {
                            uint32_t t;
                            memcpy(&v, xp, 4);
                            __asm__("ssub8 %[t], %[v], %[m]\n\t"
                                    "sel %[m], %[v], %[m]"
                                    : [m] "+r"(m), [t] "=&r"(t)
                                    : [v] "r"(v));
                            xp += c_n;
                        }
                        xr += row;
                    }
                    if (clamp) {
                        const uint32_t lo = (uint32_t)(uint8_t)(int8_t)op->act_min * 0x01010101u;
                        const uint32_t hi = (uint32_t)(uint8_t)(int8_t)op->act_max * 0x01010101u;
                        uint32_t t;
                        __asm__("ssub8 %[t], %[m], %[lo]\n\t"
                                "sel %[m], %[m], %[lo]\n\t"
                                "ssub8 %[t], %[hi], %[m]\n\t"
                                "sel %[m], %[m], %[hi]"
                                : [m] "+r"(m), [t] "=&r"(t)
                                : [lo] "r"(lo), [hi] "r"(hi));
                    }
                    memcpy(dst + c, &m, 4);
                }
#endif
                for (; c < c_n; c++) {
                    const int8_t *xr = x0p + c;
                    int32_t mx = -128;
                    for (ky = 0; ky < n_ky; ky++) {
                        const int8_t *xp = xr;
                        for (kx = 0; kx < n_kx; kx++) {
                            mx = (int32_t)*xp > mx ? (int32_t)*xp : mx;
                            xp += c_n;
                        }
                        xr += row;
                    }
                    dst[c] = clamp ? ml_nets_q_sat8(mx, op->act_min, op->act_max) : (int8_t)mx;
                }
                continue;
            }
            for (c = 0; c < c_n; c++) {
                int32_t acc = is_max ? -128 : 0;
                const int8_t *xr = x0p + c;
                int32_t ky, kx;
                for (ky = 0; ky < n_ky; ky++) {
                    const int8_t *xp = xr;
                    for (kx = 0; kx < n_kx; kx++) {
                        const int32_t v = (int32_t)*xp;
                        if (is_max) {
                            acc = v > acc ? v : acc;
                        } else {
                            acc += v;
                        }
                        xp += c_n;
                    }
                    xr += row;
                }
                if (!is_max && count > 0) {
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                }
                dst[c] = ml_nets_q_sat8(acc, op->act_min, op->act_max);
            }
        }
    }
}

/* TFLite int8 MEAN over height and width (and GLOBAL_MAX: the maximum). */
static inline void ml_nets_q7_global(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    const int32_t hw = op->g[ML_NETS_G_IN_H] * op->g[ML_NETS_G_IN_W];
    const int32_t c_n = op->g[ML_NETS_G_IN_C];
    int32_t c, i;
    for (c = 0; c < c_n; c++) {
        int32_t acc = op->kind == ML_NETS_Q7_GLOBAL_MAX ? -128 : 0;
        for (i = 0; i < hw; i++) {
            const int32_t v = (int32_t)x[(size_t)i * (size_t)c_n + (size_t)c];
            if (op->kind == ML_NETS_Q7_GLOBAL_MAX) {
                acc = v > acc ? v : acc;
            } else {
                acc += v - op->in_zp;
            }
        }
        if (op->kind == ML_NETS_Q7_MEAN) {
            acc = ml_nets_q_mbqm(acc, op->m0, op->s0) + op->out_zp;
        }
        y[c] = ml_nets_q_sat8(acc, -128, 127);
    }
}

/* Zero padding of height and width (the pad value is the zero point). */
static inline void ml_nets_q7_pad(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    const int32_t *g = op->g;
    const int32_t c_n = g[ML_NETS_G_IN_C];
    int32_t oy, ox, c;
    for (oy = 0; oy < g[ML_NETS_G_OUT_H]; oy++) {
        const int32_t iy = oy - g[ML_NETS_G_PAD_T];
        for (ox = 0; ox < g[ML_NETS_G_OUT_W]; ox++) {
            const int32_t ix = ox - g[ML_NETS_G_PAD_L];
            int8_t *dst = y + ((size_t)oy * (size_t)g[ML_NETS_G_OUT_W] + (size_t)ox) *
                              (size_t)c_n;
            if (iy < 0 || iy >= g[ML_NETS_G_IN_H] || ix < 0 || ix >= g[ML_NETS_G_IN_W]) {
                for (c = 0; c < c_n; c++) {
                    dst[c] = (int8_t)op->out_zp;
                }
            } else {
                memmove(dst, x + ((size_t)iy * (size_t)g[ML_NETS_G_IN_W] + (size_t)ix) *
                                     (size_t)c_n, (size_t)c_n);
            }
        }
    }
}

/* ADD (TFLite: both inputs shifted left by 20 and rescaled) and MUL; the second operand
 * repeats every g[1] elements (a scalar or a per-channel vector broadcast). */
static inline void ml_nets_q7_binary(const ml_nets_q7_op_t *op, const int8_t *a,
                                     const int8_t *b, int8_t *y)
{
    const int32_t n2 = op->g[1] > 0 ? op->g[1] : 1;
    int32_t i, j = 0;
    for (i = 0; i < op->g[0]; i++) {
        const int32_t va = (int32_t)a[i] - op->in_zp;
        /* b: an arena operand, or the op's constant (program memory on AVR) */
        const int32_t vb = (op->in2 >= 0 ? (int32_t)b[j] : (int32_t)ML_NETS_Q7_W(b + j)) -
                           op->in2_zp;
        int32_t r;
        if (op->kind == ML_NETS_Q7_ADD) {
            const int32_t sa = ml_nets_q_mbqm(va * ((int32_t)1 << 20), op->m1, op->s1);
            const int32_t sb = ml_nets_q_mbqm(vb * ((int32_t)1 << 20), op->m2, op->s2);
            r = ml_nets_q_mbqm(sa + sb, op->m0, op->s0);
        } else {
            r = ml_nets_q_mbqm(va * vb, op->m0, op->s0);
        }
        y[i] = ml_nets_q_sat8(r + op->out_zp, op->act_min, op->act_max);
        j = j + 1 == n2 ? 0 : j + 1;
    }
}

/* One input of a concatenation into its columns of the output. */
static inline void ml_nets_q7_copy(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    int32_t o;
    for (o = 0; o < op->g[0]; o++) {
        memmove(y + (size_t)o * (size_t)op->g[2] + (size_t)op->g[3],
                x + (size_t)o * (size_t)op->g[1], (size_t)op->g[1]);
    }
}

/* TFLite int8 softmax (output scale 1/256, zero point -128); m0/s0: the input multiplier
 * and left shift, m1: diff_min. In place (y == x) is allowed. */
static inline void ml_nets_q7_softmax(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    const int32_t depth = op->g[1];
    int32_t r, c;
    for (r = 0; r < op->g[0]; r++) {
        const int8_t *xr = x + (size_t)r * (size_t)depth;
        int8_t *yr = y + (size_t)r * (size_t)depth;
        int32_t mx = -128;
        int32_t sum = 0;
        int32_t clz, nbou, recip, exponent;
        /* up to 16 classes: each exp computed once (kept for the second pass) */
        int32_t exps[16];
        const int keep = depth <= 16;
        for (c = 0; c < depth; c++) {
            mx = (int32_t)xr[c] > mx ? (int32_t)xr[c] : mx;
        }
        for (c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)xr[c] - mx;
            if (diff >= op->m1) {
                const int32_t s = ml_nets_q_srdhm(ml_nets_q_shl(diff, op->s0), op->m0);
                const int32_t e = ml_nets_q_exp_neg(s, 5);
                if (keep) {
                    exps[c] = e;
                }
                sum = ml_nets_q_add(sum, ml_nets_q_rdbpot(e, 12));
            }
        }
        clz = ml_nets_q_clz((uint32_t)sum);
        nbou = 12 - clz;
        recip = ml_nets_q_one_over_one_plus(
            (int32_t)(((uint32_t)sum << clz) - 0x80000000u));
        exponent = nbou + 31 - 8;
        for (c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)xr[c] - mx;
            if (diff >= op->m1) {
                const int32_t e = keep ? exps[c] : ml_nets_q_exp_neg(
                    ml_nets_q_srdhm(ml_nets_q_shl(diff, op->s0), op->m0), 5);
                const int32_t v = ml_nets_q_rdbpot(ml_nets_q_srdhm(recip, e), exponent);
                yr[c] = ml_nets_q_sat8(v - 128, -128, 127);
            } else {
                yr[c] = -128;
            }
        }
    }
}

/* LOGISTIC (output 1/256, -128) and TANH (1/128, 0); m0/s0: the input multiplier and
 * left shift, m1: the input range radius. */
/* The largest depth ml_nets_q7_softmax_argmax decides (the smallest softmax output of
 * the maximum is then above -128, so a class cut off by diff_min cannot tie with it). */
#define ML_NETS_Q7_ARGMAX_DEPTH_MAX 240

/* The class a SOFTMAX op (one row, x its int8 input) followed by the first maximum of its
 * output gives, without the softmax when the answer is certain; -1 when it is not (run
 * the softmax). The output is non-decreasing in each class's exp e_c (e = 2^31 - 1 for the
 * input's first maximum i, the largest), so the first maximum of the output is i unless
 * a class before i rounds to the same byte. Its byte is round(round(R e / 2^31) / 2^X)
 * with 2^31 2^X / R <= 16 S (1 + 2^-20) (S <= depth 2^19: the Q12.19 sum; R the Q0.31
 * reciprocal of the sum's mantissa, X = 35 - clz(S)), so two bytes differ when the exps
 * differ by at least depth 2^23 1.05 + 3: the classes before i are all decided by the
 * largest of them (the exp is non-decreasing in the input). One exp instead of depth
 * exps and reciprocal products (tests/families/test_nets_int8.py checks it against the
 * softmax on near-tie rows). */
static inline int32_t ml_nets_q7_softmax_argmax(const ml_nets_q7_op_t *op, const int8_t *x)
{
    const int32_t depth = op->g[1];
    int32_t c, best = 0, mx = x[0], before = -129;
    if (op->g[0] != 1 || depth < 1 || depth > ML_NETS_Q7_ARGMAX_DEPTH_MAX) {
        return -1;
    }
    for (c = 1; c < depth; c++) {
        if ((int32_t)x[c] > mx) {
            before = mx; /* the largest input before the new first maximum */
            mx = x[c];
            best = c;
        }
    }
    if (best > 0 && before - mx >= op->m1) {
        const uint32_t safe = 0x80000000u - (uint32_t)depth * 8808039u - 16u;
        const int32_t e = ml_nets_q_exp_neg(
            ml_nets_q_srdhm(ml_nets_q_shl(before - mx, op->s0), op->m0), 5);
        if ((uint32_t)e >= safe) {
            return -1;
        }
    }
    return best;
}

static inline void ml_nets_q7_sigmoid_tanh(const ml_nets_q7_op_t *op, const int8_t *x,
                                           int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        const int32_t v = (int32_t)x[i] - op->in_zp;
        if (v <= -op->m1) {
            y[i] = -128;
        } else if (v >= op->m1) {
            y[i] = 127;
        } else {
            const int32_t q = ml_nets_q_mbqm(v, op->m0, op->s0);
            int32_t r;
            if (op->kind == ML_NETS_Q7_LOGISTIC) {
                r = ml_nets_q_rdbpot(ml_nets_q_logistic(q), 23) - 128;
            } else {
                r = ml_nets_q_rdbpot(ml_nets_q_tanh(q), 24);
            }
            y[i] = ml_nets_q_sat8(r, -128, 127);
        }
    }
}

/* int16 (a * b) / 2^15 rounded to nearest (gemmlowp, int16). */
static inline int32_t ml_nets_q_srdhm16(int32_t a, int32_t b)
{
    const int32_t ab = a * b;
    if (a == -32768 && b == -32768) {
        return 32767;
    }
    return (ab + (ab >= 0 ? ((int32_t)1 << 14) : 1 - ((int32_t)1 << 14))) / ((int32_t)1 << 15);
}

static inline int32_t ml_nets_q_sat_shl16(int32_t x, int32_t amount)
{
    const int64_t r = (int64_t)x * ((int64_t)1 << amount);
    return (int32_t)(r > 32767 ? 32767 : (r < -32768 ? -32768 : r));
}

/* TFLite's int8 HARD_SWISH (x * relu6(x + 3) / 6 in int16 fixed point). */
static inline void ml_nets_q7_hard_swish(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    int32_t i;
    for (i = 0; i < op->g[0]; i++) {
        const int32_t hires = ((int32_t)x[i] - op->in_zp) * 128;
        const int32_t pre = ml_nets_q_srdhm16(hires, op->m0);
        int32_t r = hires;
        if (op->s1 > 0) {
            r = ml_nets_q_sat_shl16(r, op->s1 - 1);
        }
        r = ml_nets_q_srdhm16(r, op->m1);
        if (op->s1 > 0) {
            r = ml_nets_q_sat_shl16(r, 1);
        }
        if (op->s1 < 0) {
            r = ml_nets_q_rdbpot(r, -op->s1);
        }
        r = (r + ((int32_t)1 << 15)) >> 1;
        r = (r * pre) / ((int32_t)1 << 15); /* rounding toward zero (SQDMULH) */
        r = ml_nets_q_rdbpot(r, -op->s0) + op->out_zp;
        y[i] = ml_nets_q_sat8(r, -128, 127);
    }
}

/* Run an op table: x (float input) -> y (float output), activations in `arena`.
 * Returns ML_OK, or ML_ERR_MODEL for an unknown op kind. */
static inline int32_t ml_nets_q7_run(const ml_nets_q7_op_t *ops, int32_t n_ops,
                                     const float *x, float *y, int8_t *arena)
{
    int32_t k;
    for (k = 0; k < n_ops; k++) {
        ML_FLASH_STRUCT(ml_nets_q7_op_t, op, ops[k]); /* a copy on AVR (program memory) */
        const int8_t *a = op->in >= 0 ? arena + op->in : (const int8_t *)0;
        int8_t *o = op->out >= 0 ? arena + op->out : (int8_t *)0;
        switch (op->kind) {
        case ML_NETS_Q7_QUANTIZE: ml_nets_q7_quantize(op, x, o); break;
        case ML_NETS_Q7_DEQUANTIZE: ml_nets_q7_dequantize(op, a, y); break;
        case ML_NETS_Q7_REQUANTIZE: ml_nets_q7_requantize(op, a, o); break;
        case ML_NETS_Q7_DENSE: ml_nets_q7_dense(op, a, o); break;
        case ML_NETS_Q7_CONV2D:
        case ML_NETS_Q7_DEPTHWISE: ml_nets_q7_conv(op, a, o); break;
        case ML_NETS_Q7_MAX_POOL:
        case ML_NETS_Q7_AVG_POOL: ml_nets_q7_pool(op, a, o); break;
        case ML_NETS_Q7_MEAN:
        case ML_NETS_Q7_GLOBAL_MAX: ml_nets_q7_global(op, a, o); break;
        case ML_NETS_Q7_PAD: ml_nets_q7_pad(op, a, o); break;
        case ML_NETS_Q7_ADD:
        case ML_NETS_Q7_MUL:
            ml_nets_q7_binary(op, a, op->in2 >= 0 ? arena + op->in2 : op->w, o);
            break;
        case ML_NETS_Q7_COPY: ml_nets_q7_copy(op, a, o); break;
        case ML_NETS_Q7_SOFTMAX: ml_nets_q7_softmax(op, a, o); break;
        case ML_NETS_Q7_LOGISTIC:
        case ML_NETS_Q7_TANH: ml_nets_q7_sigmoid_tanh(op, a, o); break;
        case ML_NETS_Q7_CLAMP: ml_nets_q7_clamp(op, a, o); break;
        case ML_NETS_Q7_LEAKY_RELU: ml_nets_q7_leaky_relu(op, a, o); break;
        case ML_NETS_Q7_HARD_SWISH: ml_nets_q7_hard_swish(op, a, o); break;
        default: return ML_ERR_MODEL;
        }
    }
    return ML_OK;
}

/* --- model-file section (int8 op records) ------------------------------------------------
 *
 * ml_nets_from_section (ml_nets.h) hands a layout-2 section of dtype 1 to
 * ml_nets_q7_check_section; ml_nets_forward then runs it with ml_nets_q7_forward. Record
 * layout (160 bytes; i32 unless noted; docs/families/nets_int8.md):
 *     0 kind   4 in   8 in2   12 out   16..72 g[15]   76 in_zp   80 in2_zp   84 out_zp
 *    88 act_min   92 act_max   96 m0  100 s0  104 m1  108 s1  112 m2  116 s2
 *   120 scale (f32)   124 w offset (u32)   128 w count (int8 values)   132 bias offset
 *   136 mult offset   140 shift offset (int32 arrays of n_ch)   144 n_ch   148..159 0.
 * The caller's scratch holds the float output (n_final floats) and then the int8 arena.
 * Everything the kernels trust is checked: kinds, geometry, every buffer inside the arena
 * (or the float input / output), exact weight and channel counts inside the section, zero
 * points and clamps in int8, every requantization (multiplier, shift) such that the int32
 * arithmetic cannot overflow for any input, softmax depth <= 511 and shifts in range. */

#define ML_NETS_Q7_RECORD_BYTES 160u
#define ML_NETS_Q7_MAX_DIM ((int32_t)1 << 24)

/* Record i -> *op (pointers into the section at base). */
static inline void ml_nets_q7_decode(const uint8_t *r, const uint8_t *base, ml_nets_q7_op_t *op)
{
    int32_t i;
    uint32_t off;
    op->kind = (int32_t)ml_rd_u32(r);
    op->in = (int32_t)ml_rd_u32(r + 4);
    op->in2 = (int32_t)ml_rd_u32(r + 8);
    op->out = (int32_t)ml_rd_u32(r + 12);
    for (i = 0; i < 15; i++) {
        op->g[i] = (int32_t)ml_rd_u32(r + 16 + 4 * i);
    }
    op->in_zp = (int32_t)ml_rd_u32(r + 76);
    op->in2_zp = (int32_t)ml_rd_u32(r + 80);
    op->out_zp = (int32_t)ml_rd_u32(r + 84);
    op->act_min = (int32_t)ml_rd_u32(r + 88);
    op->act_max = (int32_t)ml_rd_u32(r + 92);
    op->m0 = (int32_t)ml_rd_u32(r + 96);
    op->s0 = (int32_t)ml_rd_u32(r + 100);
    op->m1 = (int32_t)ml_rd_u32(r + 104);
    op->s1 = (int32_t)ml_rd_u32(r + 108);
    op->m2 = (int32_t)ml_rd_u32(r + 112);
    op->s2 = (int32_t)ml_rd_u32(r + 116);
    op->scale = ml_rd_f32(r + 120);
    off = ml_rd_u32(r + 124);
    op->w = off != 0u ? (const int8_t *)(const void *)(base + off) : (const int8_t *)0;
    off = ml_rd_u32(r + 132);
    op->bias = off != 0u ? (const int32_t *)(const void *)(base + off) : (const int32_t *)0;
    off = ml_rd_u32(r + 136);
    op->mult = off != 0u ? (const int32_t *)(const void *)(base + off) : (const int32_t *)0;
    off = ml_rd_u32(r + 140);
    op->shift = off != 0u ? (const int32_t *)(const void *)(base + off) : (const int32_t *)0;
    op->rq_right = 0; /* set by ml_nets_q7__set_rq_right once the record is checked */
}

/* The products summed into one output's accumulator: dense: the inputs; conv2d: k_h k_w
 * in_c; depthwise: k_h k_w (0 for other kinds). */
static inline uint64_t ml_nets_q7__taps(const ml_nets_q7_op_t *op)
{
    const int32_t *g = op->g;
    if (op->kind == ML_NETS_Q7_DENSE) {
        return (uint64_t)g[0];
    }
    if (op->kind == ML_NETS_Q7_CONV2D) {
        return (uint64_t)g[ML_NETS_G_K_H] * (uint64_t)g[ML_NETS_G_K_W] * (uint64_t)g[2];
    }
    return op->kind == ML_NETS_Q7_DEPTHWISE
               ? (uint64_t)g[ML_NETS_G_K_H] * (uint64_t)g[ML_NETS_G_K_W]
               : 0u;
}

/* op->rq_right of a checked record r (its n_ch shifts and biases inside the section, its
 * geometry valid): bit 0 when every shift is a right shift, bit 1 as well when no
 * accumulator plus bias can reach 2^30 (|x - zp| <= 255, |w| <= 128). */
static inline void ml_nets_q7__set_rq_right(const uint8_t *r, ml_nets_q7_op_t *op)
{
    const uint32_t n_ch = ml_rd_u32(r + 144);
    uint32_t i;
    uint64_t top = 0u;
    op->rq_right = op->shift != (const int32_t *)0 && op->bias != (const int32_t *)0;
    for (i = 0u; op->rq_right && i < n_ch; i++) {
        const int32_t s = (int32_t)ml_rd_u32((const uint8_t *)(const void *)(op->shift + i));
        const int32_t b = (int32_t)ml_rd_u32((const uint8_t *)(const void *)(op->bias + i));
        const uint64_t ab = b < 0 ? (uint64_t)(-(int64_t)b) : (uint64_t)b;
        op->rq_right = s <= -1 && s >= -31;
        top = ab > top ? ab : top;
    }
    if (op->rq_right && ml_nets_q7__taps(op) * 255u * 128u + top < 0x40000000u) {
        op->rq_right = 3;
    }
    /* the checked bias span after the weights (where the writer puts it): the 3 bytes
     * after the last weight are inside the section */
    if (op->w != (const int8_t *)0 && op->bias != (const int32_t *)0 &&
        (const uint8_t *)(const void *)op->bias >=
            (const uint8_t *)(const void *)op->w + ml_rd_u32(r + 128)) {
        op->rq_right |= 8;
    }
}

/* 1 when ml_nets_q_mbqm(v, m, s) cannot overflow for |v| <= vmax and its result plus a zero
 * point fits in int32; *bound: the largest |result|. */
static inline int ml_nets_q7__mbqm_ok(uint64_t vmax, int32_t m, int32_t s, uint64_t *bound)
{
    uint64_t xs, am, p;
    if (s < -31 || s > 31 || vmax > 0x7FFFFFFFu) {
        return 0;
    }
    xs = vmax << (s > 0 ? s : 0);
    if (xs > 0x7FFFFFFFu) {
        return 0;
    }
    am = m < 0 ? (uint64_t)(-(int64_t)m) : (uint64_t)m;
    p = ((xs * am) >> 31) + 1u;
    *bound = (p >> (s > 0 ? 0 : -s)) + 1u;
    return *bound + 256u <= 0x7FFFFFFFu;
}

/* 1 when the int8 buffer [off, off + n) lies inside the arena. */
static inline int ml_nets_q7__buf_ok(int32_t off, uint64_t n, uint32_t arena)
{
    return off >= 0 && n >= 1u && (uint64_t)(uint32_t)off + n <= (uint64_t)arena;
}

static inline int ml_nets_q7__overlap(int32_t a, uint64_t na, int32_t b, uint64_t nb)
{
    return (uint64_t)(uint32_t)a < (uint64_t)(uint32_t)b + nb &&
           (uint64_t)(uint32_t)b < (uint64_t)(uint32_t)a + na;
}

static inline int ml_nets_q7__is_i8(int32_t v)
{
    return v >= -128 && v <= 127;
}

/* Validate one record r (decoded into *op). size: section bytes; min_off: first byte after
 * the records; arena: int8 arena bytes; nf: float inputs; n_final: float outputs. */
static inline int32_t ml_nets_q7_check_op(const ml_nets_q7_op_t *op, const uint8_t *r,
                                          const uint8_t *base, uint32_t size, uint32_t min_off,
                                          uint32_t arena, uint32_t nf, uint32_t n_final)
{
    const int32_t *g = op->g;
    const int32_t k = op->kind;
    const uint32_t w_off = ml_rd_u32(r + 124), w_n = ml_rd_u32(r + 128);
    const uint32_t b_off = ml_rd_u32(r + 132), m_off = ml_rd_u32(r + 136);
    const uint32_t s_off = ml_rd_u32(r + 140), n_ch = ml_rd_u32(r + 144);
    int32_t ng = 1, i;
    uint64_t n_in = 0u, n_out = 0u, n_in2 = 0u, n_w = 0u, n_c = 0u, k_acc = 0u, bound;
    int in_place = 0;
    for (i = 148; i < (int32_t)ML_NETS_Q7_RECORD_BYTES; i += 4) {
        if (ml_rd_u32(r + i) != 0u) {
            return ML_ERR_MODEL;
        }
    }
    if (!ml_nets_q7__is_i8(op->in_zp) || !ml_nets_q7__is_i8(op->in2_zp) ||
        !ml_nets_q7__is_i8(op->out_zp) || !ml_nets_q7__is_i8(op->act_min) ||
        !ml_nets_q7__is_i8(op->act_max) || op->act_min > op->act_max ||
        !(op->scale == op->scale) || op->scale > 3.0e38f || op->scale < -3.0e38f) {
        return ML_ERR_MODEL;
    }
    for (i = 0; i < 15; i++) {
        if (g[i] < 0 || g[i] >= ML_NETS_Q7_MAX_DIM) {
            return ML_ERR_MODEL;
        }
    }
    switch (k) {
    case ML_NETS_Q7_QUANTIZE:
    case ML_NETS_Q7_DEQUANTIZE:
        n_in = n_out = (uint64_t)g[0];
        if (!(op->scale > 0.0f) || n_in == 0u ||
            (k == ML_NETS_Q7_QUANTIZE ? (op->in != -1 || n_in > nf)
                                      : (op->out != -1 || n_in > n_final))) {
            return ML_ERR_MODEL;
        }
        break;
    case ML_NETS_Q7_REQUANTIZE:
    case ML_NETS_Q7_CLAMP:
    case ML_NETS_Q7_LEAKY_RELU:
    case ML_NETS_Q7_LOGISTIC:
    case ML_NETS_Q7_TANH:
    case ML_NETS_Q7_HARD_SWISH:
        n_in = n_out = (uint64_t)g[0];
        in_place = 1;
        if (k == ML_NETS_Q7_REQUANTIZE && !ml_nets_q7__mbqm_ok(255u, op->m0, op->s0, &bound)) {
            return ML_ERR_MODEL;
        }
        if (k == ML_NETS_Q7_LEAKY_RELU && (!ml_nets_q7__mbqm_ok(255u, op->m0, op->s0, &bound) ||
                                           !ml_nets_q7__mbqm_ok(255u, op->m1, op->s1, &bound))) {
            return ML_ERR_MODEL;
        }
        if ((k == ML_NETS_Q7_LOGISTIC || k == ML_NETS_Q7_TANH) &&
            (op->s0 < -31 || op->s0 > 31 || op->m1 < 0)) {
            return ML_ERR_MODEL;
        }
        if (k == ML_NETS_Q7_HARD_SWISH &&
            (op->m0 < -32768 || op->m0 > 32767 || op->m1 < -32768 || op->m1 > 32767 ||
             op->s0 < -31 || op->s0 > 0 || op->s1 < -31 || op->s1 > 31)) {
            return ML_ERR_MODEL;
        }
        break;
    case ML_NETS_Q7_DENSE:
        ng = 3;
        if (g[0] < 1 || g[1] < 1 || g[2] < 1) {
            return ML_ERR_MODEL;
        }
        n_in = (uint64_t)g[2] * (uint64_t)g[0];
        n_out = (uint64_t)g[2] * (uint64_t)g[1];
        n_w = (uint64_t)g[1] * (uint64_t)g[0];
        n_c = (uint64_t)g[1];
        k_acc = (uint64_t)g[0];
        break;
    case ML_NETS_Q7_CONV2D:
    case ML_NETS_Q7_DEPTHWISE:
    case ML_NETS_Q7_MAX_POOL:
    case ML_NETS_Q7_AVG_POOL:
    case ML_NETS_Q7_PAD: {
        int64_t ext_h, ext_w;
        ng = k == ML_NETS_Q7_CONV2D || k == ML_NETS_Q7_DEPTHWISE ? 15 : 14;
        for (i = 0; i < 12; i++) {
            if (g[i] < 1) {
                return ML_ERR_MODEL;
            }
        }
        ext_h = (int64_t)(g[ML_NETS_G_K_H] - 1) * g[ML_NETS_G_D_H] + 1;
        ext_w = (int64_t)(g[ML_NETS_G_K_W] - 1) * g[ML_NETS_G_D_W] + 1;
        n_in = (uint64_t)g[0] * (uint64_t)g[1] * (uint64_t)g[2];
        n_out = (uint64_t)g[3] * (uint64_t)g[4] * (uint64_t)g[5];
        if (k == ML_NETS_Q7_PAD) {
            if (g[5] != g[2] || (int64_t)g[3] < (int64_t)g[0] + g[12] ||
                (int64_t)g[4] < (int64_t)g[1] + g[13]) {
                return ML_ERR_MODEL;
            }
            for (i = 6; i < 12; i++) {
                if (g[i] != 1) {
                    return ML_ERR_MODEL;
                }
            }
            break;
        }
        if (ext_h >= ML_NETS_Q7_MAX_DIM || ext_w >= ML_NETS_Q7_MAX_DIM ||
            (int64_t)g[12] >= ext_h || (int64_t)g[13] >= ext_w ||
            (int64_t)(g[3] - 1) * g[8] - g[12] >= (int64_t)g[0] ||
            (int64_t)(g[4] - 1) * g[9] - g[13] >= (int64_t)g[1]) {
            return ML_ERR_MODEL;
        }
        if (k == ML_NETS_Q7_CONV2D) {
            if (g[14] != 1) {
                return ML_ERR_MODEL;
            }
            n_w = (uint64_t)g[5] * (uint64_t)g[6] * (uint64_t)g[7] * (uint64_t)g[2];
            k_acc = (uint64_t)g[6] * (uint64_t)g[7] * (uint64_t)g[2];
            n_c = (uint64_t)g[5];
        } else if (k == ML_NETS_Q7_DEPTHWISE) {
            if (g[14] < 1 || (int64_t)g[5] != (int64_t)g[2] * g[14]) {
                return ML_ERR_MODEL;
            }
            n_w = (uint64_t)g[6] * (uint64_t)g[7] * (uint64_t)g[5];
            k_acc = (uint64_t)g[6] * (uint64_t)g[7];
            n_c = (uint64_t)g[5];
        } else if (g[5] != g[2] || g[10] != 1 || g[11] != 1 ||
                   (uint64_t)g[6] * (uint64_t)g[7] >= (uint64_t)ML_NETS_Q7_MAX_DIM) {
            return ML_ERR_MODEL;
        }
        break;
    }
    case ML_NETS_Q7_MEAN:
    case ML_NETS_Q7_GLOBAL_MAX:
        ng = 3;
        if (g[0] < 1 || g[1] < 1 || g[2] < 1) {
            return ML_ERR_MODEL;
        }
        n_in = (uint64_t)g[0] * (uint64_t)g[1] * (uint64_t)g[2];
        n_out = (uint64_t)g[2];
        if (k == ML_NETS_Q7_MEAN &&
            !ml_nets_q7__mbqm_ok((uint64_t)g[0] * (uint64_t)g[1] * 255u, op->m0, op->s0,
                                 &bound)) {
            return ML_ERR_MODEL;
        }
        break;
    case ML_NETS_Q7_ADD:
    case ML_NETS_Q7_MUL: {
        uint64_t b1, b2;
        ng = 2;
        if (g[1] < 1 || g[0] % g[1] != 0) {
            return ML_ERR_MODEL;
        }
        n_in = n_out = (uint64_t)g[0];
        n_in2 = (uint64_t)g[1];
        in_place = 1;
        if (k == ML_NETS_Q7_ADD) {
            if (!ml_nets_q7__mbqm_ok((uint64_t)255u << 20, op->m1, op->s1, &b1) ||
                !ml_nets_q7__mbqm_ok((uint64_t)255u << 20, op->m2, op->s2, &b2) ||
                !ml_nets_q7__mbqm_ok(b1 + b2, op->m0, op->s0, &bound)) {
                return ML_ERR_MODEL;
            }
        } else if (!ml_nets_q7__mbqm_ok(255u * 255u, op->m0, op->s0, &bound)) {
            return ML_ERR_MODEL;
        }
        if (op->in2 == -1) {
            n_w = n_in2;
        } else if (!ml_nets_q7__buf_ok(op->in2, n_in2, arena) ||
                   (ml_nets_q7__overlap(op->out, n_out, op->in2, n_in2) &&
                    !(op->in2 == op->out && n_in2 == n_out))) {
            return ML_ERR_MODEL;
        }
        break;
    }
    case ML_NETS_Q7_COPY:
        ng = 4;
        if (g[0] < 1 || g[1] < 1 || (int64_t)g[3] + g[1] > (int64_t)g[2]) {
            return ML_ERR_MODEL;
        }
        n_in = (uint64_t)g[0] * (uint64_t)g[1];
        n_out = (uint64_t)g[0] * (uint64_t)g[2];
        break;
    case ML_NETS_Q7_SOFTMAX:
        ng = 2;
        if (g[0] < 1 || g[1] < 1 || g[1] > 511 || op->s0 < 0 || op->s0 > 31 || op->m1 > 0) {
            return ML_ERR_MODEL;
        }
        n_in = n_out = (uint64_t)g[0] * (uint64_t)g[1];
        in_place = 1;
        break;
    default:
        return ML_ERR_MODEL;
    }
    for (i = ng; i < 15; i++) {
        if (g[i] != 0) {
            return ML_ERR_MODEL;
        }
    }
    if (n_in == 0u || n_in >= 0x7FFFFFFFu || n_out == 0u || n_out >= 0x7FFFFFFFu) {
        return ML_ERR_MODEL;
    }
    if (k != ML_NETS_Q7_ADD && k != ML_NETS_Q7_MUL && op->in2 != -1) {
        return ML_ERR_MODEL;
    }
    /* buffers: inside the arena; the output overlaps an input only exactly in place */
    if (k != ML_NETS_Q7_QUANTIZE && !ml_nets_q7__buf_ok(op->in, n_in, arena)) {
        return ML_ERR_MODEL;
    }
    if (k != ML_NETS_Q7_DEQUANTIZE && !ml_nets_q7__buf_ok(op->out, n_out, arena)) {
        return ML_ERR_MODEL;
    }
    if (k != ML_NETS_Q7_QUANTIZE && k != ML_NETS_Q7_DEQUANTIZE &&
        ml_nets_q7__overlap(op->out, n_out, op->in, n_in) &&
        !(in_place && op->out == op->in && n_in == n_out)) {
        /* a pointwise convolution may overlap its input when output pixel r ends at or
         * before input pixel r starts (out + (r + 1) oc <= in + r ic for every r); a
         * pooling of windows that do not overlap, starting inside the input, may write
         * over its input from the same offset (each window read before its output) */
        const int64_t pix = (int64_t)g[0] * g[1], d = (int64_t)op->in - op->out;
        const int pool_in_place =
            (k == ML_NETS_Q7_MAX_POOL || k == ML_NETS_Q7_AVG_POOL) && d == 0 &&
            g[ML_NETS_G_S_H] >= g[ML_NETS_G_K_H] && g[ML_NETS_G_S_W] >= g[ML_NETS_G_K_W] &&
            g[ML_NETS_G_PAD_T] == 0 && g[ML_NETS_G_PAD_L] == 0;
        if (!pool_in_place &&
            !(k == ML_NETS_Q7_CONV2D && ml_nets_q7__pointwise(g) && d >= (int64_t)g[5] &&
              d >= pix * g[5] - (pix - 1) * g[2])) {
            return ML_ERR_MODEL;
        }
    }
    /* constants: exact counts, aligned spans after the records, inside the section */
    if ((uint64_t)w_n != n_w || (w_n == 0u) != (w_off == 0u) ||
        (w_n != 0u && !ml_span_ok(w_off, w_n, 1u, 4u, min_off, size))) {
        return ML_ERR_MODEL;
    }
    if ((uint64_t)n_ch != n_c || (n_ch == 0u) != (b_off == 0u) ||
        (n_ch == 0u) != (m_off == 0u) || (n_ch == 0u) != (s_off == 0u)) {
        return ML_ERR_MODEL;
    }
    if (n_ch != 0u) {
        const uint64_t acc_max = k_acc * 255u * 128u;
        uint32_t c;
        if (!ml_span_ok(b_off, n_ch, 4u, 4u, min_off, size) ||
            !ml_span_ok(m_off, n_ch, 4u, 4u, min_off, size) ||
            !ml_span_ok(s_off, n_ch, 4u, 4u, min_off, size) || acc_max > 0x7FFFFFFFu) {
            return ML_ERR_MODEL;
        }
        for (c = 0u; c < n_ch; c++) {
            const int32_t b = (int32_t)ml_rd_u32(base + b_off + 4u * c);
            const uint64_t ab = b < 0 ? (uint64_t)(-(int64_t)b) : (uint64_t)b;
            if (acc_max + ab > 0x7FFFFFFFu ||
                !ml_nets_q7__mbqm_ok(acc_max + ab, (int32_t)ml_rd_u32(base + m_off + 4u * c),
                                     (int32_t)ml_rd_u32(base + s_off + 4u * c), &bound)) {
                return ML_ERR_MODEL;
            }
        }
    }
    return ML_OK;
}

/* Validate the records of an int8 section (the header already checked by
 * ml_nets_from_section): n_ops records of 160 bytes at off_ops, constants after them.
 * The last op is the DEQUANTIZE that writes the n_final float outputs. */
static inline int32_t ml_nets_q7_check_section(const uint8_t *sec, uint32_t size,
                                               uint32_t off_ops, uint32_t n_ops,
                                               uint32_t arena, uint32_t nf, uint32_t n_final)
{
    const uint32_t min_off = off_ops + n_ops * ML_NETS_Q7_RECORD_BYTES;
    uint32_t i;
    for (i = 0u; i < n_ops; i++) {
        const uint8_t *r = sec + off_ops + i * ML_NETS_Q7_RECORD_BYTES;
        ml_nets_q7_op_t op;
        int32_t rc;
        ml_nets_q7_decode(r, sec, &op);
        rc = ml_nets_q7_check_op(&op, r, sec, size, min_off, arena, nf, n_final);
        if (rc != ML_OK) {
            return rc;
        }
        if (i + 1u == n_ops && (op.kind != ML_NETS_Q7_DEQUANTIZE ||
                                (uint32_t)op.g[0] != n_final)) {
            return ML_ERR_MODEL;
        }
    }
    return ML_OK;
}

/* QUANTIZE of the model-file path (kept for its callers: the same function). */
static inline void ml_nets_q7_quantize_nolibm(const ml_nets_q7_op_t *op, const float *x,
                                              int8_t *y)
{
    ml_nets_q7_quantize(op, x, y);
}

/* The input quantization of a validated int8 section: ML_OK and *scale, *zero_point when
 * its first op is the QUANTIZE of the float input (the integer entry needs it), else
 * ML_ERR_UNSUPPORTED (e.g. an imported model whose input tensor is already int8). */
static inline int32_t ml_nets_q7_input_quant(const uint8_t *sec, float *scale,
                                             int32_t *zero_point)
{
    ml_nets_q7_op_t op;
    if (ml_rd_u32(sec + 24) < 2u) {
        return ML_ERR_UNSUPPORTED;
    }
    ml_nets_q7_decode(sec + ml_rd_u32(sec + 36), sec, &op);
    if (op.kind != ML_NETS_Q7_QUANTIZE || op.in != -1) {
        return ML_ERR_UNSUPPORTED;
    }
    *scale = op.scale;
    *zero_point = op.out_zp;
    return ML_OK;
}

/* Run a validated int8 section: y (n_final floats), then the int8 arena right after y
 * (scratch of n_final + ceil(arena_bytes / 4) floats). The input is x (floats), or, for
 * the integer entry (ml_nets_q7_input_quant == ML_OK), x8 (int8 values already in the
 * input quantization, copied as they are) or x16 (int16 features, quantized like floats);
 * the unused ones NULL. cls (or NULL): when the section ends with a one-row SOFTMAX and
 * the DEQUANTIZE of its output, the run stops before them if ml_nets_q7_softmax_argmax is
 * certain of the class (*cls, y not written), else *cls = -1 and y is computed. */
static inline void ml_nets_q7_forward_in(const uint8_t *sec, float *y, const float *x,
                                         const int8_t *x8, const int16_t *x16, int32_t *cls)
{
    const uint32_t n_ops = ml_rd_u32(sec + 24), off_ops = ml_rd_u32(sec + 36);
    int8_t *arena = (int8_t *)(void *)(y + ml_rd_u32(sec + 16));
    uint32_t i;
    /* a file the checker accepts may still read arena bytes no earlier op wrote in this
     * call (a corrupt `in` offset inside the arena): they read 0, not what the scratch
     * held (the viper engine does the same) */
    memset(arena, 0, (size_t)ml_rd_u32(sec + 48));
    for (i = 0u; i < n_ops; i++) {
        ml_nets_q7_op_t op;
        const int8_t *a;
        int8_t *o;
        ml_nets_q7_decode(sec + off_ops + i * ML_NETS_Q7_RECORD_BYTES, sec, &op);
        ml_nets_q7__set_rq_right(sec + off_ops + i * ML_NETS_Q7_RECORD_BYTES, &op);
        a = op.in >= 0 ? arena + op.in : (const int8_t *)0;
        o = op.out >= 0 ? arena + op.out : (int8_t *)0;
        switch (op.kind) {
        case ML_NETS_Q7_QUANTIZE:
            if (x8 != (const int8_t *)0) {
                int32_t j;
                for (j = 0; j < op.g[0]; j++) {
                    o[j] = x8[j];
                }
            } else if (x16 != (const int16_t *)0) {
                ml_nets_q7_quantize_i16(&op, x16, o);
            } else {
                ml_nets_q7_quantize(&op, x, o);
            }
            break;
        case ML_NETS_Q7_DEQUANTIZE: ml_nets_q7_dequantize(&op, a, y); break;
        case ML_NETS_Q7_REQUANTIZE: ml_nets_q7_requantize(&op, a, o); break;
        case ML_NETS_Q7_DENSE: ml_nets_q7_dense(&op, a, o); break;
        case ML_NETS_Q7_CONV2D:
        case ML_NETS_Q7_DEPTHWISE: ml_nets_q7_conv(&op, a, o); break;
        case ML_NETS_Q7_MAX_POOL:
        case ML_NETS_Q7_AVG_POOL: ml_nets_q7_pool(&op, a, o); break;
        case ML_NETS_Q7_MEAN:
        case ML_NETS_Q7_GLOBAL_MAX: ml_nets_q7_global(&op, a, o); break;
        case ML_NETS_Q7_PAD: ml_nets_q7_pad(&op, a, o); break;
        case ML_NETS_Q7_ADD:
        case ML_NETS_Q7_MUL:
            ml_nets_q7_binary(&op, a, op.in2 >= 0 ? arena + op.in2 : op.w, o);
            break;
        case ML_NETS_Q7_COPY: ml_nets_q7_copy(&op, a, o); break;
        case ML_NETS_Q7_SOFTMAX:
            if (cls != (int32_t *)0 && i + 2u == n_ops) {
                /* the last op: the DEQUANTIZE of this softmax's output? */
                ml_nets_q7_op_t dq;
                ml_nets_q7_decode(sec + off_ops + (i + 1u) * ML_NETS_Q7_RECORD_BYTES, sec, &dq);
                if (dq.kind == ML_NETS_Q7_DEQUANTIZE && dq.in == op.out) {
                    *cls = ml_nets_q7_softmax_argmax(&op, a);
                    if (*cls >= 0) {
                        return;
                    }
                }
            }
            ml_nets_q7_softmax(&op, a, o);
            break;
        case ML_NETS_Q7_LOGISTIC:
        case ML_NETS_Q7_TANH: ml_nets_q7_sigmoid_tanh(&op, a, o); break;
        case ML_NETS_Q7_CLAMP: ml_nets_q7_clamp(&op, a, o); break;
        case ML_NETS_Q7_LEAKY_RELU: ml_nets_q7_leaky_relu(&op, a, o); break;
        case ML_NETS_Q7_HARD_SWISH: ml_nets_q7_hard_swish(&op, a, o); break;
        default: break;
        }
    }
}

/* Run a validated int8 section on float input x (see ml_nets_q7_forward_in). */
static inline void ml_nets_q7_forward(const uint8_t *sec, float *y, const float *x)
{
    ml_nets_q7_forward_in(sec, y, x, (const int8_t *)0, (const int16_t *)0, (int32_t *)0);
}

#endif /* ML_NETS_INT8_H */
