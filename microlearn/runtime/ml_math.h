/* ml_math.h - microlearn C runtime: float32 elementary functions without libm.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows.
 *
 * Why: MicroPython native modules cannot link newlib's libm (errno, global data) nor, on
 * Armv6-M, libgcc's float division; and libm results differ between platforms (glibc on
 * the host, newlib on the device), so a model calling <math.h> is not bit-identical to
 * its host verification. These functions:
 *   - use float32 arithmetic only (no double, no libm call, no errno, no global or static
 *     mutable data; ml_powf alone reads a 192-byte `static const` table in flash);
 *   - never divide: ml_divf / ml_reciprocalf divide with integer arithmetic (correctly
 *     rounded), except on Arm cores with a single-precision FPU, where the FPU's own
 *     VDIV / VSQRT instructions give the same (correctly rounded) bits, and on hosts
 *     with IEEE float / double registers (x86 SSE / SSE2 math, AArch64), whose division
 *     and square root instructions do too (ML_MATH_HW_F32 / ML_MATH_HW_F64; NaN results
 *     still come from the portable code, so the bits are the same everywhere);
 *   - give the same bits on every IEEE-754 binary32 platform that evaluates float
 *     expressions in float (FLT_EVAL_METHOD 0: x86-64 SSE, Arm, RISC-V; checked below)
 *     and does not contract a*b+c into a fused multiply-add: compile with
 *     -ffp-contract=off (as microlearn does everywhere; GCC's default for ISO C is
 *     already "off", but not for GNU C or C++) and without -ffast-math;
 *   - link, on Cortex-M0+ (soft float), only libgcc's __aeabi_fadd/fsub/fmul, float
 *     compares and int<->float conversions; on Cortex-M4F nothing at all.
 * Results assume the default rounding mode (to nearest) and, on FPUs, no flush-to-zero
 * (the reset state of Cortex-M FPUs).
 *
 * Error bounds below are in ulps of the float32 result against the exact (float64)
 * function. Measured on every 97th float32 bit pattern (44 million arguments spread over
 * all 2^32) and on tests/test_ml_math.py's set (2^20 arguments spread over all float32,
 * dense ranges around every threshold, all special values); the bound stated is what the
 * tests assert, with margin over the largest error seen.
 *
 * Functions (all `static inline`):
 *   ml_expf(x)          e^x                         <= 1 ulp
 *   ml_logf(x)          natural logarithm           <= 1 ulp
 *   ml_sqrtf(x)         square root                 correctly rounded (== IEEE sqrtf)
 *   ml_divf(a, b)       a / b                       correctly rounded (== IEEE a / b)
 *   ml_reciprocalf(x)   1 / x                       correctly rounded (== 1.0f / x)
 *   ml_tanhf(x)         hyperbolic tangent          <= 2 ulp
 *   ml_powf(x, y)       x^y for x >= 0              <= 2 ulp (x < 0: NaN, see below)
 * Measured maxima: expf 0.88, logf 0.89, tanhf 1.37, powf 0.89 ulp; sqrtf, divf and
 * reciprocalf equal IEEE bit for bit (host FPU / numpy) on all arguments tried.
 *   ml_powif(x, n)      x^n, integer n >= 0, square-and-multiply (libsvm's powi order)
 *   ml_fabsf(x)         |x| (exact)
 * Double precision (for the families' float64 re-decisions; see that section below):
 *   ml_div(a, b), ml_sqrt(x)   correctly rounded (== IEEE a / b, sqrt)
 *   ml_exp(x), ml_log(x)       <= 1 ulp (measured 0.82, 0.79)
 *   ml_tanh(x)                 <= 2 ulp (measured 1.34)
 *   ml_pow(x, y)               x^y, x >= 0: <= 2 + 2 |y ln x| ulp (e^(y log x))
 *   ml_fabs(x)                 |x| (exact)
 */
#ifndef ML_MATH_H
#define ML_MATH_H

#include <float.h>
#include <stdint.h>

#include "ml_common.h"

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != -1 && \
    !defined(ML_MATH_ALLOW_EXCESS_PRECISION)
#error "ml_math.h: float expressions are evaluated in a wider format here (x87?): results would differ from other platforms; compile with SSE (-mfpmath=sse) or define ML_MATH_ALLOW_EXCESS_PRECISION"
#endif

/* Arm cores whose FPU does single precision (Cortex-M4F/M7/M33...): use VSQRT/VDIV, which
 * are IEEE correctly rounded and so give the bits of the portable integer code. Define
 * ML_MATH_PORTABLE to use the portable code everywhere. */
#if defined(__ARM_FP) && (__ARM_FP & 4) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__aarch64__) && !defined(ML_MATH_PORTABLE) /* AArch64: ML_MATH_HW_F32 below */
#define ML_MATH_ARM_VFP 1
#else
#define ML_MATH_ARM_VFP 0
#endif

/* Hosts whose float / double arithmetic is IEEE binary32 / binary64 in registers of
 * that format (FLT_EVAL_METHOD 0): x86 with SSE math (SSE: float, SSE2: double; the
 * x86-64 default) and AArch64. Their division and square root instructions (DIVSS /
 * SQRTSS / DIVSD / SQRTSD, FDIV / FSQRT) are correctly rounded, so they give the bits of
 * the portable integer code, which is kept for the arguments whose result is a NaN (the
 * hardware's default NaN may differ from the portable one: x86's is negative).
 * ML_MATH_HW_F32 / ML_MATH_HW_F64: 1 when used for float / double. ML_MATH_PORTABLE
 * turns them off. */
#if !defined(ML_MATH_PORTABLE) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE_MATH__)
#define ML_MATH_HW_F32 1
#define ML_MATH_HW_X86 1
#elif defined(__aarch64__) && defined(__ARM_FP)
#define ML_MATH_HW_F32 1
#define ML_MATH_HW_A64 1
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2_MATH__)
#define ML_MATH_HW_F64 1
#elif defined(__aarch64__) && defined(__ARM_FP)
#define ML_MATH_HW_F64 1
#endif
#endif
#ifndef ML_MATH_HW_F32
#define ML_MATH_HW_F32 0
#endif
#ifndef ML_MATH_HW_F64
#define ML_MATH_HW_F64 0
#endif

/* Bit patterns of floats (IEEE-754 binary32). */
static inline uint32_t ml_f32_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } v;
    v.f = f;
    return v.u;
}

static inline float ml_f32_from_bits(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.u = u;
    return v.f;
}

/* |x| (clears the sign bit; NaN stays NaN): GCC / clang's builtins, which never call libm
 * (also with -fno-builtin), else bit operations. */
static inline float ml_fabsf(float x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_fabsf(x);
#else
    return ml_f32_from_bits(ml_f32_bits(x) & 0x7FFFFFFFu);
#endif
}

#define ML_MATH_INF_BITS 0x7F800000u
#define ML_MATH_QNAN_BITS 0x7FC00000u

/* ln 2 = ML_MATH_LN2_HI + ML_MATH_LN2_LO; the high part has 15 significant bits, so
 * k * ML_MATH_LN2_HI is exact for |k| < 512. */
#define ML_MATH_LN2_HI 0.693145751953125f   /* 0x3f317200 */
#define ML_MATH_LN2_LO 1.42860677e-06f      /* 0x35bfbe8e */
#define ML_MATH_LOG2E 1.44269502f           /* 0x3fb8aa3b */

/* Arithmetic right shift by 23 of a 32-bit two's complement value held in a uint32_t
 * (no implementation-defined signed shift): the 9-bit signed "exponent" of u. */
static inline int32_t ml_math_sra23_(uint32_t u)
{
    return (int32_t)(u >> 23) - (int32_t)((u >> 31) << 9);
}

/* ---------------------------------------------------------------------------------- */
/* exp */

/* e^(hi + lo) for a reduced argument split as hi + lo (|lo| << |hi|), with
 * -104 < hi < 89; the caller handles larger |hi| and NaN. Range reduction
 * hi + lo = k ln2 + r, |r| <= ln2/2 (+ rounding), with k ln2 in two parts (Cody-Waite);
 * e^r = 1 + r + r^2 P(r), P a degree-4 minimax polynomial (relative error 2^-28.2 on
 * |r| <= 0.3486); the result is scaled by 2^k through the exponent bits with a single
 * rounding (also for subnormal results). */
static inline float ml_math_exp_kernel_(float hi, float lo)
{
    const float kh = hi * ML_MATH_LOG2E + ((ml_f32_bits(hi) >> 31) ? -0.5f : 0.5f);
    const int32_t k = (int32_t)kh; /* round to nearest (ties away; any k works) */
    const float kf = (float)k;
    const float rh = hi - kf * ML_MATH_LN2_HI;   /* exact */
    const float rl = kf * ML_MATH_LN2_LO - lo;   /* r = rh - rl */
    const float r = rh - rl;
    const float r2 = r * r;
    const float q = r2 * (4.99999940e-01f + r * (1.66665196e-01f + r * (4.16682921e-02f +
                          r * (8.36890750e-03f + r * 1.38191693e-03f))));
    const float p = 1.0f + (rh + (q - rl)); /* e^r in [0.70, 1.42] */
    if (k >= -126 && k <= 127) {
        return p * ml_f32_from_bits((uint32_t)(k + 127) << 23);
    }
    if (k > 127) { /* k = 128: p * 2^128 = (2 p) * 2^127 (2 p exact; may overflow to inf) */
        return (p * 2.0f) * ml_f32_from_bits(0x7F000000u);
    }
    /* k in [-151, -127]: (p 2^-64, exact) * 2^(k+64), one rounding to a subnormal */
    return (p * 5.42101086e-20f) * ml_f32_from_bits((uint32_t)(k + 64 + 127) << 23);
}

/* ml_expf: e^x.
 * Error <= 1 ulp (measured max 0.88 ulp; the result is the correctly rounded one for
 * 99.6% of arguments), subnormal results included.
 * Special values: NaN -> NaN, +inf -> +inf, -inf -> +0, x >= 88.7228394 (0x42b17217)
 * -> +inf, x <= -103.972084 -> +0 (results round to 0), e^0 = 1 exactly. */
static inline float ml_expf(float x)
{
    const uint32_t ux = ml_f32_bits(x);
    const uint32_t ax = ux & 0x7FFFFFFFu;
    if (ML_UNLIKELY(ax > 0x42B17217u)) { /* |x| > 88.7228394 */
        if (ax > ML_MATH_INF_BITS) {
            return x + x; /* NaN */
        }
        if ((ux >> 31) == 0u) {
            return ml_f32_from_bits(ML_MATH_INF_BITS);
        }
        if (ax >= 0x42D00000u) { /* x <= -104: e^x < 2^-150 */
            return 0.0f;
        }
    }
    return ml_math_exp_kernel_(x, 0.0f);
}

/* ---------------------------------------------------------------------------------- */
/* log */

/* ml_logf: natural logarithm.
 * x = 2^e m with m in [sqrt(1/2), sqrt(2)); log(m) = f - f^2/2 + f^3 Q(f), f = m - 1
 * (exact), Q a degree-7 minimax polynomial (relative error 2^-27.3); result
 * e ln2_hi + (log(m) + e ln2_lo). Error <= 1 ulp (measured max 0.89 ulp; correctly
 * rounded for 99.7% of arguments), subnormal arguments included.
 * Special values: +-0 -> -inf, x < 0 (incl. -inf) -> NaN, +inf -> +inf, NaN -> NaN,
 * log(1) = +0 exactly. */
static inline float ml_logf(float x)
{
    uint32_t ux = ml_f32_bits(x);
    int32_t e = 0;
    if (ML_UNLIKELY(ux - 0x00800000u >= 0x7F000000u)) { /* not a positive normal number */
        if ((ux & 0x7FFFFFFFu) == 0u) {
            return ml_f32_from_bits(0xFF800000u); /* -inf */
        }
        if (ux == ML_MATH_INF_BITS) {
            return x;
        }
        if (ux > ML_MATH_INF_BITS) { /* NaN, or negative */
            return (ux & 0x7FFFFFFFu) > ML_MATH_INF_BITS ? x + x
                                                          : ml_f32_from_bits(ML_MATH_QNAN_BITS);
        }
        ux = ml_f32_bits(x * 8388608.0f); /* positive subnormal: * 2^23, exact */
        e = -23;
    }
    {
        const uint32_t u = ux + (0x3F800000u - 0x3F3504F3u);
        const float m = ml_f32_from_bits((u & 0x007FFFFFu) + 0x3F3504F3u);
        const float f = m - 1.0f; /* exact, in [-0.2929, 0.4142] */
        const float f2 = f * f;
        const float q = 3.33333313e-01f + f * (-2.50008225e-01f + f * (2.00012505e-01f +
                        f * (-1.66233152e-01f + f * (1.42012730e-01f + f * (-1.31601900e-01f +
                        f * (1.27647623e-01f + f * -7.63818398e-02f))))));
        const float lm = f + f2 * (-0.5f + f * q);
        const float ef = (float)(e + (int32_t)(u >> 23) - 127);
        return ef * ML_MATH_LN2_HI + (lm + ef * ML_MATH_LN2_LO);
    }
}

/* ---------------------------------------------------------------------------------- */
/* sqrt */

/* ml_sqrtf: square root, correctly rounded (round to nearest even): the same bits as
 * IEEE sqrtf / numpy's float32 sqrt (checked on 44 million arguments spread over all
 * float32 and on every 3rd subnormal).
 * Portable code: bit-by-bit integer square root of the significand (25 iterations,
 * 32-bit integers only); Arm cores with a single-precision FPU: VSQRT.F32; x86 SSE /
 * AArch64 hosts (ML_MATH_HW_F32): SQRTSS / FSQRT for x >= 0 (the portable code otherwise).
 * Special values: +-0 -> +-0, +inf -> +inf, x < 0 (incl. -inf) -> NaN, NaN -> NaN. */
static inline float ml_math_sqrtf_portable_(float x)
{
    const uint32_t ux = ml_f32_bits(x);
    uint32_t m;
    int32_t e;
    if (ML_UNLIKELY(ux - 0x00800000u >= 0x7F000000u)) { /* not a positive normal number */
        if ((ux & 0x7FFFFFFFu) == 0u || ux == ML_MATH_INF_BITS) {
            return x; /* +-0, +inf */
        }
        if (ux > ML_MATH_INF_BITS) { /* NaN, or negative */
            return (ux & 0x7FFFFFFFu) > ML_MATH_INF_BITS ? x + x
                                                          : ml_f32_from_bits(ML_MATH_QNAN_BITS);
        }
        m = ux; /* positive subnormal: normalise */
        e = -126;
        while (m < 0x00800000u) {
            m <<= 1;
            e--;
        }
    } else {
        m = (ux & 0x007FFFFFu) | 0x00800000u;
        e = (int32_t)(ux >> 23) - 127;
    }
    /* x = m 2^(e-23), m in [2^23, 2^24); make e even */
    if (((uint32_t)e & 1u) != 0u) {
        m <<= 1;
    }
    {
        const int32_t eh = (e + 160) / 2 - 80; /* floor(e / 2); e + 160 > 0 */
        uint32_t q = 0u, s = 0u, bit = 0x01000000u;
        m <<= 1;
        while (bit != 0u) { /* 25 bits of sqrt(m 2^-24) in q (1 integer bit, 24 fraction) */
            const uint32_t t = s + bit;
            if (t <= m) {
                s = t + bit;
                m -= t;
                q += bit;
            }
            m <<= 1;
            bit >>= 1;
        }
        if (m != 0u) { /* inexact: round to nearest (a tie is impossible) */
            q += q & 1u;
        }
        return ml_f32_from_bits((q >> 1) + 0x3F000000u + ((uint32_t)eh << 23));
    }
}

static inline float ml_sqrtf(float x)
{
#if ML_MATH_ARM_VFP
    float y;
    __asm__("vsqrt.f32 %0, %1" : "=t"(y) : "t"(x));
    return y;
#elif ML_MATH_HW_F32
    if (ML_UNLIKELY(!(x >= 0.0f))) { /* x < 0 or NaN: the portable NaN (no errno) */
        return ml_math_sqrtf_portable_(x);
    }
    {
        float y;
#if defined(ML_MATH_HW_X86)
        __asm__("sqrtss %1, %0" : "=x"(y) : "x"(x));
#else
        __asm__("fsqrt %s0, %s1" : "=w"(y) : "w"(x));
#endif
        return y;
    }
#else
    return ml_math_sqrtf_portable_(x);
#endif
}

/* ---------------------------------------------------------------------------------- */
/* division */

/* ml_divf: a / b, correctly rounded (round to nearest even), the same bits as IEEE
 * float division for every input, including subnormal operands and results, infinities,
 * zeros and NaN (0/0, inf/inf -> NaN; x/0 -> signed inf).
 * Portable code: restoring division of the 24-bit significands (26 iterations, 32-bit
 * integers only), so that soft-float Armv6-M code needs no __aeabi_fdiv; Arm cores with a
 * single-precision FPU: VDIV.F32 (the `/` operator); x86 SSE / AArch64 hosts
 * (ML_MATH_HW_F32): `/`, the portable code when the result is a NaN (its NaN's bits). */
static inline float ml_math_divf_portable_(float a, float b)
{
    const uint32_t ua = ml_f32_bits(a), ub = ml_f32_bits(b);
    const uint32_t sign = (ua ^ ub) & 0x80000000u;
    const uint32_t aa = ua & 0x7FFFFFFFu, ab = ub & 0x7FFFFFFFu;
    uint32_t ma, mb, q, total, mant;
    int32_t ea, eb, be;
    if (ML_UNLIKELY(aa - 0x00800000u >= 0x7F000000u || ab - 0x00800000u >= 0x7F000000u)) {
        if (aa > ML_MATH_INF_BITS || ab > ML_MATH_INF_BITS) {
            return a + b; /* NaN */
        }
        if (aa == ML_MATH_INF_BITS) {
            return ml_f32_from_bits(ab == ML_MATH_INF_BITS ? ML_MATH_QNAN_BITS
                                                           : sign | ML_MATH_INF_BITS);
        }
        if (ab == ML_MATH_INF_BITS) {
            return ml_f32_from_bits(sign);
        }
        if (ab == 0u) {
            return ml_f32_from_bits(aa == 0u ? ML_MATH_QNAN_BITS : sign | ML_MATH_INF_BITS);
        }
        if (aa == 0u) {
            return ml_f32_from_bits(sign);
        }
    }
    /* significands in [2^23, 2^24) and unbiased exponents (subnormals normalised) */
    if (aa >= 0x00800000u) {
        ma = (aa & 0x007FFFFFu) | 0x00800000u;
        ea = (int32_t)(aa >> 23) - 127;
    } else {
        ma = aa;
        ea = -126;
        while (ma < 0x00800000u) {
            ma <<= 1;
            ea--;
        }
    }
    if (ab >= 0x00800000u) {
        mb = (ab & 0x007FFFFFu) | 0x00800000u;
        eb = (int32_t)(ab >> 23) - 127;
    } else {
        mb = ab;
        eb = -126;
        while (mb < 0x00800000u) {
            mb <<= 1;
            eb--;
        }
    }
    be = ea - eb + 127; /* biased exponent of the quotient, whose significand is in [1, 2) */
    if (ma < mb) {
        ma <<= 1;
        be--;
    }
    if (be >= 255) {
        return ml_f32_from_bits(sign | ML_MATH_INF_BITS);
    }
    /* 26 quotient bits: q = floor(ma / mb 2^25), ma / mb in [1, 2); remainder in ma */
    q = 0u;
    {
        int32_t i;
        for (i = 0; i < 26; i++) {
            q <<= 1;
            if (ma >= mb) {
                ma -= mb;
                q |= 1u;
            }
            ma <<= 1;
        }
    }
    /* drop `total` bits of q (2 for a normal result, more for a subnormal one), round to
     * nearest even with the remainder as sticky bit */
    if (be >= 1) {
        total = 2u;
    } else {
        total = (uint32_t)(3 - be);
        if (total > 27u) {
            total = 27u;
        }
        be = 1; /* the field added below is then 0 */
    }
    mant = q >> total;
    {
        const uint32_t half = (uint32_t)1u << (total - 1u); /* 32-bit: 16-bit int on AVR */
        const uint32_t rest = q & ((half << 1) - 1u); /* dropped bits */
        if (rest > half || (rest == half && (ma != 0u || (mant & 1u) != 0u))) {
            mant++;
        }
    }
    /* mant includes the implicit bit (normal results), which adds 1 to the field */
    return ml_f32_from_bits(sign | ((((uint32_t)be - 1u) << 23) + mant));
}

static inline float ml_divf(float a, float b)
{
#if ML_MATH_ARM_VFP
    return a / b;
#elif ML_MATH_HW_F32
    const float q = a / b;
    if (ML_UNLIKELY(q != q)) { /* NaN result: the portable NaN's bits */
        return ml_math_divf_portable_(a, b);
    }
    return q;
#else
    return ml_math_divf_portable_(a, b);
#endif
}

/* ml_reciprocalf: 1 / x, correctly rounded (== 1.0f / x bit for bit), see ml_divf.
 * Special values: +-0 -> +-inf, +-inf -> +-0, NaN -> NaN. */
static inline float ml_reciprocalf(float x)
{
    return ml_divf(1.0f, x);
}

/* ---------------------------------------------------------------------------------- */
/* tanh */

/* ml_tanhf: hyperbolic tangent.
 * |x| < 0.5625: x + x^3 T(x^2), T a degree-4 minimax polynomial (relative error
 * 2^-29.4); 0.5625 <= |x| < 9.0109: 1 - 2 / (e^(2|x|) + 1) with ml_expf and ml_divf;
 * |x| >= 9.0109134 (0x41102cb4): +-1 (the correctly rounded value).
 * Error <= 2 ulp (measured max 1.37 ulp, reached just above |x| = 0.5625 where the
 * exp formula starts; the polynomial range |x| < 0.5625 stays below 1 ulp).
 * Special values: +-0 -> +-0, +-inf -> +-1, NaN -> NaN; odd: tanh(-x) = -tanh(x). */
static inline float ml_tanhf(float x)
{
    const uint32_t ux = ml_f32_bits(x);
    const uint32_t ax = ux & 0x7FFFFFFFu;
    const uint32_t sign = ux & 0x80000000u;
    if (ax < 0x3F100000u) { /* |x| < 0.5625 */
        const float a = ml_f32_from_bits(ax);
        const float z = a * a;
        const float t = z * (-3.33333135e-01f + z * (1.33324370e-01f + z * (-5.38357571e-02f +
                        z * (2.10003760e-02f + z * -6.16961392e-03f))));
        return ml_f32_from_bits(sign | ml_f32_bits(a + a * t));
    }
    if (ax >= 0x41102CB4u) {
        return ax > ML_MATH_INF_BITS ? x + x : ml_f32_from_bits(sign | 0x3F800000u);
    }
    {
        const float ex = ml_expf(2.0f * ml_f32_from_bits(ax));
        const float t = 1.0f - ml_divf(2.0f, ex + 1.0f);
        return ml_f32_from_bits(sign | ml_f32_bits(t));
    }
}

/* ---------------------------------------------------------------------------------- */
/* powers */

/* ml_powif: x^n for n >= 0 by square-and-multiply, in libsvm's powi order (the product
 * over the set bits of n, low to high, of x^(2^i)): bit-identical to ml_svm_powi. n <= 0
 * gives 1. Error: about 1/2 ulp per multiplication (at most 2 log2(n) of them). */
static inline float ml_powif(float x, int32_t n)
{
    float tmp = x;
    float ret = 1.0f;
    uint32_t t = n > 0 ? (uint32_t)n : 0u;
    for (; t > 0u; t >>= 1) {
        if ((t & 1u) != 0u) {
            ret *= tmp;
        }
        tmp = tmp * tmp;
    }
    return ret;
}

/* Exact products and sums of floats (no fused multiply-add needed): the float with the
 * low 12 significand bits cleared (at most 12 significant bits), so that the product of
 * two such halves is exact. */
static inline float ml_math_hi12_(float a)
{
    return ml_f32_from_bits(ml_f32_bits(a) & 0xFFFFF000u);
}

/* s + err = a + b exactly (Knuth's TwoSum, any magnitudes) */
static inline float ml_math_two_sum_(float a, float b, float *err)
{
    const float s = a + b;
    const float bb = s - a;
    *err = (a - (s - bb)) + (b - bb);
    return s;
}

/* p + err = a * b exactly (Dekker's product with 12-bit halves; no overflow/underflow) */
static inline float ml_math_two_prod_(float a, float b, float *err)
{
    const float p = a * b;
    const float a1 = ml_math_hi12_(a), a2 = a - a1;
    const float b1 = ml_math_hi12_(b), b2 = b - b1;
    *err = (((a1 * b1 - p) + a1 * b2) + a2 * b1) + a2 * b2;
    return p;
}

/* log(x) = hi + lo with relative error about 2^-40 for a positive normal x:
 * x = 2^k m, m in [0.699, 1.398) split in 16 intervals of centre c_j (1 exactly for the
 * interval around 1); z = m / c_j - 1 computed exactly as a double-float (1 / c_j has 12
 * significant bits), log(x) = k ln2 + log(c_j) + log1p(z), |z| < 0.03. */
static inline float ml_math_log_hilo_(uint32_t ux, float *lo)
{
    /* 1/c_j, log(c_j) high and low parts */
    static ML_CONST float tab[16][3] = { /* program memory on AVR (ml_common.h) */
        {1.3989258e+00f, -3.3570465e-01f, 1.1465743e-08f},
        {1.340332e+00f, -2.9291737e-01f, 3.0119711e-09f},
        {1.2866211e+00f, -2.5201946e-01f, -9.8464294e-09f},
        {1.2368164e+00f, -2.1254067e-01f, 7.3870856e-09f},
        {1.190918e+00f, -1.7472441e-01f, 2.8881268e-09f},
        {1.1479492e+00f, -1.3797706e-01f, 1.2751822e-09f},
        {1.1083984e+00f, -1.0291612e-01f, -2.8332008e-09f},
        {1.0712891e+00f, -6.8862654e-02f, -4.0703554e-10f},
        {1.0366211e+00f, -3.5966475e-02f, -9.809743e-10f},
        {1.0f, 0.0f, 0.0f},
        {9.482422e-01f, 5.3145338e-02f, -5.417272e-10f},
        {8.9501953e-01f, 1.1090974e-01f, 6.731137e-10f},
        {8.4765625e-01f, 1.6528009e-01f, 2.1567925e-09f},
        {8.0493164e-01f, 2.1699792e-01f, 2.1807853e-09f},
        {7.663574e-01f, 2.661066e-01f, 4.347605e-09f},
        {7.314453e-01f, 3.1273282e-01f, 6.339741e-09f},
    };
    const uint32_t tmp = ux - 0x3F330000u;
    const uint32_t j = (tmp >> 19) & 15u;
    const float kf = (float)ml_math_sra23_(tmp);
    const float m = ml_f32_from_bits(ux - (tmp & 0xFF800000u));
    const float invc = ML_READ_F32(&tab[j][0]);
    const float m1 = ml_math_hi12_(m);
    float zl, e1, e2, e3;
    const float zh = ml_math_two_sum_(m1 * invc - 1.0f, (m - m1) * invc, &zl);
    /* log1p(zh + zl) = zh - zh^2/2 + (zl - zh zl) + zh^3 (1/3 - zh/4 + zh^2/5 - zh^3/6),
     * zh^2/2 = z1^2/2 + (z1 z2 + z2^2/2), all parts exact */
    const float z1 = ml_math_hi12_(zh), z2 = zh - z1;
    const float sq_hi = -0.5f * (z1 * z1);
    const float sq_lo = -(z1 * z2 + 0.5f * (z2 * z2));
    const float cube = zh * zh * zh * (3.33333343e-01f + zh * (-0.25f + zh * (2.00000003e-01f +
                       zh * -1.66666672e-01f)));
    float s = kf * ML_MATH_LN2_HI;
    s = ml_math_two_sum_(s, ML_READ_F32(&tab[j][1]), &e1);
    s = ml_math_two_sum_(s, zh, &e2);
    s = ml_math_two_sum_(s, sq_hi, &e3);
    {
        const float t = (((((cube + (zl - zh * zl)) + sq_lo) + kf * ML_MATH_LN2_LO) +
                          ML_READ_F32(&tab[j][2])) + e3) + (e2 + e1);
        const float hi = s + t;
        *lo = t - (hi - s);
        return hi;
    }
}

/* ml_powf: x^y for x >= 0 (the contract the model families need: |d|^p, rd^(1/p)).
 * e^(y log x) with log x as a double-float (relative error ~2^-40), y log x as an exact
 * double-float product and the ml_expf kernel taking the low part into account.
 * Error <= 2 ulp (measured max 0.89 ulp on 4 million random (x, y), x over all positive
 * float32, y mostly chosen so that y log x covers [-104, 89] densely, i.e. the largest
 * and the subnormal results).
 * Special values (as C99 powf for x >= 0): y = +-0 -> 1 (any x, also NaN); x = 1 -> 1
 * (any y, also NaN); otherwise NaN in x or y -> NaN; x = +-0: y > 0 -> +0, y < 0 -> +inf;
 * x = +inf: y > 0 -> +inf, y < 0 -> +0; y = +-inf: 1 < x -> +inf / +0, x < 1 -> +0 /
 * +inf; x < 0 (incl. -inf, whatever y): NaN -- unlike C99 (for an integer y use
 * ml_powif); x = -0 is treated as +0. Overflow -> +inf, underflow -> subnormal or +0. */
static inline float ml_powf(float x, float y)
{
    uint32_t ux = ml_f32_bits(x);
    const uint32_t uy = ml_f32_bits(y);
    const uint32_t ay = uy & 0x7FFFFFFFu;
    float lh, ll, ph, pl, k2;
    int sub = 0;
    if (ay == 0u || ux == 0x3F800000u) {
        return 1.0f;
    }
    if (ML_UNLIKELY(ux - 0x00800000u >= 0x7F000000u || ay >= ML_MATH_INF_BITS)) {
        const uint32_t ax = ux & 0x7FFFFFFFu;
        if (ax > ML_MATH_INF_BITS || ay > ML_MATH_INF_BITS) {
            return x + y; /* NaN */
        }
        if (ux > 0x80000000u) {
            return ml_f32_from_bits(ML_MATH_QNAN_BITS); /* x < 0 */
        }
        if (ay == ML_MATH_INF_BITS) { /* y = +-inf, x >= 0, x != 1 */
            return ((ax > 0x3F800000u) == ((uy >> 31) == 0u)) ? ml_f32_from_bits(ML_MATH_INF_BITS)
                                                               : 0.0f;
        }
        if (ax == 0u || ax == ML_MATH_INF_BITS) { /* +-0 or +inf */
            return ((ax == 0u) == ((uy >> 31) != 0u)) ? ml_f32_from_bits(ML_MATH_INF_BITS) : 0.0f;
        }
        if (ax < 0x00800000u) { /* positive subnormal: log(x 2^23) - 23 log 2 */
            sub = 1;
            ux = ml_f32_bits(x * 8388608.0f);
        }
    }
    lh = ml_math_log_hilo_(ux, &ll);
    if (ML_UNLIKELY(sub)) {
        float e;
        lh = ml_math_two_sum_(lh, -23.0f * ML_MATH_LN2_HI, &e);
        ll = ll + (e - 23.0f * ML_MATH_LN2_LO);
    }
    ph = y * lh;
    if (ML_UNLIKELY(!(ph < 100.0f && ph > -110.0f))) { /* clear overflow / underflow */
        return ph > 0.0f ? ml_f32_from_bits(ML_MATH_INF_BITS) : 0.0f;
    }
    ph = ml_math_two_prod_(y, lh, &pl);
    pl = pl + y * ll;
    k2 = ph + pl;
    if (ML_UNLIKELY(!(k2 < 89.0f && k2 > -104.0f))) {
        return k2 > 0.0f ? ml_f32_from_bits(ML_MATH_INF_BITS) : 0.0f;
    }
    /* renormalise (ph, pl) so that pl is small relative to ph */
    ph = ml_math_two_sum_(ph, pl, &pl);
    return ml_math_exp_kernel_(ph, pl);
}

/* ---------------------------------------------------------------------------------- */
/* double precision (the families' float64 re-decisions)
 *
 * Same rules as the float32 functions: no libm, no errno, no mutable data, no `/` on
 * doubles (Armv6-M's __aeabi_ddiv cannot be linked into a MicroPython native module);
 * only + - * and compares on doubles (libgcc's soft-double helpers on cores without a
 * double-precision FPU), int <-> double conversions and 32/64-bit integer arithmetic.
 * Error bounds (ulps of the float64 result against the exact function, measured by
 * tests/test_ml_math.py against Python's decimal module at 40 digits):
 *   ml_div(a, b)   a / b        correctly rounded (== IEEE a / b, every input)
 *   ml_sqrt(x)     square root  correctly rounded (== IEEE sqrt, every input)
 *   ml_exp(x)      e^x          <= 1 ulp   (measured max 0.82 ulp)
 *   ml_log(x)      log x        <= 1 ulp   (measured max 0.79 ulp)
 *   ml_tanh(x)     tanh x       <= 2 ulp   (measured max 1.34 ulp)
 * (the algorithms of exp and log are those of fdlibm, with ml_div for their single
 * division; tanh: an odd Taylor polynomial below 0.5625, 1 - 2 / (e^2|x| + 1) above). */

static inline uint64_t ml_f64_bits(double d)
{
    union {
        double d;
        uint64_t u;
    } v;
    v.d = d;
    return v.u;
}

static inline double ml_f64_from_bits(uint64_t u)
{
    union {
        uint64_t u;
        double d;
    } v;
    v.u = u;
    return v.d;
}

static inline double ml_fabs(double x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_fabs(x);
#else
    return ml_f64_from_bits(ml_f64_bits(x) & 0x7FFFFFFFFFFFFFFFu);
#endif
}

#define ML_MATH_INF64_BITS 0x7FF0000000000000u
#define ML_MATH_QNAN64_BITS 0x7FF8000000000000u

/* significand in [2^52, 2^53) and unbiased exponent of a finite nonzero |x| (bits ax) */
static inline uint64_t ml_math_unpack64_(uint64_t ax, int32_t *e)
{
    if (ax >= 0x0010000000000000u) {
        *e = (int32_t)(ax >> 52) - 1023;
        return (ax & 0x000FFFFFFFFFFFFFu) | 0x0010000000000000u;
    }
    *e = -1022;
    while (ax < 0x0010000000000000u) {
        ax <<= 1;
        (*e)--;
    }
    return ax;
}

/* ml_div: a / b in double, correctly rounded (round to nearest even): the same bits as
 * IEEE division for every input (subnormals, infinities, zeros, NaN as ml_divf).
 * Restoring division of the 53-bit significands (55 iterations, 64-bit integers); x86
 * SSE2 / AArch64 hosts (ML_MATH_HW_F64): `/`, the portable code for NaN results. */
static inline double ml_math_div_portable_(double a, double b)
{
    const uint64_t ua = ml_f64_bits(a), ub = ml_f64_bits(b);
    const uint64_t sign = (ua ^ ub) & 0x8000000000000000u;
    const uint64_t aa = ua & 0x7FFFFFFFFFFFFFFFu, ab = ub & 0x7FFFFFFFFFFFFFFFu;
    uint64_t ma, mb, q = 0u, mant;
    int32_t ea, eb, be;
    uint32_t total;
    if (aa > ML_MATH_INF64_BITS || ab > ML_MATH_INF64_BITS) {
        return a + b; /* NaN */
    }
    if (aa == ML_MATH_INF64_BITS) {
        return ml_f64_from_bits(ab == ML_MATH_INF64_BITS ? ML_MATH_QNAN64_BITS
                                                         : sign | ML_MATH_INF64_BITS);
    }
    if (ab == ML_MATH_INF64_BITS) {
        return ml_f64_from_bits(sign);
    }
    if (ab == 0u) {
        return ml_f64_from_bits(aa == 0u ? ML_MATH_QNAN64_BITS : sign | ML_MATH_INF64_BITS);
    }
    if (aa == 0u) {
        return ml_f64_from_bits(sign);
    }
    ma = ml_math_unpack64_(aa, &ea);
    mb = ml_math_unpack64_(ab, &eb);
    be = ea - eb + 1023; /* biased exponent of the quotient, significand in [1, 2) */
    if (ma < mb) {
        ma <<= 1;
        be--;
    }
    if (be >= 2047) {
        return ml_f64_from_bits(sign | ML_MATH_INF64_BITS);
    }
    {
        int32_t i;
        for (i = 0; i < 55; i++) { /* q = floor(ma / mb 2^54), remainder in ma */
            q <<= 1;
            if (ma >= mb) {
                ma -= mb;
                q |= 1u;
            }
            ma <<= 1;
        }
    }
    if (be >= 1) {
        total = 2u;
    } else {
        total = (uint32_t)(3 - be);
        if (total > 56u) {
            total = 56u;
        }
        be = 1;
    }
    mant = q >> total;
    {
        const uint64_t half = (uint64_t)1u << (total - 1u);
        const uint64_t rest = q & ((half << 1) - 1u);
        if (rest > half || (rest == half && (ma != 0u || (mant & 1u) != 0u))) {
            mant++;
        }
    }
    return ml_f64_from_bits(sign | ((((uint64_t)(uint32_t)be - 1u) << 52) + mant));
}

static inline double ml_div(double a, double b)
{
#if ML_MATH_HW_F64
    const double q = a / b;
    if (ML_UNLIKELY(q != q)) { /* NaN result: the portable NaN's bits */
        return ml_math_div_portable_(a, b);
    }
    return q;
#else
    return ml_math_div_portable_(a, b);
#endif
}

/* ml_sqrt: square root in double, correctly rounded (the bits of IEEE sqrt).
 * Bit-by-bit integer square root of the significand (54 iterations, 64-bit integers);
 * x86 SSE2 / AArch64 hosts (ML_MATH_HW_F64): SQRTSD / FSQRT for x >= 0.
 * Special values: +-0 -> +-0, +inf -> +inf, x < 0 (incl. -inf) -> NaN, NaN -> NaN. */
static inline double ml_math_sqrt_portable_(double x)
{
    const uint64_t ux = ml_f64_bits(x);
    uint64_t m;
    int32_t e;
    if ((ux & 0x7FFFFFFFFFFFFFFFu) == 0u || ux == ML_MATH_INF64_BITS) {
        return x;
    }
    if (ux > ML_MATH_INF64_BITS) { /* NaN, or negative */
        return (ux & 0x7FFFFFFFFFFFFFFFu) > ML_MATH_INF64_BITS
                   ? x + x : ml_f64_from_bits(ML_MATH_QNAN64_BITS);
    }
    m = ml_math_unpack64_(ux, &e);
    if (((uint32_t)e & 1u) != 0u) {
        m <<= 1;
    }
    {
        const int32_t eh = (e + 1100) / 2 - 550; /* floor(e / 2) */
        uint64_t q = 0u, s = 0u, bit = (uint64_t)1u << 53;
        m <<= 1;
        while (bit != 0u) { /* 54 bits of sqrt (1 integer bit, 53 fraction bits) */
            const uint64_t t = s + bit;
            if (t <= m) {
                s = t + bit;
                m -= t;
                q += bit;
            }
            m <<= 1;
            bit >>= 1;
        }
        if (m != 0u) {
            q += q & 1u;
        }
        return ml_f64_from_bits((q >> 1) + 0x3FE0000000000000u +
                                ((uint64_t)(uint32_t)eh << 52));
    }
}

static inline double ml_sqrt(double x)
{
#if ML_MATH_HW_F64
    if (ML_UNLIKELY(!(x >= 0.0))) { /* x < 0 or NaN: the portable NaN (no errno) */
        return ml_math_sqrt_portable_(x);
    }
    {
        double y;
#if defined(__x86_64__) || defined(__i386__)
        __asm__("sqrtsd %1, %0" : "=x"(y) : "x"(x));
#else
        __asm__("fsqrt %d0, %d1" : "=w"(y) : "w"(x));
#endif
        return y;
    }
#else
    return ml_math_sqrt_portable_(x);
#endif
}

/* 2^k as a double, -1022 <= k <= 1023 */
static inline double ml_math_pow2_64_(int32_t k)
{
    return ml_f64_from_bits((uint64_t)(uint32_t)(k + 1023) << 52);
}

/* ml_exp: e^x in double. x = k ln2 + r, |r| <= ln2/2 (Cody-Waite, r = hi - lo),
 * e^r = 1 + 2r / (2 - c) form with c = r - r^2 P(r^2) (fdlibm's degree-5 Remez
 * polynomial, |error| < 2^-59), then scaled by 2^k with one rounding (subnormal results
 * included). Error <= 1 ulp.
 * Special values: NaN -> NaN, +inf -> +inf, -inf -> +0, x > 709.782712893384 -> +inf,
 * x < -745.1332191019412 -> +0, e^0 = 1. */
static inline double ml_exp(double x)
{
    const uint64_t ux = ml_f64_bits(x);
    const uint64_t ax = ux & 0x7FFFFFFFFFFFFFFFu;
    double hi, lo, r, t, c, y;
    int32_t k;
    if (ax >= 0x4086232B00000000u) { /* |x| >= 708.39: overflow, underflow, inf, NaN */
        if (ax > ML_MATH_INF64_BITS) {
            return x + x;
        }
        if (x > 7.09782712893383973096e+02) {
            return ml_f64_from_bits(ML_MATH_INF64_BITS);
        }
        if (x < -7.45133219101941108420e+02) {
            return 0.0;
        }
    }
    if (ax < 0x3E30000000000000u) { /* |x| < 2^-28: 1 + x is correctly rounded */
        return 1.0 + x;
    }
    k = (int32_t)(x * 1.44269504088896338700e+00 + ((ux >> 63) != 0u ? -0.5 : 0.5));
    hi = x - (double)k * 6.93147180369123816490e-01;  /* ln2 high part: exact */
    lo = (double)k * 1.90821492927058770002e-10;      /* ln2 low part */
    r = hi - lo;
    t = r * r;
    c = r - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03 +
                 t * (6.61375632143793436117e-05 + t * (-1.65339022054652515390e-06 +
                 t * 4.13813679705723846039e-08))));
    y = 1.0 - ((lo - ml_div(r * c, 2.0 - c)) - hi);
    if (k >= -1021 && k <= 1023) {
        return y * ml_math_pow2_64_(k);
    }
    if (k > 1023) { /* k = 1024 */
        return (y * 2.0) * ml_math_pow2_64_(1023);
    }
    /* subnormal result: (y 2^(k+1000), exact) * 2^-1000, one rounding */
    return (y * ml_math_pow2_64_(k + 1000)) * ml_math_pow2_64_(-1000);
}

/* ml_log: natural logarithm in double (fdlibm's method): x = 2^k (1 + f),
 * 1 + f in [sqrt(2)/2, sqrt(2)); s = f / (2 + f) (ml_div), log(1 + f) = f - s (f - R)
 * or f - (hfsq - s (hfsq + R)), R(s^2) fdlibm's degree-14 polynomial (|error| < 2^-58.45);
 * k ln2 in two parts. Error <= 1 ulp.
 * Special values: +-0 -> -inf, x < 0 -> NaN, +inf -> +inf, NaN -> NaN, log(1) = +0. */
static inline double ml_log(double x)
{
    uint64_t ux = ml_f64_bits(x);
    uint32_t hx = (uint32_t)(ux >> 32);
    int32_t k = 0;
    double f, s, z, w, r, hfsq, dk;
    uint32_t i;
    int32_t ia, ib;
    if (hx < 0x00100000u || hx >= 0x7FF00000u) {
        if ((ux & 0x7FFFFFFFFFFFFFFFu) == 0u) {
            return ml_f64_from_bits(0xFFF0000000000000u); /* -inf */
        }
        if ((ux >> 63) != 0u) {
            return (ux & 0x7FFFFFFFFFFFFFFFu) > ML_MATH_INF64_BITS
                       ? x + x : ml_f64_from_bits(ML_MATH_QNAN64_BITS);
        }
        if (hx >= 0x7FF00000u) {
            return x + x; /* +inf, NaN */
        }
        k = -54; /* positive subnormal: scale by 2^54 (exact) */
        ux = ml_f64_bits(x * 18014398509481984.0);
        hx = (uint32_t)(ux >> 32);
    }
    k += (int32_t)(hx >> 20) - 1023;
    hx &= 0x000FFFFFu;
    i = (hx + 0x95F64u) & 0x100000u; /* 1 when the significand >= sqrt(2) */
    /* significand scaled into [sqrt(2)/2, sqrt(2)) */
    ux = ((uint64_t)(hx | (i ^ 0x3FF00000u)) << 32) | (ux & 0xFFFFFFFFu);
    k += (int32_t)(i >> 20);
    f = ml_f64_from_bits(ux) - 1.0;
    dk = (double)k;
    if ((0x000FFFFFu & (2u + hx)) < 3u) { /* -2^-20 < f < 2^-20 */
        if (f == 0.0) {
            return k == 0 ? 0.0 : dk * 6.93147180369123816490e-01 + dk * 1.90821492927058770002e-10;
        }
        r = f * f * (0.5 - 0.33333333333333333 * f);
        return k == 0 ? f - r
                      : dk * 6.93147180369123816490e-01 -
                            ((r - dk * 1.90821492927058770002e-10) - f);
    }
    s = ml_div(f, 2.0 + f);
    z = s * s;
    w = z * z;
    r = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 +
             w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01))) +
        w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 +
             w * 1.531383769920937332e-01));
    ia = (int32_t)hx - 0x6147A;
    ib = 0x6B851 - (int32_t)hx;
    if ((ia | ib) > 0) { /* f far from 0: f - (f^2/2 - s (f^2/2 + R)) */
        hfsq = 0.5 * f * f;
        return k == 0 ? f - (hfsq - s * (hfsq + r))
                      : dk * 6.93147180369123816490e-01 -
                            ((hfsq - (s * (hfsq + r) + dk * 1.90821492927058770002e-10)) - f);
    }
    return k == 0 ? f - s * (f - r)
                  : dk * 6.93147180369123816490e-01 -
                        ((s * (f - r) - dk * 1.90821492927058770002e-10) - f);
}

/* ml_pow: x^y in double for x >= 0 (the neighbors family's float64 minkowski terms
 * |d|^p and roots rd^(1/p)): e^(y log x) with ml_log and ml_exp. The 1-ulp error of
 * log x becomes an absolute error of |y log x| 2^-52 in the exponent, so the relative
 * error is <= (2 + 2 |y ln x|) 2^-53 (ulps: <= 2 + 2 |y ln x|; |y ln x| <= 745 for
 * finite non-zero results, i.e. relative error < 2^-42; measured in tests/test_ml_math.py).
 * Special values as ml_powf: y = +-0 -> 1 (any x, also NaN); x = 1 -> 1; otherwise NaN
 * in x or y -> NaN; x = +-0: y > 0 -> +0, y < 0 -> +inf; x = +inf: y > 0 -> +inf,
 * y < 0 -> +0; y = +-inf: 1 < x -> +inf / +0, x < 1 -> +0 / +inf; x < 0: NaN. */
static inline double ml_pow(double x, double y)
{
    const uint64_t ux = ml_f64_bits(x);
    const uint64_t ay = ml_f64_bits(y) & 0x7FFFFFFFFFFFFFFFu;
    if (ay == 0u || x == 1.0) {
        return 1.0;
    }
    if ((ux & 0x7FFFFFFFFFFFFFFFu) > ML_MATH_INF64_BITS || ay > ML_MATH_INF64_BITS) {
        return x + y; /* NaN */
    }
    if ((ux & 0x7FFFFFFFFFFFFFFFu) == 0u) {
        return y > 0.0 ? 0.0 : ml_f64_from_bits(ML_MATH_INF64_BITS);
    }
    if (ux > ML_MATH_INF64_BITS) { /* x < 0 */
        return ml_f64_from_bits(ML_MATH_QNAN64_BITS);
    }
    if (ux == ML_MATH_INF64_BITS) {
        return y > 0.0 ? x : 0.0;
    }
    if (ay == ML_MATH_INF64_BITS) {
        return (x > 1.0) == (y > 0.0) ? ml_f64_from_bits(ML_MATH_INF64_BITS) : 0.0;
    }
    return ml_exp(y * ml_log(x));
}

/* ml_tanh: hyperbolic tangent in double.
 * |x| < 2^-28: x; |x| < 0.5625: x + x z P(z), z = x^2, P the Taylor series of
 * (tanh(x) - x) / x^3 to degree 19 in z (truncation < 2^-62 relative);
 * 0.5625 <= |x| < 22: 1 - 2 / (e^(2|x|) + 1) (ml_exp, ml_div); |x| >= 22: +-1.
 * Error <= 2 ulp. Odd; +-0 -> +-0, +-inf -> +-1, NaN -> NaN. */
static inline double ml_tanh(double x)
{
    const uint64_t ux = ml_f64_bits(x);
    const uint64_t ax = ux & 0x7FFFFFFFFFFFFFFFu;
    const uint64_t sign = ux & 0x8000000000000000u;
    const double a = ml_f64_from_bits(ax);
    double t;
    if (ax < 0x3E30000000000000u) { /* |x| < 2^-28 (and +-0) */
        return x;
    }
    if (ax < 0x3FE2000000000000u) { /* |x| < 0.5625 */
        const double z = a * a;
        const double p = -0.3333333333333333 + z * (0.13333333333333333 + z *
            (-0.05396825396825397 + z * (0.021869488536155203 + z *
            (-0.008863235529902197 + z * (0.003592128036572481 + z *
            (-0.0014558343870513183 + z * (0.000590027440945586 + z *
            (-0.00023912911424355248 + z * (9.691537956929451e-05 + z *
            (-3.927832388331683e-05 + z * (1.5918905069328964e-05 + z *
            (-6.451689215655431e-06 + z * (2.6147711512907546e-06 + z *
            (-1.0597268320104654e-06 + z * (4.294911078273806e-07 + z *
            (-1.7406618963571648e-07 + z * (7.054636946400968e-08 + z *
            (-2.859136662305254e-08 + z * (1.1587644432798853e-08)))))))))))))))))));
        t = a + a * (z * p);
    } else if (ax < 0x4036000000000000u) { /* |x| < 22 */
        t = 1.0 - ml_div(2.0, ml_exp(a + a) + 1.0);
    } else {
        if (ax > ML_MATH_INF64_BITS) {
            return x + x;
        }
        t = 1.0;
    }
    return ml_f64_from_bits(sign | ml_f64_bits(t));
}

#endif /* ML_MATH_H */
