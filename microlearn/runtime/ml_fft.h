/* ml_fft.h - microlearn C runtime: real FFT (float32 and Q15), power and magnitude spectra.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows (static inline, no malloc, no globals, no libm).
 * Host twin: microlearn.dsp.rfft / rfft_q15 run this code through
 * runtime/host/ml_dsp_spectral.c, so host results are the device's bits.
 *
 * Usage (float32):
 *
 *     ml_rfft_f32_t fft;                       // holds the twiddles: 5 n / 4 floats
 *     if (ml_rfft_f32_init(&fft, 512) != ML_OK) { ... }
 *     float frame[512], spec[512 + 2], power[257];
 *     ml_rfft_f32(&fft, frame, spec);          // frame is only read
 *     ml_power_spectrum_f32(spec, 257, power); // |X[k]|^2, k = 0..256
 *
 * Output layout (numpy.fft.rfft's): out[2k] = Re X[k], out[2k + 1] = Im X[k] for
 * k = 0 .. n/2 (n + 2 floats; Im X[0] = Im X[n/2] = 0), X[k] = sum_t x[t] e^{-2 pi i k t/n}.
 * Unlike CMSIS-DSP's arm_rfft_fast_f32 the Nyquist bin is not packed into out[1].
 *
 * Sizes: n = 16, 32, ..., 4096 (powers of two). ml_rfft_f32_init returns
 * ML_ERR_FFT_SIZE for any other n and for n > ML_RFFT_MAX_N.
 *
 * Memory: the twiddle factors are computed by ml_rfft_f32_init into the instance (no
 * tables in flash, no libm: sin/cos come from a short polynomial evaluated in float32, so
 * every platform computes the same bits). The instance holds room for
 * ML_RFFT_F32_TWIDDLES(ML_RFFT_MAX_N) floats: define ML_RFFT_MAX_N (a power of two,
 * 16..4096; default 1024, i.e. 5 KB of RAM per instance; 16 on AVR) before including this header to
 * size it for the largest n the firmware uses (512: 2.5 KB), identically in every file
 * that includes it. ml_rfft_f32 needs no scratch: it reads `in` and works in `out`.
 *
 * Algorithm: the n real samples are read as n/2 complex values z[m] = x[2m] + i x[2m+1];
 * a decimation-in-time complex FFT of size n/2 (first stage radix-8 or radix-4 reading
 * its input in bit-reversed order directly from `in`, then radix-4 stages) followed by the
 * split step X[k] = E[k] + W^k O[k]. Float operations are in a fixed order; compile with
 * -ffp-contract=off (no fused multiply-add) for bit-identical results across platforms.
 *
 * Accuracy (float32, measured against numpy.fft.rfft in float64 on FSDD recordings,
 * noise, sines, square waves, every n): max |X - X_ref| <= 1e-7 * log2(n) * sqrt(n) *
 * sqrt(sum x^2) (tests/test_dsp_spectral.py asserts this bound; measured at most 1/10
 * of it).
 *
 * Q15 (for cores without FPU): ml_rfft_q15_t / ml_rfft_q15_init / ml_rfft_q15, same sizes
 * and layout, int16 in and out. Scaling: out[2k], out[2k+1] = X[k] / n (rounded), where
 * X is the DFT of the Q15 input, i.e. for an input x in [-1, 1) (Q15) the output is the
 * DFT divided by n in Q15 (a full-scale DC input gives out[0] = x). Radix-4 stages scale
 * by 1/4, the first stage by one more 1/2 (so that no intermediate overflows, also for
 * full-scale square waves), the split step by 1/2, each with rounding; the error is at
 * most 1.5 + log2(n) / 4 LSB (tests; measured 2.0 - 2.5). Twiddles:
 * ML_RFFT_Q15_TWIDDLES(n) = 5n/4 int16 in the instance (ML_RFFT_MAX_N sizes it too).
 * The Q15 path uses integer arithmetic only (float only in ml_rfft_q15_init).
 */
#ifndef ML_FFT_H
#define ML_FFT_H

#include "ml_common.h"
#include "ml_math.h"

#define ML_ERR_FFT_SIZE (-20) /* n is not a power of two in [16, ML_RFFT_MAX_N] */

#ifndef ML_RFFT_MAX_N
#if defined(__AVR__)
/* AVR (2 KB of SRAM on the ATmega328P): the smallest instance unless the firmware asks for
 * more; a generated model with an FFT says which size it needs (#error) */
#define ML_RFFT_MAX_N 16
#else
#define ML_RFFT_MAX_N 1024
#endif
#endif
#if ML_RFFT_MAX_N < 16 || ML_RFFT_MAX_N > 4096 || (ML_RFFT_MAX_N & (ML_RFFT_MAX_N - 1)) != 0
#error "ML_RFFT_MAX_N must be a power of two from 16 to 4096"
#endif
#define ML_RFFT_MIN_N 16
/* radix-4 stages with at most this many blocks loop over the twiddles innermost */
#ifndef ML_RFFT_F32_FEW_BLOCKS
#define ML_RFFT_F32_FEW_BLOCKS 1
#endif
#define ML_RFFT_LIMIT_N 4096

/* floats of twiddles for size n: complex FFT of n/2 (3 n / 8 complex) + split (n / 4
 * complex) */
#define ML_RFFT_F32_TWIDDLES(n) ((3 * (n)) / 4 + (n) / 2)
/* int16 of twiddles for size n: complex FFT of n/2 (3 n / 8 complex) + split (n / 4) */
#define ML_RFFT_Q15_TWIDDLES(n) ((3 * (n)) / 4 + (n) / 2)

/* ---------------------------------------------------------------------------------------
 * sin / cos of 2 pi num / den (used for twiddles, windows, the DCT) */

/* sin(pi/4 t), cos(pi/4 t) for t in [0, 1]: Taylor polynomials (truncation error below
 * 2e-9, i.e. the float32 evaluation's rounding dominates: <= 1 ulp measured). */
static inline float ml_dsp_sin_oct_(float t)
{
    const float u = t * t;
    return t * (7.853981853e-01f +
                u * (-8.074551076e-02f +
                     u * (2.490394516e-03f + u * (-3.657620255e-05f + u * 3.133616815e-07f))));
}

static inline float ml_dsp_cos_oct_(float t)
{
    const float u = t * t;
    return 1.0f +
           u * (-3.084251285e-01f +
                u * (1.585434377e-02f +
                     u * (-3.259918885e-04f + u * (3.590860388e-06f + u * -2.461136894e-08f))));
}

/* sin and cos of 2 pi num / den, for 0 < den <= 2^27 and any num >= 0 (reduced modulo
 * den with integers, so the argument is exact; the octant's fraction is rounded once).
 * Same bits on every IEEE platform (float32 only, no libm). */
static inline void ml_dsp_sincos2pi(uint32_t num, uint32_t den, float *s, float *c)
{
    const uint32_t e = (num % den) * 8u;
    const uint32_t oct = e / den;
    uint32_t rem = e - oct * den;
    float sv, cv;
    if (oct & 1u) {
        rem = den - rem; /* angle measured back from the next multiple of pi/4 */
    }
    {
        const float t = ml_divf((float)rem, (float)den);
        const float so = ml_dsp_sin_oct_(t);
        const float co = ml_dsp_cos_oct_(t);
        switch (oct) {
        case 0u: sv = so; cv = co; break;
        case 1u: sv = co; cv = so; break;
        case 2u: sv = co; cv = -so; break;
        case 3u: sv = so; cv = -co; break;
        case 4u: sv = -so; cv = -co; break;
        case 5u: sv = -co; cv = -so; break;
        case 6u: sv = -co; cv = so; break;
        default: sv = -so; cv = co; break;
        }
    }
    *s = sv;
    *c = cv;
}

/* log2 of n when n is a power of two in [ML_RFFT_MIN_N, max_n], else -1 */
static inline int32_t ml_fft_log2_(int32_t n, int32_t max_n)
{
    int32_t l = 0;
    if (n < ML_RFFT_MIN_N || n > max_n || (n & (n - 1)) != 0) {
        return -1;
    }
    while (((int32_t)1 << l) < n) {
        l++;
    }
    return l;
}

/* ---------------------------------------------------------------------------------------
 * float32 real FFT */

typedef struct ml_rfft_f32 {
    int32_t n;     /* real FFT length */
    int32_t log2m; /* log2(n / 2) */
    /* [0, 3n/4): W_{n/2}^k = cos - i sin (2 pi k / (n/2)), k < 3n/8 (re, im pairs);
     * [3n/4, 5n/4): 0.5 W_n^k, k < n/4 (re, im pairs) */
    float twiddle[ML_RFFT_F32_TWIDDLES(ML_RFFT_MAX_N)];
} ml_rfft_f32_t;

/* Prepare an instance for length n (computes the twiddles; about 30 float operations
 * per twiddle). Returns ML_OK, ML_ERR_NULL or ML_ERR_FFT_SIZE (n not a power of two in
 * [16, ML_RFFT_MAX_N]). */
static inline int32_t ml_rfft_f32_init(ml_rfft_f32_t *S, int32_t n)
{
    if (S == NULL) {
        return ML_ERR_NULL;
    }
    {
        const int32_t l = ml_fft_log2_(n, ML_RFFT_MAX_N);
        const uint32_t m = (uint32_t)n / 2u;
        float *tw = S->twiddle;
        float *ts = S->twiddle + (3 * n) / 4;
        uint32_t k;
        if (l < 0) {
            S->n = 0;
            return ML_ERR_FFT_SIZE;
        }
        S->n = n;
        S->log2m = l - 1;
        for (k = 0; k < (3u * m) / 4u; k++) {
            float s, c;
            ml_dsp_sincos2pi(k, m, &s, &c);
            tw[2u * k] = c;
            tw[2u * k + 1u] = -s;
        }
        for (k = 0; k < m / 2u; k++) {
            float s, c;
            ml_dsp_sincos2pi(k, (uint32_t)n, &s, &c);
            ts[2u * k] = 0.5f * c;
            ts[2u * k + 1u] = -0.5f * s;
        }
    }
    return ML_OK;
}

/* first stage, n/2 = 8 q points: 8-point DFTs of z[b + r m/8] (b = bit-reverse of q),
 * read from the real input, written to out in bit-reversed order */
static inline void ml_rfft_f32_first8_(const float *ML_RESTRICT in, float *ML_RESTRICT out,
                                       int32_t m)
{
    const int32_t q_count = m / 8;
    const int32_t st = m / 4; /* floats between z[b] and z[b + m/8] */
    const float r2 = 0.707106769f;
    int32_t rev = 0;
    int32_t q;
    for (q = 0; q < q_count; q++) {
        const float *p = in + 2 * rev;
        float *o = out + 16 * q;
        /* x0..x7 = z[b + rev3(r) m/8] */
        const float x0r = p[0], x0i = p[1];
        const float x4r = p[st], x4i = p[st + 1];
        const float x2r = p[2 * st], x2i = p[2 * st + 1];
        const float x6r = p[3 * st], x6i = p[3 * st + 1];
        const float x1r = p[4 * st], x1i = p[4 * st + 1];
        const float x5r = p[5 * st], x5i = p[5 * st + 1];
        const float x3r = p[6 * st], x3i = p[6 * st + 1];
        const float x7r = p[7 * st], x7i = p[7 * st + 1];
        /* stage 1 */
        const float a0r = x0r + x1r, a0i = x0i + x1i, a1r = x0r - x1r, a1i = x0i - x1i;
        const float a2r = x2r + x3r, a2i = x2i + x3i, a3r = x2r - x3r, a3i = x2i - x3i;
        const float a4r = x4r + x5r, a4i = x4i + x5i, a5r = x4r - x5r, a5i = x4i - x5i;
        const float a6r = x6r + x7r, a6i = x6i + x7i, a7r = x6r - x7r, a7i = x6i - x7i;
        /* stage 2: (0,2) (4,6) with 1; (1,3) (5,7) with -i */
        const float b0r = a0r + a2r, b0i = a0i + a2i, b2r = a0r - a2r, b2i = a0i - a2i;
        const float b1r = a1r + a3i, b1i = a1i - a3r, b3r = a1r - a3i, b3i = a1i + a3r;
        const float b4r = a4r + a6r, b4i = a4i + a6i, b6r = a4r - a6r, b6i = a4i - a6i;
        const float b5r = a5r + a7i, b5i = a5i - a7r, b7r = a5r - a7i, b7i = a5i + a7r;
        /* stage 3: (j, j+4) with W8^j */
        const float c5r = (b5r + b5i) * r2, c5i = (b5i - b5r) * r2;
        const float c7r = (b7i - b7r) * r2, c7i = -(b7r + b7i) * r2;
        o[0] = b0r + b4r;
        o[1] = b0i + b4i;
        o[8] = b0r - b4r;
        o[9] = b0i - b4i;
        o[2] = b1r + c5r;
        o[3] = b1i + c5i;
        o[10] = b1r - c5r;
        o[11] = b1i - c5i;
        o[4] = b2r + b6i;
        o[5] = b2i - b6r;
        o[12] = b2r - b6i;
        o[13] = b2i + b6r;
        o[6] = b3r + c7r;
        o[7] = b3i + c7i;
        o[14] = b3r - c7r;
        o[15] = b3i - c7i;
        {   /* next bit-reversed index over log2(q_count) bits */
            int32_t bit = q_count >> 1;
            while (rev & bit) {
                rev ^= bit;
                bit >>= 1;
            }
            rev |= bit;
        }
    }
}

/* first stage, n/2 = 4 q points: 4-point DFTs of z[b + r m/4] */
static inline void ml_rfft_f32_first4_(const float *ML_RESTRICT in, float *ML_RESTRICT out,
                                       int32_t m)
{
    const int32_t q_count = m / 4;
    const int32_t st = m / 2;
    int32_t rev = 0;
    int32_t q;
    for (q = 0; q < q_count; q++) {
        const float *p = in + 2 * rev;
        float *o = out + 8 * q;
        const float x0r = p[0], x0i = p[1];
        const float x2r = p[st], x2i = p[st + 1];
        const float x1r = p[2 * st], x1i = p[2 * st + 1];
        const float x3r = p[3 * st], x3i = p[3 * st + 1];
        const float a0r = x0r + x1r, a0i = x0i + x1i, a1r = x0r - x1r, a1i = x0i - x1i;
        const float a2r = x2r + x3r, a2i = x2i + x3i, a3r = x2r - x3r, a3i = x2i - x3i;
        o[0] = a0r + a2r;
        o[1] = a0i + a2i;
        o[4] = a0r - a2r;
        o[5] = a0i - a2i;
        o[2] = a1r + a3i;
        o[3] = a1i - a3r;
        o[6] = a1r - a3i;
        o[7] = a1i + a3r;
        {
            int32_t bit = q_count >> 1;
            while (rev & bit) {
                rev ^= bit;
                bit >>= 1;
            }
            rev |= bit;
        }
    }
}

/* one radix-4 DIT butterfly on p0..p3 with twiddles w = W^j, W^2j, W^3j */
#define ML_RFFT_R4_BUTTERFLY_(p0, p1, p2, p3, w1r, w1i, w2r, w2i, w3r, w3i)                   \
    do {                                                                                    \
        const float a0r = (p0)[0], a0i = (p0)[1];                                           \
        const float a1r = (p1)[0], a1i = (p1)[1];                                           \
        const float a2r = (p2)[0], a2i = (p2)[1];                                           \
        const float a3r = (p3)[0], a3i = (p3)[1];                                           \
        const float br = a1r * (w2r) - a1i * (w2i), bi = a1r * (w2i) + a1i * (w2r);         \
        const float cr = a2r * (w1r) - a2i * (w1i), ci = a2r * (w1i) + a2i * (w1r);         \
        const float dr = a3r * (w3r) - a3i * (w3i), di = a3r * (w3i) + a3i * (w3r);         \
        const float t0r = a0r + br, t0i = a0i + bi, t1r = a0r - br, t1i = a0i - bi;         \
        const float t2r = cr + dr, t2i = ci + di, t3r = cr - dr, t3i = ci - di;             \
        (p0)[0] = t0r + t2r;                                                                \
        (p0)[1] = t0i + t2i;                                                                \
        (p2)[0] = t0r - t2r;                                                                \
        (p2)[1] = t0i - t2i;                                                                \
        (p1)[0] = t1r + t3i;                                                                \
        (p1)[1] = t1i - t3r;                                                                \
        (p3)[0] = t1r - t3i;                                                                \
        (p3)[1] = t1i + t3r;                                                                \
    } while (0)

/* radix-4 DIT stage on z (m complex): sub-DFTs of size h -> 4h. Twiddle W_{4h}^j is
 * tw[j * m / (4h)] (complex). Many blocks: twiddles outer, blocks inner (loaded once per
 * j); few blocks (the last stages): blocks outer, j inner (no per-j loop overhead). */
static inline void ml_rfft_f32_radix4_(float *z, int32_t m, int32_t h, const float *tw)
{
    const int32_t tstep = 2 * (m / (4 * h)); /* floats between W^j and W^(j+1) */
    const int32_t h2 = 2 * h;                /* floats between a0 and a1 */
    const int32_t blk = 8 * h;               /* floats per block of 4h */
    const float *stop = z + 2 * m;
    if (m / (4 * h) > ML_RFFT_F32_FEW_BLOCKS) {
        int32_t j;
        for (j = 0; j < h; j++) {
            const float *w = tw + j * tstep;
            const float w1r = w[0], w1i = w[1];
            const float w2r = w[j * tstep], w2i = w[j * tstep + 1];
            const float w3r = w[2 * j * tstep], w3i = w[2 * j * tstep + 1];
            /* four pointers advanced together: VLDR/VSTR take immediate offsets only */
            float *p0 = z + 2 * j;
            float *p1 = p0 + h2;
            float *p2 = p1 + h2;
            float *p3 = p2 + h2;
            for (; p0 < stop; p0 += blk, p1 += blk, p2 += blk, p3 += blk) {
                ML_RFFT_R4_BUTTERFLY_(p0, p1, p2, p3, w1r, w1i, w2r, w2i, w3r, w3i);
            }
        }
    } else {
        float *b;
        for (b = z; b < stop; b += blk) {
            float *p0 = b;
            float *p1 = b + h2;
            float *p2 = p1 + h2;
            float *p3 = p2 + h2;
            const float *w1 = tw, *w2 = tw, *w3 = tw;
            const float *jend = b + h2;
            for (; p0 < jend; p0 += 2, p1 += 2, p2 += 2, p3 += 2) {
                ML_RFFT_R4_BUTTERFLY_(p0, p1, p2, p3, w1[0], w1[1], w2[0], w2[1], w3[0],
                                      w3[1]);
                w1 += tstep;
                w2 += 2 * tstep;
                w3 += 3 * tstep;
            }
        }
    }
}

/* Real FFT of n = S->n samples: in (n floats, only read) -> out (n + 2 floats: re, im of
 * bins 0 .. n/2). in and out must not overlap. An instance from a failed init (n = 0)
 * leaves out unchanged. */
static inline void ml_rfft_f32(const ml_rfft_f32_t *S, float *in, float *out)
{
    const int32_t n = S->n;
    const int32_t m = n / 2;
    const float *tw = S->twiddle;
    const float *ts = S->twiddle + (3 * n) / 4;
    int32_t h;
    if (n < ML_RFFT_MIN_N) {
        return;
    }
    if (S->log2m & 1) {
        ml_rfft_f32_first8_(in, out, m);
        h = 8;
    } else {
        ml_rfft_f32_first4_(in, out, m);
        h = 4;
    }
    for (; h < m; h *= 4) {
        ml_rfft_f32_radix4_(out, m, h, tw);
    }
    /* split: X[k] = E + W^k O, X[m-k] = conj(E - W^k O) */
    {
        const float z0r = out[0], z0i = out[1];
        float *lo = out + 2;
        float *hi = out + 2 * m - 2;
        const float *w = ts + 2;
        out[0] = z0r + z0i;
        out[1] = 0.0f;
        out[2 * m] = z0r - z0i;
        out[2 * m + 1] = 0.0f;
        for (; lo < hi; lo += 2, hi -= 2, w += 2) {
            const float ar = lo[0], ai = lo[1], br = hi[0], bi = hi[1];
            const float er = 0.5f * (ar + br), ei = 0.5f * (ai - bi);
            const float or_ = ai + bi, oi = br - ar; /* 2 O */
            const float pr = or_ * w[0] - oi * w[1], pi = or_ * w[1] + oi * w[0];
            lo[0] = er + pr;
            lo[1] = ei + pi;
            hi[0] = er - pr;
            hi[1] = pi - ei;
        }
        lo[1] = -lo[1]; /* k = m/2: X = conj(Z) */
    }
}

/* out[k] = re^2 + im^2 of the n_bins complex values in X (re, im pairs) */
static inline void ml_power_spectrum_f32(const float *X, int32_t n_bins, float *out)
{
    int32_t k;
    for (k = 0; k < n_bins; k++) {
        const float re = X[2 * k], im = X[2 * k + 1];
        out[k] = re * re + im * im;
    }
}

/* out[k] = sqrt(re^2 + im^2) (correctly rounded square root of the float32 sum) */
static inline void ml_magnitude_spectrum_f32(const float *X, int32_t n_bins, float *out)
{
    int32_t k;
    for (k = 0; k < n_bins; k++) {
        const float re = X[2 * k], im = X[2 * k + 1];
        out[k] = ml_sqrtf(re * re + im * im);
    }
}

/* ---------------------------------------------------------------------------------------
 * Q15 real FFT */

typedef struct ml_rfft_q15 {
    int32_t n;
    int32_t log2m;
    /* [0, 3n/4): W_{n/2}^k, k < 3n/8; [3n/4, 5n/4): W_n^k, k < n/4 (re, im pairs, Q15;
     * 1 is stored as 32767, but W^0 is never multiplied) */
    int16_t twiddle[ML_RFFT_Q15_TWIDDLES(ML_RFFT_MAX_N)];
} ml_rfft_q15_t;

/* floor(x / 2^s), 1 <= s <= 31, without implementation-defined shifts of negative values:
 * x + 2^31 as unsigned keeps the order, and its shift minus 2^(31-s) is the floor */
static inline int32_t ml_q15_asr_(int32_t x, int32_t s)
{
    return (int32_t)(((uint32_t)x + 0x80000000u) >> s) - (int32_t)(0x80000000u >> s);
}

/* round(x / 2^s) (halves up) */
static inline int32_t ml_q15_rshift_(int32_t x, int32_t s)
{
    return ml_q15_asr_(x + ((int32_t)1 << (s - 1)), s);
}

static inline int16_t ml_q15_sat_(int32_t x)
{
    return (int16_t)(x > 32767 ? 32767 : (x < -32768 ? -32768 : x));
}

static inline int16_t ml_q15_from_f32_(float v)
{
    const float s = v * 32768.0f;
    const int32_t r = (int32_t)(s >= 0.0f ? s + 0.5f : s - 0.5f);
    return ml_q15_sat_(r);
}

/* Prepare a Q15 instance for length n (as ml_rfft_f32_init). */
static inline int32_t ml_rfft_q15_init(ml_rfft_q15_t *S, int32_t n)
{
    if (S == NULL) {
        return ML_ERR_NULL;
    }
    {
        const int32_t l = ml_fft_log2_(n, ML_RFFT_MAX_N);
        const uint32_t m = (uint32_t)n / 2u;
        int16_t *tw = S->twiddle;
        int16_t *ts = S->twiddle + (3 * n) / 4;
        uint32_t k;
        if (l < 0) {
            S->n = 0;
            return ML_ERR_FFT_SIZE;
        }
        S->n = n;
        S->log2m = l - 1;
        for (k = 0; k < (3u * m) / 4u; k++) {
            float s, c;
            ml_dsp_sincos2pi(k, m, &s, &c);
            tw[2u * k] = ml_q15_from_f32_(c);
            tw[2u * k + 1u] = ml_q15_from_f32_(-s);
        }
        for (k = 0; k < m / 2u; k++) {
            float s, c;
            ml_dsp_sincos2pi(k, (uint32_t)n, &s, &c);
            ts[2u * k] = ml_q15_from_f32_(c);
            ts[2u * k + 1u] = ml_q15_from_f32_(-s);
        }
    }
    return ML_OK;
}

/* round(Q15 product a * w) components: (ar + i ai)(wr + i wi) >> 15 */
#define ML_Q15_CMUL_(ar, ai, wr, wi, pr, pi)                                                 \
    do {                                                                                    \
        (pr) = ml_q15_rshift_((ar) * (wr) - (ai) * (wi), 15);                               \
        (pi) = ml_q15_rshift_((ar) * (wi) + (ai) * (wr), 15);                               \
    } while (0)

/* Q15 real FFT: in (n int16, only read) -> out (n + 2 int16), out = X / n (see top).
 * in and out must not overlap. */
static inline void ml_rfft_q15(const ml_rfft_q15_t *S, int16_t *in, int16_t *out)
{
    const int32_t n = S->n;
    const int32_t m = n / 2;
    const int16_t *tw = S->twiddle;
    const int16_t *ts = S->twiddle + (3 * n) / 4;
    int32_t h, q, rev = 0;
    if (n < ML_RFFT_MIN_N) {
        return;
    }
    if (S->log2m & 1) {
        /* first stage radix-2 from bit-reversed input, scaled by 1/4 */
        for (q = 0; q < m / 2; q++) {
            const int16_t *p = in + 2 * rev;
            const int32_t ar = p[0], ai = p[1], br = p[m], bi = p[m + 1];
            int16_t *o = out + 4 * q;
            o[0] = (int16_t)ml_q15_rshift_(ar + br, 2);
            o[1] = (int16_t)ml_q15_rshift_(ai + bi, 2);
            o[2] = (int16_t)ml_q15_rshift_(ar - br, 2);
            o[3] = (int16_t)ml_q15_rshift_(ai - bi, 2);
            {
                int32_t bit = m >> 2;
                while (rev & bit) {
                    rev ^= bit;
                    bit >>= 1;
                }
                rev |= bit;
            }
        }
        h = 2;
    } else {
        /* first stage radix-4 from bit-reversed input, scaled by 1/8 */
        const int32_t st = m / 2; /* int16 between z[b] and z[b + m/4] */
        for (q = 0; q < m / 4; q++) {
            const int16_t *p = in + 2 * rev;
            int16_t *o = out + 8 * q;
            const int32_t x0r = p[0], x0i = p[1], x2r = p[st], x2i = p[st + 1];
            const int32_t x1r = p[2 * st], x1i = p[2 * st + 1];
            const int32_t x3r = p[3 * st], x3i = p[3 * st + 1];
            const int32_t a0r = x0r + x1r, a0i = x0i + x1i, a1r = x0r - x1r, a1i = x0i - x1i;
            const int32_t a2r = x2r + x3r, a2i = x2i + x3i, a3r = x2r - x3r, a3i = x2i - x3i;
            o[0] = (int16_t)ml_q15_rshift_(a0r + a2r, 3);
            o[1] = (int16_t)ml_q15_rshift_(a0i + a2i, 3);
            o[4] = (int16_t)ml_q15_rshift_(a0r - a2r, 3);
            o[5] = (int16_t)ml_q15_rshift_(a0i - a2i, 3);
            o[2] = (int16_t)ml_q15_rshift_(a1r + a3i, 3);
            o[3] = (int16_t)ml_q15_rshift_(a1i - a3r, 3);
            o[6] = (int16_t)ml_q15_rshift_(a1r - a3i, 3);
            o[7] = (int16_t)ml_q15_rshift_(a1i + a3r, 3);
            {
                int32_t bit = m >> 3;
                while (rev & bit) {
                    rev ^= bit;
                    bit >>= 1;
                }
                rev |= bit;
            }
        }
        h = 4;
    }
    /* radix-4 stages, each scaled by 1/4 (products rounded to Q15 first) */
    for (; h < m; h *= 4) {
        const int32_t tstep = 2 * (m / (4 * h));
        const int32_t h2 = 2 * h;
        int32_t j;
        for (j = 0; j < h; j++) {
            const int16_t *w = tw + j * tstep;
            const int32_t w1r = w[0], w1i = w[1];
            const int32_t w2r = w[j * tstep], w2i = w[j * tstep + 1];
            const int32_t w3r = w[2 * j * tstep], w3i = w[2 * j * tstep + 1];
            int16_t *p0 = out + 2 * j;
            const int16_t *stop = out + 2 * m;
            for (; p0 < stop; p0 += 4 * h2) {
                int16_t *p1 = p0 + h2, *p2 = p1 + h2, *p3 = p2 + h2;
                const int32_t a0r = p0[0], a0i = p0[1];
                int32_t br = p1[0], bi = p1[1], cr = p2[0], ci = p2[1], dr = p3[0], di = p3[1];
                int32_t t0r, t0i, t1r, t1i, t2r, t2i, t3r, t3i;
                if (j != 0) { /* W^0 = 1 is not representable in Q15: exact instead */
                    ML_Q15_CMUL_(p1[0], p1[1], w2r, w2i, br, bi);
                    ML_Q15_CMUL_(p2[0], p2[1], w1r, w1i, cr, ci);
                    ML_Q15_CMUL_(p3[0], p3[1], w3r, w3i, dr, di);
                }
                t0r = a0r + br;
                t0i = a0i + bi;
                t1r = a0r - br;
                t1i = a0i - bi;
                t2r = cr + dr;
                t2i = ci + di;
                t3r = cr - dr;
                t3i = ci - di;
                p0[0] = (int16_t)ml_q15_rshift_(t0r + t2r, 2);
                p0[1] = (int16_t)ml_q15_rshift_(t0i + t2i, 2);
                p2[0] = (int16_t)ml_q15_rshift_(t0r - t2r, 2);
                p2[1] = (int16_t)ml_q15_rshift_(t0i - t2i, 2);
                p1[0] = (int16_t)ml_q15_rshift_(t1r + t3i, 2);
                p1[1] = (int16_t)ml_q15_rshift_(t1i - t3r, 2);
                p3[0] = (int16_t)ml_q15_rshift_(t1r - t3i, 2);
                p3[1] = (int16_t)ml_q15_rshift_(t1i + t3r, 2);
            }
        }
    }
    /* split (Z = FFT/(2m) here; X/n = E + W O with the halving of the float code) */
    {
        const int32_t z0r = out[0], z0i = out[1];
        int32_t k;
        out[0] = ml_q15_sat_(z0r + z0i);
        out[1] = 0;
        out[2 * m] = ml_q15_sat_(z0r - z0i);
        out[2 * m + 1] = 0;
        for (k = 1; k < m / 2; k++) {
            int16_t *lo = out + 2 * k;
            int16_t *hi = out + 2 * (m - k);
            const int32_t ar = lo[0], ai = lo[1], br = hi[0], bi = hi[1];
            const int32_t er2 = ar + br, ei2 = ai - bi;  /* 2 E */
            const int32_t or2 = ai + bi, oi2 = br - ar;  /* 2 O */
            const int32_t wr = ts[2 * k], wi = ts[2 * k + 1];
            /* 2 W O in Q15 * 2^15 */
            const int32_t pr = or2 * wr - oi2 * wi, pi = or2 * wi + oi2 * wr;
            const int32_t e_r = er2 * 16384, e_i = ei2 * 16384; /* E * 2^15 */
            const int32_t p_r = ml_q15_asr_(pr, 1), p_i = ml_q15_asr_(pi, 1);
            lo[0] = ml_q15_sat_(ml_q15_rshift_(e_r + p_r, 15));
            lo[1] = ml_q15_sat_(ml_q15_rshift_(e_i + p_i, 15));
            hi[0] = ml_q15_sat_(ml_q15_rshift_(e_r - p_r, 15));
            hi[1] = ml_q15_sat_(ml_q15_rshift_(p_i - e_i, 15));
        }
        out[m + 1] = (int16_t)(-(int32_t)out[m + 1]);
    }
}

/* out[k] = re^2 + im^2 (Q30, exact; at most 2^31) of n_bins Q15 complex values */
static inline void ml_power_spectrum_q15(const int16_t *X, int32_t n_bins, uint32_t *out)
{
    int32_t k;
    for (k = 0; k < n_bins; k++) {
        const int32_t re = X[2 * k], im = X[2 * k + 1];
        out[k] = (uint32_t)(re * re) + (uint32_t)(im * im);
    }
}

/* out[k] = floor(sqrt(re^2 + im^2)) (Q15, at most 46341) of n_bins Q15 complex values */
static inline void ml_magnitude_spectrum_q15(const int16_t *X, int32_t n_bins, uint16_t *out)
{
    int32_t k;
    for (k = 0; k < n_bins; k++) {
        const int32_t re = X[2 * k], im = X[2 * k + 1];
        uint32_t v = (uint32_t)(re * re) + (uint32_t)(im * im);
        uint32_t r = 0u, bit = (uint32_t)1 << 30;
        while (bit > v) {
            bit >>= 2;
        }
        while (bit != 0u) {
            if (v >= r + bit) {
                v -= r + bit;
                r = (r >> 1) + bit;
            } else {
                r >>= 1;
            }
            bit >>= 2;
        }
        out[k] = (uint16_t)r;
    }
}

#endif /* ML_FFT_H */
