/* ml_nets.h - microlearn C runtime: neural networks (float32).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h
 * for the rules every runtime header follows.
 *
 * A network is a list of ops (ml_nets_op_t) run in order over one float arena whose
 * size and every tensor's place in it were planned at conversion (no allocation):
 *   in0 / in1 / out   offsets of the op's tensors in the arena, in floats;
 *                     ML_NETS_INPUT (-1): the model input x (never written).
 * Shapes are channels-last, (H, W, C); 1-D signals are H = 1. Kernels (usable alone):
 *   ml_nets_dense       y[r][o] = act(sum_i x[r][i] w[o][i] + b[o])   (rows r = ih)
 *   ml_nets_dense_blocked  the same (and 1x1 convolutions) with blocked weights (below)
 *   ml_nets_conv2d_blocked  ml_nets_conv2d (window <= 64 floats) with blocked weights
 *   ml_nets_conv2d_wide  ml_nets_conv2d (stride-1 columns, any window) with blocked weights
 *   ml_nets_conv2d      w[oc][kh][kw][ic], strides, dilation, zero padding (pt, pl)
 *   ml_nets_depthwise   w[kh][kw][ic * mult]: out channel o reads input channel o / mult
 *   ml_nets_max_pool / ml_nets_avg_pool   window kh x kw over the valid (unpadded) cells
 *   ml_nets_global_avg_pool / ml_nets_global_max_pool   over H x W per channel
 *   ml_nets_pad         zero padding (pt top, pl left; oh x ow output)
 *   ml_nets_add / ml_nets_mul   element-wise (+ activation), in1 repeated over blocks of
 *                               in0 (broadcast); may run in place (out == in0)
 *   ml_nets_concat      per outer index ih: ic floats of in0, then n1 floats of in1
 *   ml_nets_scale_shift y[i] = x[i] a[i % ic] + b[i % ic]; may run in place
 *   ml_nets_activation  y = act(x); may run in place
 *   ml_nets_softmax     over rows of ic floats; may run in place
 * Sums run in a fixed order (inputs / kernel rows / columns / channels, bias last) in
 * float32; exp, tanh and division come from ml_math.h (no libm, same bits everywhere).
 * Compile without -ffast-math and with -ffp-contract=off (see ml_math.h).
 *
 * Classifier: predict = first maximum of the outputs, or, with one sigmoid unit
 * (binary), 1 when p > 0.5; predict_proba = the outputs ([1 - p, p] when binary).
 * Regressor: regress = the outputs. scratch: info.scratch_floats = the arena.
 *
 * Usage with a model-file section (a generated header calls the kernels itself, with
 * its arena on the stack):
 *   ml_nets_t net;
 *   ml_info_t info;
 *   if (ml_nets_from_section(&net, sec, sec_size) != ML_OK) { ... corrupt ... }
 *   ml_nets_info(&net, &info);                 // info.scratch_floats: arena floats
 *   int32_t cls = ml_nets_predict(&net, x, arena);        // x: info.n_features floats
 *   ml_nets_predict_proba(&net, x, out, arena);           // out: info.n_outputs floats
 */
#ifndef ML_NETS_H
#define ML_NETS_H

#include "ml_common.h"
#include "ml_math.h"
#include <string.h>
/* int8 model-file sections (layout 2, dtype 1) run ml_nets_int8.h's kernels; define
 * ML_NETS_NO_INT8 to leave them out (such sections then load as ML_ERR_UNSUPPORTED). */
#ifndef ML_NETS_NO_INT8
#include "ml_nets_int8.h"
#endif

#define ML_NETS_INPUT (-1)

/* One weight or bias of an op (*p): the generated weight tables are ML_CONST, in program
 * memory on AVR, where the portable kernels read them through this (ML_READ_F32); a plain
 * dereference elsewhere (the ARM assembly paths load them directly). */
#define ML_NETS_W(p) ML_READ_F32(p)

/* op kinds (model-file values) */
#define ML_NETS_OP_DENSE 1
#define ML_NETS_OP_CONV2D 2
#define ML_NETS_OP_DEPTHWISE 3
#define ML_NETS_OP_MAX_POOL 4
#define ML_NETS_OP_AVG_POOL 5
#define ML_NETS_OP_GLOBAL_AVG 6
#define ML_NETS_OP_GLOBAL_MAX 7
#define ML_NETS_OP_PAD 8
#define ML_NETS_OP_ADD 9
#define ML_NETS_OP_MUL 10
#define ML_NETS_OP_CONCAT 11
#define ML_NETS_OP_SCALE_SHIFT 12
#define ML_NETS_OP_ACTIVATION 13
#define ML_NETS_OP_SOFTMAX 14
#define ML_NETS_OP_LAST 14

/* activations */
#define ML_NETS_ACT_LINEAR 0
#define ML_NETS_ACT_RELU 1
#define ML_NETS_ACT_RELU6 2
#define ML_NETS_ACT_LEAKY_RELU 3
#define ML_NETS_ACT_ELU 4
#define ML_NETS_ACT_SELU 5
#define ML_NETS_ACT_SIGMOID 6
#define ML_NETS_ACT_HARD_SIGMOID 7
#define ML_NETS_ACT_TANH 8
#define ML_NETS_ACT_SWISH 9
#define ML_NETS_ACT_HARD_SWISH 10
#define ML_NETS_ACT_LAST 10

#define ML_NETS_SECTION_VERSION 1u
#define ML_NETS_SECTION_VERSION_2 2u  /* + dtype (44) and arena_bytes (48) */
#define ML_NETS_DTYPE_INT8 1u
#define ML_NETS_HEADER_BYTES 64u
#define ML_NETS_RECORD_BYTES 128u
#define ML_NETS_FLAG_BINARY 1u
/* every dimension and count is below this (products are checked separately) */
#define ML_NETS_MAX_DIM ((int32_t)1 << 24)

typedef struct ml_nets_op {
    int32_t kind;           /* ML_NETS_OP_* */
    int32_t act;            /* ML_NETS_ACT_* (dense, conv, depthwise, add, mul, activation) */
    float alpha;            /* leaky_relu negative slope, elu alpha */
    int32_t in0, in1, out;  /* arena offsets (floats) or ML_NETS_INPUT */
    int32_t ih, iw, ic;     /* input 0 shape (dense: rows, 1, inputs per row; add, mul:
                               ih blocks of ic floats, in1 the ic floats every block
                               meets - a broadcast operand - or ih = 1) */
    int32_t oh, ow, oc;     /* output shape */
    int32_t kh, kw;         /* kernel / pool window */
    int32_t sh, sw;         /* strides */
    int32_t dh, dw;         /* dilation */
    int32_t pt, pl;         /* zero padding before the first row / column */
    int32_t n1;             /* depthwise: channel multiplier; concat: floats of in1 */
    const float *w;         /* weights (dense, conv, depthwise), scale a (scale_shift) */
    const float *b;         /* bias or NULL; shift b (scale_shift) */
} ml_nets_op_t;

typedef struct ml_nets {
    int32_t task;           /* ML_TASK_CLASSIFIER or ML_TASK_REGRESSOR */
    int32_t n_features;     /* inputs per sample (the input tensor's size) */
    int32_t n_outputs;      /* classes / regression outputs */
    int32_t n_final;        /* floats of the output tensor (1: binary classifier) */
    int32_t n_ops;
    int32_t arena_floats;   /* scratch the functions need */
    int32_t out;            /* arena offset of the output tensor */
    const ml_nets_op_t *ops;     /* generated header: the op table; else NULL */
    const uint8_t *records;      /* model file: validated op records; else NULL */
    const uint8_t *base;         /* model file: section start (weight offsets) */
} ml_nets_t;

/* ------------------------------------------------------------------------ activations */

#define ML_NETS_SELU_ALPHA 1.67326324f
#define ML_NETS_SELU_SCALE 1.05070098f

static inline float ml_nets_sigmoid(float v)
{
    if (v >= 0.0f) {
        return ml_reciprocalf(1.0f + ml_expf(-v));
    }
    const float t = ml_expf(v);
    return ml_divf(t, 1.0f + t);
}

static inline float ml_nets_relu6(float v)
{
    return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
}

/* relu: v when its sign bit is clear (NaN propagates, as in Keras), else +0.0 - one
 * integer operation on the bits (no float compare: the Cortex-M4F / M7 fast paths clear
 * a negative value with `bic r, r, r, asr #31`; soft-float cores skip a compare call). */
static inline float ml_nets_relu(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    u = (u >> 31) != 0u ? 0u : u;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline float ml_nets_act(float v, int32_t act, float alpha)
{
    switch (act) {
    case ML_NETS_ACT_RELU:
        return ml_nets_relu(v);
    case ML_NETS_ACT_RELU6:
        return ml_nets_relu6(v);
    case ML_NETS_ACT_LEAKY_RELU:
        return v >= 0.0f ? v : alpha * v;
    case ML_NETS_ACT_ELU:
        return v > 0.0f ? v : alpha * (ml_expf(v) - 1.0f);
    case ML_NETS_ACT_SELU:
        return ML_NETS_SELU_SCALE *
               (v > 0.0f ? v : ML_NETS_SELU_ALPHA * (ml_expf(v) - 1.0f));
    case ML_NETS_ACT_SIGMOID:
        return ml_nets_sigmoid(v);
    case ML_NETS_ACT_HARD_SIGMOID:
        return ml_divf(ml_nets_relu6(v + 3.0f), 6.0f);
    case ML_NETS_ACT_TANH:
        return ml_tanhf(v);
    case ML_NETS_ACT_SWISH:
        return v * ml_nets_sigmoid(v);
    case ML_NETS_ACT_HARD_SWISH:
        return v * ml_divf(ml_nets_relu6(v + 3.0f), 6.0f);
    default:
        return v;
    }
}

/* ------------------------------------------------------------------------ kernels */

/* ml_nets_act with linear and relu (the common cases) tested first: a macro, so that
 * -Os keeps them in the kernels' loops instead of calling the whole switch. */
#define ML_NETS__ACT_OUT(v, act, alpha)                                                   \
    ((act) == ML_NETS_ACT_LINEAR ? (v)                                                    \
     : (act) == ML_NETS_ACT_RELU ? ml_nets_relu(v)                                        \
                                  : ml_nets_act((v), (act), (alpha)))

/* Fully connected over the last axis: ih rows of ic inputs -> ih rows of oc outputs.
 * Four outputs share each input load; every output still sums its products in input
 * order, the bias last (the same bits as one output at a time). */
static inline void ml_nets_dense(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                 float *ML_RESTRICT y)
{
    const int32_t ni = op->ic, no = op->oc;
    const float *ML_RESTRICT b = op->b;
    const int32_t act = op->act;
    const float alpha = op->alpha;
    for (int32_t r = 0; r < op->ih; r++) {
        const float *ML_RESTRICT xr = x + (size_t)r * (size_t)ni;
        float *ML_RESTRICT yr = y + (size_t)r * (size_t)no;
        int32_t o = 0;
        for (; o + 4 <= no; o += 4) {
            const float *ML_RESTRICT w0 = op->w + (size_t)o * (size_t)ni;
            const float *ML_RESTRICT w1 = w0 + ni;
            const float *ML_RESTRICT w2 = w1 + ni;
            const float *ML_RESTRICT w3 = w2 + ni;
            const float *ML_RESTRICT xp = xr;
            const float *const xe = xr + ni;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            if (b != NULL) {
                a0 = ML_NETS_W(b + o);
                a1 = ML_NETS_W(b + o + 1);
                a2 = ML_NETS_W(b + o + 2);
                a3 = ML_NETS_W(b + o + 3);
            }
            do { /* ni >= 1; test at the bottom */
                const float v = *xp++;
                a0 += v * ML_NETS_W(w0++);
                a1 += v * ML_NETS_W(w1++);
                a2 += v * ML_NETS_W(w2++);
                a3 += v * ML_NETS_W(w3++);
            } while (xp != xe);
            yr[o] = ML_NETS__ACT_OUT(a0, act, alpha);
            yr[o + 1] = ML_NETS__ACT_OUT(a1, act, alpha);
            yr[o + 2] = ML_NETS__ACT_OUT(a2, act, alpha);
            yr[o + 3] = ML_NETS__ACT_OUT(a3, act, alpha);
        }
        for (; o < no; o++) {
            const float *ML_RESTRICT w = op->w + (size_t)o * (size_t)ni;
            float acc = b != NULL ? ML_NETS_W(b + o) : 0.0f;
            for (int32_t i = 0; i < ni; i++) {
                acc += xr[i] * ML_NETS_W(w + i);
            }
            yr[o] = ML_NETS__ACT_OUT(acc, act, alpha);
        }
    }
}

/* Cortex-M4F / M7 (GCC, single-precision FPU, Thumb-2): the blocked dense loop in inline
 * assembly, so that one VLDM loads a block's weights for an input (GCC does not merge
 * VLDRs). VMLA.F32 is not fused (product rounded, then the sum: the bits of the portable
 * `a += v * w`), accumulators start at +0.0 as there and sum in input order. Define
 * ML_NETS_NO_ASM to use the portable loops only. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__cplusplus) && defined(__arm__) && \
    defined(__thumb2__) && defined(__ARM_FP) && (__ARM_FP & 4) && defined(__OPTIMIZE__) &&   \
    !defined(ML_NETS_NO_ASM)
#define ML_NETS__VLDM 1
#endif

#if defined(__GNUC__)
#define ML_NETS__HOT __attribute__((always_inline))
#else
#define ML_NETS__HOT
#endif

#ifdef ML_NETS__VLDM
/* The end of an 8-output block in s16-s23 (the accumulators a0..a7 below): + b[0..8)
 * (one VLDM), then stored - as they are (one VSTM) or through relu on the bits
 * (ml_nets_relu: `bic r, r, r, asr #31` on pairs moved to core registers, two STMs). */
#define ML_NETS__FIN_RELU4(p, q, r, t)                                                    \
    "vmov r0, r1, %[" p "], %[" q "]\n\t"                                                 \
    "vmov r2, r3, %[" r "], %[" t "]\n\t"                                                 \
    "bic r0, r0, r0, asr #31\n\t"                                                         \
    "bic r1, r1, r1, asr #31\n\t"                                                         \
    "bic r2, r2, r2, asr #31\n\t"                                                         \
    "bic r3, r3, r3, asr #31\n\t"                                                         \
    "stmia %[y]!, {r0-r3}\n\t"
#define ML_NETS__FIN_RELU ML_NETS__FIN_RELU4("a0", "a1", "a2", "a3")                      \
    ML_NETS__FIN_RELU4("a4", "a5", "a6", "a7")
#define ML_NETS__FIN_STORE "vstmia %[y], {s16-s23}\n\t"
#define ML_NETS__FIN_IN                                                                   \
    [a0] "t"(a0), [a1] "t"(a1), [a2] "t"(a2), [a3] "t"(a3), [a4] "t"(a4), [a5] "t"(a5),   \
        [a6] "t"(a6), [a7] "t"(a7)
/* the accumulators a0..a7 (s16-s23) of an 8-output block, set by the first assembly
 * statement (ML_NETS__ZERO8: one VLDM of the block's biases, or of ml_nets__z8 = eight
 * +0.0f without biases) */
#define ML_NETS__ACC8                                                                     \
    static const float ml_nets__z8[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}; \
    register float a0 __asm__("s16");                                                     \
    register float a1 __asm__("s17");                                                     \
    register float a2 __asm__("s18");                                                     \
    register float a3 __asm__("s19");                                                     \
    register float a4 __asm__("s20");                                                     \
    register float a5 __asm__("s21");                                                     \
    register float a6 __asm__("s22");                                                     \
    register float a7 __asm__("s23")
#define ML_NETS__ZERO8 "vldmia %[z8], {s16-s23}\n\t"
#define ML_NETS__ACC_OUT                                                                  \
    [a0] "=t"(a0), [a1] "=t"(a1), [a2] "=t"(a2), [a3] "=t"(a3), [a4] "=t"(a4),            \
        [a5] "=t"(a5), [a6] "=t"(a6), [a7] "=t"(a7)
/* y[0..8) = act(a0..a7): linear or relu in assembly, any other activation through acc[]
 * and ml_nets__finish. */
#define ML_NETS__FIN8(op_, act_, off_, out_)                                              \
    do {                                                                                  \
        float *yq_ = (out_) + (off_);                                                     \
        if ((act_) == ML_NETS_ACT_RELU) {                                                 \
            __asm__ volatile(ML_NETS__FIN_RELU                                            \
                             : [y] "+&r"(yq_)                                             \
                             : ML_NETS__FIN_IN                                            \
                             : "r0", "r1", "r2", "r3", "memory");                         \
        } else if ((act_) == ML_NETS_ACT_LINEAR) {                                        \
            __asm__ volatile(ML_NETS__FIN_STORE                                           \
                             :                                                            \
                             : [y] "r"(yq_), ML_NETS__FIN_IN                              \
                             : "memory");                                                 \
        } else {                                                                          \
            float acc_[8];                                                                \
            acc_[0] = a0;                                                                 \
            acc_[1] = a1;                                                                 \
            acc_[2] = a2;                                                                 \
            acc_[3] = a3;                                                                 \
            acc_[4] = a4;                                                                 \
            acc_[5] = a5;                                                                 \
            acc_[6] = a6;                                                                 \
            acc_[7] = a7;                                                                 \
            ml_nets__finish((op_), acc_, 8, (off_), (out_));                              \
        }                                                                                 \
    } while (0)
#endif

/* acc[j] += sum over i < n (n >= 1) of x[i] w[8 i + j], j < 8, in input order. */
static inline void ml_nets__blk8(const float *x, const float *w, int32_t n, float *acc)
{
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5];
    float a6 = acc[6], a7 = acc[7];
    const float *const xe = x + n;
    do {
        const float v = *x++;
        a0 += v * ML_NETS_W(w + 0);
        a1 += v * ML_NETS_W(w + 1);
        a2 += v * ML_NETS_W(w + 2);
        a3 += v * ML_NETS_W(w + 3);
        a4 += v * ML_NETS_W(w + 4);
        a5 += v * ML_NETS_W(w + 5);
        a6 += v * ML_NETS_W(w + 6);
        a7 += v * ML_NETS_W(w + 7);
        w += 8;
    } while (x != xe);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = a4;
    acc[5] = a5;
    acc[6] = a6;
    acc[7] = a7;
}

/* acc[j] += sum over i < n (n >= 1) of x[i] w[4 i + j], j < 4, in input order. */
static inline void ml_nets__blk4(const float *x, const float *w, int32_t n, float *acc)
{
#ifdef ML_NETS__VLDM
    const float *const xe = x + n;
    register float a0 __asm__("s16") = acc[0];
    register float a1 __asm__("s17") = acc[1];
    register float a2 __asm__("s18") = acc[2];
    register float a3 __asm__("s19") = acc[3];
    __asm__("1:\n\t"
        "vldmia %[x]!, {s0}\n\t"
        "vldmia %[w]!, {s8-s11}\n\t"
        "vmla.f32 %[a0], s0, s8\n\t"
        "vmla.f32 %[a1], s0, s9\n\t"
        "vmla.f32 %[a2], s0, s10\n\t"
        "vmla.f32 %[a3], s0, s11\n\t"
        "cmp %[x], %[xe]\n\t"
        "bne 1b\n\t"
        : [a0] "+t"(a0), [a1] "+t"(a1), [a2] "+t"(a2), [a3] "+t"(a3), [x] "+&r"(x), [w] "+&r"(w)
        : [xe] "r"(xe)
        : "s0", "s8", "s9", "s10", "s11", "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const float *const xe = x + n;
    do {
        const float v = *x++;
        a0 += v * ML_NETS_W(w + 0);
        a1 += v * ML_NETS_W(w + 1);
        a2 += v * ML_NETS_W(w + 2);
        a3 += v * ML_NETS_W(w + 3);
        w += 4;
    } while (x != xe);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#endif
}

/* Depthwise (multiplier 1), eight neighbouring channels: acc[j] += sum over the n_ky x n_kx
 * taps (rows, then columns) of x[j] w[j], x / w stepping by x_step / w_step floats per
 * column and x_row / w_row per row; n_ky, n_kx >= 1. */
static inline void ml_nets__dw8(const float *xr, const float *wr, int32_t n_ky, int32_t n_kx,
                                size_t x_step, size_t w_step, size_t x_row, size_t w_row,
                                float *acc)
{
    for (int32_t ky = 0; ky < n_ky; ky++) {
        const float *xp = xr;
        const float *wp = wr;
        for (int32_t kx = 0; kx < n_kx; kx++) {
            for (int32_t j = 0; j < 8; j++) {
                acc[j] += xp[j] * ML_NETS_W(wp + j);
            }
            xp += x_step;
            wp += w_step;
        }
        xr += x_row;
        wr += w_row;
    }
}

/* acc[j] = b[o + j] (+0.0 without biases), j < k, o + k <= n_out: where each output's
 * sum starts (the bound stated for the compilers' array-bounds analysis). */
static inline void ml_nets__bias(const float *b, int32_t o, int32_t k, int32_t n_out,
                                 float *acc)
{
    for (int32_t j = 0; j < k; j++) {
        acc[j] = b != NULL && o + j < n_out ? ML_NETS_W(b + o + j) : 0.0f;
    }
}

/* activation and store of k outputs acc[0..k) (biases included) at y[o..o + k). */
static inline void ml_nets__finish(const ml_nets_op_t *op, const float *ML_RESTRICT acc,
                                   int32_t k, int32_t o, float *ML_RESTRICT y)
{
    const int32_t act = op->act;
    float *ML_RESTRICT yo = y + o;
    for (int32_t j = 0; j < k; j++) {
        yo[j] = ML_NETS__ACT_OUT(acc[j], act, op->alpha);
    }
}

/* ml_nets__blk8 + ml_nets__finish: y[o + j] = act(acc[j] + b[o + j]), j < 8 (act =
 * op->act, b = op->b: read once by the caller). */
#ifdef ML_NETS__VLDM
/* one input x[0] times an 8-weight block (w += 8), two inputs x[0..2) (w += 16) */
#define ML_NETS__STEP1                                                                    \
    "vldmia %[x]!, {s0}\n\t"                                                             \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s0, s8\n\t"                                                        \
    "vmla.f32 %[a1], s0, s9\n\t"                                                        \
    "vmla.f32 %[a2], s0, s10\n\t"                                                       \
    "vmla.f32 %[a3], s0, s11\n\t"                                                       \
    "vmla.f32 %[a4], s0, s12\n\t"                                                       \
    "vmla.f32 %[a5], s0, s13\n\t"                                                       \
    "vmla.f32 %[a6], s0, s14\n\t"                                                       \
    "vmla.f32 %[a7], s0, s15\n\t"
/* one depthwise tap of 8 channels: x, w step xs / ws bytes */
#define ML_NETS__DWTAP                                                                    \
    "vldmia %[xp], {s0-s7}\n\t"                                                          \
    "vldmia %[wp], {s8-s15}\n\t"                                                         \
    "vmla.f32 %[a0], s0, s8\n\t"                                                        \
    "vmla.f32 %[a1], s1, s9\n\t"                                                        \
    "vmla.f32 %[a2], s2, s10\n\t"                                                       \
    "vmla.f32 %[a3], s3, s11\n\t"                                                       \
    "vmla.f32 %[a4], s4, s12\n\t"                                                       \
    "vmla.f32 %[a5], s5, s13\n\t"                                                       \
    "vmla.f32 %[a6], s6, s14\n\t"                                                       \
    "vmla.f32 %[a7], s7, s15\n\t"                                                       \
    "add %[xp], %[xp], %[xs]\n\t"                                                       \
    "add %[wp], %[wp], %[ws]\n\t"
/* eight inputs x[0..8) (w += 64) */
#define ML_NETS__STEP8                                                                    \
    "vldmia %[x]!, {s0-s7}\n\t"                                                          \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s0, s8\n\t"                                                          \
    "vmla.f32 %[a1], s0, s9\n\t"                                                          \
    "vmla.f32 %[a2], s0, s10\n\t"                                                         \
    "vmla.f32 %[a3], s0, s11\n\t"                                                         \
    "vmla.f32 %[a4], s0, s12\n\t"                                                         \
    "vmla.f32 %[a5], s0, s13\n\t"                                                         \
    "vmla.f32 %[a6], s0, s14\n\t"                                                         \
    "vmla.f32 %[a7], s0, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s1, s8\n\t"                                                          \
    "vmla.f32 %[a1], s1, s9\n\t"                                                          \
    "vmla.f32 %[a2], s1, s10\n\t"                                                         \
    "vmla.f32 %[a3], s1, s11\n\t"                                                         \
    "vmla.f32 %[a4], s1, s12\n\t"                                                         \
    "vmla.f32 %[a5], s1, s13\n\t"                                                         \
    "vmla.f32 %[a6], s1, s14\n\t"                                                         \
    "vmla.f32 %[a7], s1, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s2, s8\n\t"                                                          \
    "vmla.f32 %[a1], s2, s9\n\t"                                                          \
    "vmla.f32 %[a2], s2, s10\n\t"                                                         \
    "vmla.f32 %[a3], s2, s11\n\t"                                                         \
    "vmla.f32 %[a4], s2, s12\n\t"                                                         \
    "vmla.f32 %[a5], s2, s13\n\t"                                                         \
    "vmla.f32 %[a6], s2, s14\n\t"                                                         \
    "vmla.f32 %[a7], s2, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s3, s8\n\t"                                                          \
    "vmla.f32 %[a1], s3, s9\n\t"                                                          \
    "vmla.f32 %[a2], s3, s10\n\t"                                                         \
    "vmla.f32 %[a3], s3, s11\n\t"                                                         \
    "vmla.f32 %[a4], s3, s12\n\t"                                                         \
    "vmla.f32 %[a5], s3, s13\n\t"                                                         \
    "vmla.f32 %[a6], s3, s14\n\t"                                                         \
    "vmla.f32 %[a7], s3, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s4, s8\n\t"                                                          \
    "vmla.f32 %[a1], s4, s9\n\t"                                                          \
    "vmla.f32 %[a2], s4, s10\n\t"                                                         \
    "vmla.f32 %[a3], s4, s11\n\t"                                                         \
    "vmla.f32 %[a4], s4, s12\n\t"                                                         \
    "vmla.f32 %[a5], s4, s13\n\t"                                                         \
    "vmla.f32 %[a6], s4, s14\n\t"                                                         \
    "vmla.f32 %[a7], s4, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s5, s8\n\t"                                                          \
    "vmla.f32 %[a1], s5, s9\n\t"                                                          \
    "vmla.f32 %[a2], s5, s10\n\t"                                                         \
    "vmla.f32 %[a3], s5, s11\n\t"                                                         \
    "vmla.f32 %[a4], s5, s12\n\t"                                                         \
    "vmla.f32 %[a5], s5, s13\n\t"                                                         \
    "vmla.f32 %[a6], s5, s14\n\t"                                                         \
    "vmla.f32 %[a7], s5, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s6, s8\n\t"                                                          \
    "vmla.f32 %[a1], s6, s9\n\t"                                                          \
    "vmla.f32 %[a2], s6, s10\n\t"                                                         \
    "vmla.f32 %[a3], s6, s11\n\t"                                                         \
    "vmla.f32 %[a4], s6, s12\n\t"                                                         \
    "vmla.f32 %[a5], s6, s13\n\t"                                                         \
    "vmla.f32 %[a6], s6, s14\n\t"                                                         \
    "vmla.f32 %[a7], s6, s15\n\t"                                                         \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s7, s8\n\t"                                                          \
    "vmla.f32 %[a1], s7, s9\n\t"                                                          \
    "vmla.f32 %[a2], s7, s10\n\t"                                                         \
    "vmla.f32 %[a3], s7, s11\n\t"                                                         \
    "vmla.f32 %[a4], s7, s12\n\t"                                                         \
    "vmla.f32 %[a5], s7, s13\n\t"                                                         \
    "vmla.f32 %[a6], s7, s14\n\t"                                                         \
    "vmla.f32 %[a7], s7, s15\n\t"
#define ML_NETS__STEP2                                                                    \
    "vldmia %[x]!, {s0-s1}\n\t"                                                          \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s0, s8\n\t"                                                        \
    "vmla.f32 %[a1], s0, s9\n\t"                                                        \
    "vmla.f32 %[a2], s0, s10\n\t"                                                       \
    "vmla.f32 %[a3], s0, s11\n\t"                                                       \
    "vmla.f32 %[a4], s0, s12\n\t"                                                       \
    "vmla.f32 %[a5], s0, s13\n\t"                                                       \
    "vmla.f32 %[a6], s0, s14\n\t"                                                       \
    "vmla.f32 %[a7], s0, s15\n\t"                                                       \
    "vldmia %[w]!, {s8-s15}\n\t"                                                        \
    "vmla.f32 %[a0], s1, s8\n\t"                                                        \
    "vmla.f32 %[a1], s1, s9\n\t"                                                        \
    "vmla.f32 %[a2], s1, s10\n\t"                                                       \
    "vmla.f32 %[a3], s1, s11\n\t"                                                       \
    "vmla.f32 %[a4], s1, s12\n\t"                                                       \
    "vmla.f32 %[a5], s1, s13\n\t"                                                       \
    "vmla.f32 %[a6], s1, s14\n\t"                                                       \
    "vmla.f32 %[a7], s1, s15\n\t"
#endif

ML_NETS__HOT static inline void ml_nets__blk8_out(const ml_nets_op_t *op, int32_t act,
                                                  const float *b, const float *x,
                                                  const float *w, int32_t n, int32_t o,
                                                  float *ML_RESTRICT y)
{
#ifdef ML_NETS__VLDM
    const float *const xe = x + n;
    const float *const x8e = x + (n - n % 8);
    ML_NETS__ACC8;
    /* eight inputs per iteration, then an odd input alone, then two per iteration */
    __asm__(ML_NETS__ZERO8
        "cmp %[x], %[x8e]\n\t"
        "beq 4f\n\t"
        "5:\n\t"
        ML_NETS__STEP8
        "cmp %[x], %[x8e]\n\t"
        "bne 5b\n\t"
        "4:\n\t"
        "cmp %[x], %[xe]\n\t"
        "beq 3f\n\t"
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        ML_NETS__STEP1
        "cmp %[x], %[xe]\n\t"
        "beq 3f\n\t"
        "2:\n\t"
        ML_NETS__STEP2
        "cmp %[x], %[xe]\n\t"
        "bne 2b\n\t"
        "3:\n\t"
        : ML_NETS__ACC_OUT, [x] "+&r"(x), [w] "+&r"(w)
        : [xe] "r"(xe), [x8e] "r"(x8e), [n] "r"(n), [z8] "r"(b != NULL ? b + o : ml_nets__z8)
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12",
          "s13", "s14", "s15", "cc", "memory");
    ML_NETS__FIN8(op, act, o, y);
#else
    float acc[8];
    (void)act;
    ml_nets__bias(b, o, 8, op->oc, acc);
    ml_nets__blk8(x, w, n, acc);
    ml_nets__finish(op, acc, 8, o, y);
#endif
}

#ifdef ML_NETS__VLDM
/* ml_nets__blk8_out over a window of n_rows runs of `run` floats (run >= 1), the runs
 * `stride` floats apart (a convolution window inside the input): the products in window
 * order, as ml_nets__blk8_out on the gathered window. */
ML_NETS__HOT static inline void ml_nets__blk8_rows_out(const ml_nets_op_t *op, int32_t act,
                                                       const float *b, const float *x,
                                                       size_t stride, int32_t n_rows,
                                                       int32_t run, const float *w,
                                                       size_t w_skip, int32_t o,
                                                       float *ML_RESTRICT y)
{
    const size_t rb = 4u * (size_t)run, ra = 4u * stride - rb, wa = 32u * w_skip;
    const float *xe;
    int32_t ky = n_rows;
    ML_NETS__ACC8;
/* the rows' loop; W_SKIP: the weights' step over the taps in the padding after a row */
#define ML_NETS__ROWS8(W_SKIP)                                                            \
    __asm__(ML_NETS__ZERO8                                                                \
        "1:\n\t"                                                                           \
        "add %[xe], %[x], %[rb]\n\t"                                                       \
        "tst %[run], #1\n\t"                                                               \
        "beq 2f\n\t"                                                                       \
        ML_NETS__STEP1                                                                    \
        "cmp %[x], %[xe]\n\t"                                                              \
        "beq 3f\n\t"                                                                       \
        "2:\n\t"                                                                           \
        ML_NETS__STEP2                                                                    \
        "cmp %[x], %[xe]\n\t"                                                              \
        "bne 2b\n\t"                                                                       \
        "3:\n\t"                                                                           \
        "add %[x], %[x], %[ra]\n\t"                                                        \
        W_SKIP                                                                            \
        "subs %[ky], %[ky], #1\n\t"                                                        \
        "bne 1b\n\t"                                                                       \
        : ML_NETS__ACC_OUT, [x] "+&r"(x), [w] "+&r"(w), [ky] "+&r"(ky), [xe] "=&r"(xe)    \
        : [rb] "r"(rb), [ra] "r"(ra), [wa] "r"(wa), [run] "r"(run),                       \
          [z8] "r"(b != NULL ? b + o : ml_nets__z8)                                       \
        : "s0", "s1", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory")
    if (w_skip == 0u) { /* whole windows: no step (a constant where inlined) */
        ML_NETS__ROWS8("");
    } else {
        ML_NETS__ROWS8("add %[w], %[w], %[wa]\n\t");
    }
#undef ML_NETS__ROWS8
    ML_NETS__FIN8(op, act, o, y);
}
#endif

/* ml_nets__dw8 + ml_nets__finish: y[o + j] = act(acc[j] + b[o + j]), j < 8 (act =
 * op->act, b = op->b). */
ML_NETS__HOT static inline void ml_nets__dw8_out(const ml_nets_op_t *op, int32_t act,
                                                 const float *b, const float *xr,
                                                 const float *wr, int32_t n_ky, int32_t n_kx,
                                                 size_t x_step, size_t w_step, size_t x_row,
                                                 size_t w_row, int32_t o,
                                                 float *ML_RESTRICT y)
{
#ifdef ML_NETS__VLDM
    /* bytes per column; after a row's n_kx columns, to the next row's first */
    const size_t xs = 4u * x_step, ws = 4u * w_step;
    const size_t xa = 4u * x_row - (size_t)n_kx * xs, wa = 4u * w_row - (size_t)n_kx * ws;
    const float *xp = xr;
    const float *wp = wr;
    int32_t ky = n_ky, k;
    ML_NETS__ACC8;
    if (n_kx == 3) { /* a 3-wide window: the columns unrolled */
        __asm__(ML_NETS__ZERO8
                "1:\n\t"
                ML_NETS__DWTAP
                ML_NETS__DWTAP
                ML_NETS__DWTAP
                "add %[xp], %[xp], %[xa]\n\t"
                "add %[wp], %[wp], %[wa]\n\t"
                "subs %[ky], %[ky], #1\n\t"
                "bne 1b\n\t"
                : ML_NETS__ACC_OUT, [xp] "+&r"(xp), [wp] "+&r"(wp), [ky] "+&r"(ky)
                : [xs] "r"(xs), [ws] "r"(ws), [xa] "r"(xa), [wa] "r"(wa),
                  [z8] "r"(b != NULL ? b + o : ml_nets__z8)
                : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
                  "s12", "s13", "s14", "s15", "cc", "memory");
        ML_NETS__FIN8(op, act, o, y);
        return;
    }
    __asm__(ML_NETS__ZERO8
            "1:\n\t"
            "mov %[k], %[nkx]\n\t"
            "2:\n\t"
            "vldmia %[xp], {s0-s7}\n\t"
            "vldmia %[wp], {s8-s15}\n\t"
            "vmla.f32 %[a0], s0, s8\n\t"
            "vmla.f32 %[a1], s1, s9\n\t"
            "vmla.f32 %[a2], s2, s10\n\t"
            "vmla.f32 %[a3], s3, s11\n\t"
            "vmla.f32 %[a4], s4, s12\n\t"
            "vmla.f32 %[a5], s5, s13\n\t"
            "vmla.f32 %[a6], s6, s14\n\t"
            "vmla.f32 %[a7], s7, s15\n\t"
            "add %[xp], %[xp], %[xs]\n\t"
            "add %[wp], %[wp], %[ws]\n\t"
            "subs %[k], %[k], #1\n\t"
            "bne 2b\n\t"
            "add %[xp], %[xp], %[xa]\n\t"
            "add %[wp], %[wp], %[wa]\n\t"
            "subs %[ky], %[ky], #1\n\t"
            "bne 1b\n\t"
            : ML_NETS__ACC_OUT, [xp] "+&r"(xp), [wp] "+&r"(wp), [ky] "+&r"(ky), [k] "=&r"(k)
            : [xs] "r"(xs), [ws] "r"(ws), [xa] "r"(xa), [wa] "r"(wa), [nkx] "r"(n_kx),
              [z8] "r"(b != NULL ? b + o : ml_nets__z8)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
              "s12", "s13", "s14", "s15", "cc", "memory");
    ML_NETS__FIN8(op, act, o, y);
#else
    float acc[8];
    (void)act;
    ml_nets__bias(b, o, 8, op->oc, acc);
    ml_nets__dw8(xr, wr, n_ky, n_kx, x_step, w_step, x_row, w_row, acc);
    ml_nets__finish(op, acc, 8, o, y);
#endif
}

/* One row of a dense layer, or of a pointwise convolution (1x1 kernel, stride 1, no
 * padding: a dense layer over the ih * iw pixels), with the weights of the generated
 * headers' blocked layout (microlearn.families.nets.c.blocked_weights): the outputs in
 * blocks of 8 stored input by input (w[i][8]), then one block of 4 (w[i][4]) when 4 or
 * more remain, then the remaining outputs row by row (w[o][i]). Every output sums its
 * products in input order from +0.0, the bias last: the same bits as ml_nets_dense /
 * ml_nets_conv2d. */
static inline void ml_nets__blocked_tail(const ml_nets_op_t *op, const float *xr,
                                         const float *w, int32_t ni, int32_t o, int32_t no,
                                         float *yr)
{
    float acc[4];
    if (o + 4 <= no) {
        ml_nets__bias(op->b, o, 4, no, acc);
        ml_nets__blk4(xr, w, ni, acc);
        w += 4 * (size_t)ni;
        ml_nets__finish(op, acc, 4, o, yr);
        o += 4;
    }
    for (; o < no; o++) {
        float a = op->b != NULL ? ML_NETS_W(op->b + o) : 0.0f;
        for (int32_t i = 0; i < ni; i++) {
            a += xr[i] * ML_NETS_W(w + i);
        }
        w += ni;
        ml_nets__finish(op, &a, 1, o, yr);
    }
}

static inline void ml_nets__blocked_row(const ml_nets_op_t *op, const float *xr,
                                        int32_t ni, int32_t no, float *yr)
{
    const float *w = op->w;
    const float *b = op->b;
    const int32_t act = op->act;
    int32_t o = 0;
    for (; o + 8 <= no; o += 8) {
        ml_nets__blk8_out(op, act, b, xr, w, ni, o, yr);
        w += 8 * (size_t)ni;
    }
    if (o < no) {
        ml_nets__blocked_tail(op, xr, w, ni, o, no, yr);
    }
}

/* ml_nets_dense_blocked with act = op->act and b = op->b given (constants when inlined) */
ML_NETS__HOT static inline void ml_nets__dense_rows(const ml_nets_op_t *op, int32_t act,
                                                    const float *b,
                                                    const float *ML_RESTRICT x,
                                                    float *ML_RESTRICT y)
{
    const int32_t ni = op->ic, no = op->oc, rows = op->ih * op->iw;
    const int32_t n8 = no - no % 8;
    const float *xr = x;
    float *yr = y;
    for (int32_t r = 0; r < rows; r++) {
        const float *w = op->w;
        for (int32_t o = 0; o < n8; o += 8) {
            ml_nets__blk8_out(op, act, b, xr, w, ni, o, yr);
            w += 8 * (size_t)ni;
        }
        if (n8 < no) {
            ml_nets__blocked_tail(op, xr, w, ni, n8, no, yr);
        }
        xr += ni;
        yr += no;
    }
}

/* ml_nets__blocked_row over the ih * iw rows of a dense layer / pointwise convolution
 * (relu with a bias, the common case, compiled on its own). */
static inline void ml_nets_dense_blocked(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                         float *ML_RESTRICT y)
{
    if (op->act == ML_NETS_ACT_RELU && op->b != NULL) {
        ml_nets__dense_rows(op, ML_NETS_ACT_RELU, op->b, x, y);
    } else {
        ml_nets__dense_rows(op, op->act, op->b, x, y);
    }
}

/* the largest window (kh * kw * ic floats) of ml_nets_conv2d_blocked */
#define ML_NETS_WINDOW_MAX 64

/* 2-D convolution whose window (kh * kw * ic <= ML_NETS_WINDOW_MAX floats) is gathered per
 * output pixel into a stack buffer, taps in the zero padding as 0.0f, then run as a dense
 * row with the blocked weights (w[oc][kh][kw][ic] rows in ml_nets_dense_blocked's layout).
 * The same bits as ml_nets_conv2d: the products are summed in the same order (kernel row,
 * column, channel) from +0.0, which never becomes -0.0, so the padding's +-0.0 products
 * leave every partial sum unchanged. */
static inline void ml_nets_conv2d_blocked(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                          float *ML_RESTRICT y)
{
    const int32_t ic = op->ic, kh = op->kh, kw = op->kw, ih = op->ih, iw = op->iw;
    const int32_t n = kh * kw * ic;
    const size_t row = (size_t)iw * (size_t)ic;
    float col[ML_NETS_WINDOW_MAX];
    for (int32_t oy = 0; oy < op->oh; oy++) {
        const int32_t iy0 = oy * op->sh - op->pt;
        for (int32_t ox = 0; ox < op->ow; ox++) {
            const int32_t ix0 = ox * op->sw - op->pl;
            float *c = col;
            const int inside = op->dw == 1 && iy0 >= 0 && iy0 + (kh - 1) * op->dh < ih &&
                               ix0 >= 0 && ix0 + kw <= iw;
#ifdef ML_NETS__VLDM
            if (inside && op->oc % 8 == 0) { /* kh runs of kw * ic floats, not gathered */
                const float *x0 = x + (size_t)iy0 * row + (size_t)ix0 * (size_t)ic;
                float *yp = y + ((size_t)oy * (size_t)op->ow + (size_t)ox) * (size_t)op->oc;
                const float *w = op->w;
                for (int32_t o = 0; o < op->oc; o += 8) {
                    ml_nets__blk8_rows_out(op, op->act, op->b, x0, (size_t)op->dh * row, kh,
                                           kw * ic, w, 0, o, yp);
                    w += 8 * (size_t)n;
                }
                continue;
            }
#endif
            if (inside) { /* kh runs of kw * ic floats */
                const int32_t run = kw * ic;
                const float *xr = x + (size_t)iy0 * row + (size_t)ix0 * (size_t)ic;
                for (int32_t ky = 0; ky < kh; ky++) {
                    for (int32_t i = 0; i < run; i++) {
                        c[i] = xr[i];
                    }
                    c += run;
                    xr += (size_t)op->dh * row;
                }
            } else {
                for (int32_t ky = 0; ky < kh; ky++) {
                    const int32_t iy = iy0 + ky * op->dh;
                    const float *xr = x + (size_t)(iy < 0 ? 0 : iy) * row;
                    for (int32_t kx = 0; kx < kw; kx++) {
                        const int32_t ix = ix0 + kx * op->dw;
                        const int in = iy >= 0 && iy < ih && ix >= 0 && ix < iw;
                        /* one select per value (no memcpy / memset call) */
                        const float *xp = in ? xr + (size_t)ix * (size_t)ic : x;
                        for (int32_t i = 0; i < ic; i++) {
                            c[i] = in ? xp[i] : 0.0f;
                        }
                        c += ic;
                    }
                }
            }
            ml_nets__blocked_row(op, col, n, op->oc,
                                 y + ((size_t)oy * (size_t)op->ow + (size_t)ox) *
                                         (size_t)op->oc);
        }
    }
}

/* Window taps [*k0, *k1) of one axis whose input index start + k * step lies in [0, n)
 * (no division: a few steps at the borders only). */
ML_NETS__HOT static inline void ml_nets__taps(int32_t start, int32_t step, int32_t k, int32_t n,
                                 int32_t *k0, int32_t *k1)
{
    int32_t a = 0, b = k;
    while (a < b && start + a * step < 0) {
        a++;
    }
    while (b > a && start + (b - 1) * step >= n) {
        b--;
    }
    *k0 = a;
    *k1 = b;
}

/* One block of k = 8 or 4 outputs of ml_nets_conv2d_wide in C: n_rows runs of inputs
 * (x_step apart) times the block's weights (k per input; skip inputs' weights stepped over
 * after each run), from the biases, then the activation. */
static inline void ml_nets__wide_block(const ml_nets_op_t *op, const float *x, size_t x_step,
                                       int32_t n_rows, int32_t run, const float *w,
                                       size_t skip, int32_t k, int32_t o,
                                       float *ML_RESTRICT y)
{
    float acc[8];
    ml_nets__bias(op->b, o, k, op->oc, acc);
    for (int32_t r = 0; r < n_rows; r++) {
        if (k == 8) {
            ml_nets__blk8(x, w, run, acc);
        } else {
            ml_nets__blk4(x, w, run, acc);
        }
        x += x_step;
        w += (size_t)k * ((size_t)run + skip);
    }
    ml_nets__finish(op, acc, k, o, y);
}

/* 2-D convolution (stride-1 columns, any window) with blocked weights
 * (ml_nets_dense_blocked's layout over the kh * kw * ic inputs of the window): per output
 * pixel only the taps inside the input (taps in the padding skipped, as ml_nets_conv2d),
 * each kernel row's taps one contiguous run; 8 outputs share each input load (on
 * Cortex-M4F / M7 VLDM / VMLA blocks, about 1.2 instructions per multiply-add). The same
 * bits as ml_nets_conv2d: the same products summed in the same order from the bias. */
static inline void ml_nets_conv2d_wide(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                       float *ML_RESTRICT y)
{
    const int32_t ic = op->ic, oc = op->oc, kw = op->kw;
    const int32_t n = op->kh * kw * ic;
    const size_t row = (size_t)op->iw * (size_t)ic, xr_step = (size_t)op->dh * row;
    const float *b = op->b;
    for (int32_t oy = 0; oy < op->oh; oy++) {
        const int32_t iy0 = oy * op->sh - op->pt;
        int32_t ky0, ky1;
        ml_nets__taps(iy0, op->dh, op->kh, op->ih, &ky0, &ky1);
        for (int32_t ox = 0; ox < op->ow; ox++) {
            const int32_t ix0 = ox * op->sw - op->pl;
            int32_t kx0, kx1;
            ml_nets__taps(ix0, 1, kw, op->iw, &kx0, &kx1);
            float *yp = y + ((size_t)oy * (size_t)op->ow + (size_t)ox) * (size_t)oc;
            const int32_t run = (kx1 - kx0) * ic;
            const int32_t n_rows = run > 0 ? ky1 - ky0 : 0;
            /* the first valid input (window index t0) and the inputs skipped per row */
            const float *x0 = x + (size_t)(iy0 + ky0 * op->dh) * row +
                              (size_t)(ix0 + kx0) * (size_t)ic;
            const size_t t0 = ((size_t)ky0 * (size_t)kw + (size_t)kx0) * (size_t)ic;
            const size_t skip = (size_t)kw * (size_t)ic - (size_t)run;
            const float *w = op->w;
            int32_t o = 0;
            for (; o + 8 <= oc; o += 8) {
#ifdef ML_NETS__VLDM
                if (n_rows > 0) {
                    ml_nets__blk8_rows_out(op, op->act, b, x0, xr_step, n_rows, run,
                                           w + 8 * t0, skip, o, yp);
                    w += 8 * (size_t)n;
                    continue;
                }
#endif
                ml_nets__wide_block(op, x0, xr_step, n_rows, run, w + 8 * t0, skip, 8, o, yp);
                w += 8 * (size_t)n;
            }
            if (o + 4 <= oc) {
                ml_nets__wide_block(op, x0, xr_step, n_rows, run, w + 4 * t0, skip, 4, o, yp);
                w += 4 * (size_t)n;
                o += 4;
            }
            for (; o < oc; o++) {
                float a = b != NULL ? ML_NETS_W(b + o) : 0.0f;
                const float *xr = x0, *wr = w + t0;
                for (int32_t r = 0; r < n_rows; r++) {
                    for (int32_t i = 0; i < run; i++) {
                        a += xr[i] * ML_NETS_W(wr + i);
                    }
                    xr += xr_step;
                    wr += (size_t)run + skip;
                }
                ml_nets__finish(op, &a, 1, o, yp);
                w += n;
            }
        }
    }
}

/* acc[j] += sum over k < n of x[k] w[j * ws + k], j < 4, k in order (one x load, four
 * products per step). */
static inline void ml_nets__dot4(const float *ML_RESTRICT x, const float *ML_RESTRICT w,
                                 size_t ws, int32_t n, float *ML_RESTRICT acc)
{
    const float *ML_RESTRICT w0 = w;
    const float *ML_RESTRICT w1 = w0 + ws;
    const float *ML_RESTRICT w2 = w1 + ws;
    const float *ML_RESTRICT w3 = w2 + ws;
    const float *const xe = x + n;
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    if (n > 0) {
        do { /* test at the bottom: one compare and branch per step */
            const float v = *x++;
            a0 += v * ML_NETS_W(w0++);
            a1 += v * ML_NETS_W(w1++);
            a2 += v * ML_NETS_W(w2++);
            a3 += v * ML_NETS_W(w3++);
        } while (x != xe);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* 2-D convolution, channels last; taps falling in the zero padding are skipped. Sum order
 * per output: kernel row, column, input channel, then the bias. Four output channels
 * share each input load; without dilation a kernel row's taps are one contiguous run. */
static inline void ml_nets_conv2d(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                  float *ML_RESTRICT y)
{
    const int32_t ic = op->ic, oc = op->oc, ih = op->ih, iw = op->iw, kh = op->kh;
    const int32_t kw = op->kw, sh = op->sh, sw = op->sw, dh = op->dh, dw = op->dw;
    const int32_t oh = op->oh, ow = op->ow, pt = op->pt, pl = op->pl;
    const float *ML_RESTRICT w = op->w;
    const float *ML_RESTRICT b = op->b;
    const int32_t act = op->act;
    const float alpha = op->alpha;
    const size_t row = (size_t)iw * (size_t)ic;
    const size_t w_row = (size_t)kw * (size_t)ic;
    const size_t w_out = (size_t)kh * w_row;
    const size_t x_step = (size_t)dw * (size_t)ic;
    for (int32_t oy = 0; oy < oh; oy++) {
        const int32_t iy0 = oy * sh - pt;
        int32_t ky0, ky1;
        ml_nets__taps(iy0, dh, kh, ih, &ky0, &ky1);
        for (int32_t ox = 0; ox < ow; ox++) {
            const int32_t ix0 = ox * sw - pl;
            int32_t kx0, kx1;
            ml_nets__taps(ix0, dw, kw, iw, &kx0, &kx1);
            float *yp = y + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)oc;
            const float *xs = x + (size_t)(ix0 + kx0 * dw) * (size_t)ic;
            const int32_t run = (kx1 - kx0) * ic; /* dw == 1: one row's taps */
            int32_t o = 0;
            for (; o + 4 <= oc; o += 4) {
                const float *wo = w + (size_t)o * w_out + (size_t)kx0 * (size_t)ic;
                float acc[4];
                ml_nets__bias(b, o, 4, oc, acc);
                for (int32_t ky = ky0; ky < ky1; ky++) {
                    const float *xp = xs + (size_t)(iy0 + ky * dh) * row;
                    const float *wp = wo + (size_t)ky * w_row;
                    if (dw == 1) {
                        ml_nets__dot4(xp, wp, w_out, run, acc);
                    } else {
                        for (int32_t kx = kx0; kx < kx1; kx++) {
                            ml_nets__dot4(xp, wp, w_out, ic, acc);
                            xp += x_step;
                            wp += ic;
                        }
                    }
                }
                for (int32_t j = 0; j < 4; j++) {
                    yp[o + j] = ML_NETS__ACT_OUT(acc[j], act, alpha);
                }
            }
            for (; o < oc; o++) {
                const float *wo = w + (size_t)o * w_out + (size_t)kx0 * (size_t)ic;
                float acc = b != NULL ? ML_NETS_W(b + o) : 0.0f;
                for (int32_t ky = ky0; ky < ky1; ky++) {
                    const float *xp = xs + (size_t)(iy0 + ky * dh) * row;
                    const float *wp = wo + (size_t)ky * w_row;
                    for (int32_t kx = kx0; kx < kx1; kx++) {
                        for (int32_t c = 0; c < ic; c++) {
                            acc += xp[c] * ML_NETS_W(wp + c);
                        }
                        xp += x_step;
                        wp += ic;
                    }
                }
                yp[o] = ML_NETS__ACT_OUT(acc, act, alpha);
            }
        }
    }
}

/* The channels [o, oc) of one output pixel of ml_nets__depthwise8, one at a time
 * (x00 / w00: the first valid tap, n_ky x n_kx valid taps). */
static inline void ml_nets__dw_rest(const ml_nets_op_t *op, const float *x00,
                                    const float *w00, int32_t n_ky, int32_t n_kx, int32_t o,
                                    float *ML_RESTRICT yp)
{
    const int32_t oc = op->oc;
    const size_t x_step = (size_t)op->dw * (size_t)oc;
    const size_t x_row = (size_t)op->dh * (size_t)op->iw * (size_t)oc;
    const size_t w_row = (size_t)op->kw * (size_t)oc;
    for (; o < oc; o++) {
        float acc = op->b != NULL ? ML_NETS_W(op->b + o) : 0.0f;
        const float *xr = x00 + o;
        const float *wr = w00 + o;
        for (int32_t ky = 0; ky < n_ky; ky++) {
            const float *xp = xr;
            const float *wp = wr;
            for (int32_t kx = 0; kx < n_kx; kx++) {
                acc += *xp * ML_NETS_W(wp);
                xp += x_step;
                wp += oc;
            }
            xr += x_row;
            wr += w_row;
        }
        yp[o] = ML_NETS__ACT_OUT(acc, op->act, op->alpha);
    }
}

/* ml_nets_depthwise with multiplier 1 and at least 8 channels: blocks of 8 channels
 * (ml_nets__dw8_out), then the remaining oc % 8 one at a time; the tap ranges of a row
 * computed once per output row, the columns' only at the borders. */
ML_NETS__HOT static inline void ml_nets__depthwise8(const ml_nets_op_t *op, int32_t act,
                                                    const float *b,
                                                    const float *ML_RESTRICT x,
                                                    float *ML_RESTRICT y)
{
    const int32_t oc = op->oc, kw = op->kw, iw = op->iw, sw = op->sw, dwx = op->dw;
    const int32_t oc8 = oc - oc % 8;
    const size_t row = (size_t)iw * (size_t)oc;
    const size_t w_row = (size_t)kw * (size_t)oc;
    const size_t x_step = (size_t)dwx * (size_t)oc;
    const size_t y_step = (size_t)op->dh * row;
    float *yp = y;
    for (int32_t oy = 0; oy < op->oh; oy++) {
        const int32_t iy0 = oy * op->sh - op->pt;
        int32_t ky0, ky1;
        ml_nets__taps(iy0, op->dh, op->kh, op->ih, &ky0, &ky1);
        const float *xrow = x + (size_t)(iy0 + ky0 * op->dh) * row;
        const float *wrow = op->w + (size_t)ky0 * w_row;
        int32_t ix0 = -op->pl;
        for (int32_t ox = 0; ox < op->ow; ox++, ix0 += sw, yp += oc) {
            int32_t kx0 = 0, kx1 = kw;
            if (ix0 < 0 || ix0 + (kw - 1) * dwx >= iw) {
                ml_nets__taps(ix0, dwx, kw, iw, &kx0, &kx1);
            }
            if (ky1 <= ky0 || kx1 <= kx0) { /* all taps in the padding: act(bias) */
                for (int32_t o = 0; o < oc; o++) {
                    yp[o] = ML_NETS__ACT_OUT(b != NULL ? ML_NETS_W(b + o) : 0.0f, act, op->alpha);
                }
                continue;
            }
            const float *x00 = xrow + (size_t)(ix0 + kx0 * dwx) * (size_t)oc;
            const float *w00 = wrow + (size_t)kx0 * (size_t)oc;
            for (int32_t o = 0; o < oc8; o += 8) {
                ml_nets__dw8_out(op, act, b, x00 + o, w00 + o, ky1 - ky0, kx1 - kx0, x_step,
                                 (size_t)oc, y_step, w_row, o, yp);
            }
            if (oc8 < oc) {
                ml_nets__dw_rest(op, x00, w00, ky1 - ky0, kx1 - kx0, oc8, yp);
            }
        }
    }
}

/* Depthwise convolution: oc = ic * n1 output channels, o reading input channel o / n1.
 * Sum order per output: kernel row, column, then the bias. With multiplier 1, four
 * neighbouring channels are computed together by walking pointers over the taps. */
static inline void ml_nets_depthwise(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                     float *ML_RESTRICT y)
{
    const int32_t ic = op->ic, oc = op->oc, mult = op->n1;
    const float *ML_RESTRICT b = op->b;
    const int32_t act = op->act;
    const float alpha = op->alpha;
    const size_t row = (size_t)op->iw * (size_t)ic;
    const size_t w_row = (size_t)op->kw * (size_t)oc;
    const size_t x_step = (size_t)op->dw * (size_t)ic;
    const size_t y_step = (size_t)op->dh * row;
    if (mult == 1 && oc >= 8) {
        ml_nets__depthwise8(op, op->act, op->b, x, y);
        return;
    }
    for (int32_t oy = 0; oy < op->oh; oy++) {
        const int32_t iy0 = oy * op->sh - op->pt;
        int32_t ky0, ky1;
        ml_nets__taps(iy0, op->dh, op->kh, op->ih, &ky0, &ky1);
        for (int32_t ox = 0; ox < op->ow; ox++) {
            const int32_t ix0 = ox * op->sw - op->pl;
            int32_t kx0, kx1;
            ml_nets__taps(ix0, op->dw, op->kw, op->iw, &kx0, &kx1);
            float *yp = y + ((size_t)oy * (size_t)op->ow + (size_t)ox) * (size_t)oc;
            /* the first valid tap, channel 0 */
            const float *x00 = x + (size_t)(iy0 + ky0 * op->dh) * row +
                               (size_t)(ix0 + kx0 * op->dw) * (size_t)ic;
            const float *w00 = op->w + (size_t)ky0 * w_row + (size_t)kx0 * (size_t)oc;
            int32_t o = 0;
            if (mult == 1) {
                for (; o + 4 <= oc; o += 4) {
                    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
                    if (b != NULL) {
                        a0 = ML_NETS_W(b + o);
                        a1 = ML_NETS_W(b + o + 1);
                        a2 = ML_NETS_W(b + o + 2);
                        a3 = ML_NETS_W(b + o + 3);
                    }
                    const float *xr = x00 + o;
                    const float *wr = w00 + o;
                    for (int32_t ky = ky0; ky < ky1; ky++) {
                        const float *xp = xr;
                        const float *wp = wr;
                        for (int32_t kx = kx0; kx < kx1; kx++) {
                            a0 += xp[0] * ML_NETS_W(wp + 0);
                            a1 += xp[1] * ML_NETS_W(wp + 1);
                            a2 += xp[2] * ML_NETS_W(wp + 2);
                            a3 += xp[3] * ML_NETS_W(wp + 3);
                            xp += x_step;
                            wp += oc;
                        }
                        xr += y_step;
                        wr += w_row;
                    }
                    yp[o] = ML_NETS__ACT_OUT(a0, act, alpha);
                    yp[o + 1] = ML_NETS__ACT_OUT(a1, act, alpha);
                    yp[o + 2] = ML_NETS__ACT_OUT(a2, act, alpha);
                    yp[o + 3] = ML_NETS__ACT_OUT(a3, act, alpha);
                }
            }
            /* c = o / mult without a division (none on Armv6-M natmods) */
            int32_t c = 0, j = 0;
            if (mult == 1) {
                c = o;
            }
            for (; o < oc; o++) {
                if (j == mult) {
                    j = 0;
                    c++;
                }
                j++;
                float acc = b != NULL ? ML_NETS_W(b + o) : 0.0f;
                const float *xr = x00 + c;
                const float *wr = w00 + o;
                for (int32_t ky = ky0; ky < ky1; ky++) {
                    const float *xp = xr;
                    const float *wp = wr;
                    for (int32_t kx = kx0; kx < kx1; kx++) {
                        acc += *xp * ML_NETS_W(wp);
                        xp += x_step;
                        wp += oc;
                    }
                    xr += y_step;
                    wr += w_row;
                }
                yp[o] = ML_NETS__ACT_OUT(acc, act, alpha);
            }
        }
    }
}

/* Max (is_max) or average pooling over the valid cells of each window. */
static inline void ml_nets__pool(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                 float *ML_RESTRICT y, int is_max)
{
    const int32_t c_n = op->ic;
    const size_t row = (size_t)op->iw * (size_t)c_n;
    for (int32_t oy = 0; oy < op->oh; oy++) {
        const int32_t iy0 = oy * op->sh - op->pt;
        int32_t ky0, ky1;
        ml_nets__taps(iy0, 1, op->kh, op->ih, &ky0, &ky1);
        for (int32_t ox = 0; ox < op->ow; ox++) {
            const int32_t ix0 = ox * op->sw - op->pl;
            int32_t kx0, kx1;
            ml_nets__taps(ix0, 1, op->kw, op->iw, &kx0, &kx1);
            const int32_t count = (ky1 - ky0) * (kx1 - kx0);
            float *yp = y + ((size_t)oy * (size_t)op->ow + (size_t)ox) * (size_t)c_n;
            const int32_t n_ky = ky1 - ky0, n_kx = kx1 - kx0;
            if (n_ky <= 0 || n_kx <= 0) {
                for (int32_t c = 0; c < c_n; c++) {
                    yp[c] = is_max ? 0.0f : ml_divf(0.0f, 0.0f);
                }
                continue;
            }
            /* the window's first valid cell, channel 0 */
            const float *x00 = x + (size_t)(iy0 + ky0) * row +
                               (size_t)(ix0 + kx0) * (size_t)c_n;
            /* cells in order (rows, then columns), all channels of a cell at a time: the
             * first cell initialises (max: its value; average: +0.0 + v), the others
             * compare (v > acc) or add */
            for (int32_t c = 0; c < c_n; c++) {
                yp[c] = is_max ? x00[c] : 0.0f + x00[c];
            }
            const float *xr = x00;
            for (int32_t ky = 0; ky < n_ky; ky++) {
                const float *xp = xr;
                for (int32_t kx = 0; kx < n_kx; kx++) {
                    if (ky > 0 || kx > 0) {
                        if (is_max) {
                            for (int32_t c = 0; c < c_n; c++) {
                                const float v = xp[c];
                                if (v > yp[c]) {
                                    yp[c] = v;
                                }
                            }
                        } else {
                            for (int32_t c = 0; c < c_n; c++) {
                                yp[c] += xp[c];
                            }
                        }
                    }
                    xp += c_n;
                }
                xr += row;
            }
            if (!is_max) {
                for (int32_t c = 0; c < c_n; c++) {
                    yp[c] = ml_divf(yp[c], (float)count);
                }
            }
        }
    }
}

static inline void ml_nets_max_pool(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                    float *ML_RESTRICT y)
{
    ml_nets__pool(op, x, y, 1);
}

static inline void ml_nets_avg_pool(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                    float *ML_RESTRICT y)
{
    ml_nets__pool(op, x, y, 0);
}

/* Mean (is_max 0) or maximum over the ih * iw positions, per channel: each channel sums
 * from its first position in position order (Cortex-M4F / M7: eight channels per VLDM). */
static inline void ml_nets__global(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                   float *ML_RESTRICT y, int is_max)
{
    const int32_t n = op->ih * op->iw, c_n = op->ic;
    int32_t c8 = 0; /* channels [0, c8) in blocks of 8 */
#ifdef ML_NETS__VLDM
    if (!is_max && n >= 1) {
        const size_t stride = 4u * (size_t)c_n;
        c8 = c_n - c_n % 8;
        for (int32_t c0 = 0; c0 < c8; c0 += 8) {
            const float *xp = x + c0;
            int32_t k = n - 1;
            float *yp = y + c0;
            __asm__ volatile("vldmia %[xp], {s0-s7}\n\t"
                             "add %[xp], %[xp], %[st]\n\t"
                             "cmp %[k], #0\n\t"
                             "beq 2f\n\t"
                             "1:\n\t"
                             "vldmia %[xp], {s8-s15}\n\t"
                             "vadd.f32 s0, s0, s8\n\t"
                             "vadd.f32 s1, s1, s9\n\t"
                             "vadd.f32 s2, s2, s10\n\t"
                             "vadd.f32 s3, s3, s11\n\t"
                             "vadd.f32 s4, s4, s12\n\t"
                             "vadd.f32 s5, s5, s13\n\t"
                             "vadd.f32 s6, s6, s14\n\t"
                             "vadd.f32 s7, s7, s15\n\t"
                             "add %[xp], %[xp], %[st]\n\t"
                             "subs %[k], %[k], #1\n\t"
                             "bne 1b\n\t"
                             "2:\n\t"
                             "vstmia %[yp], {s0-s7}\n\t"
                             : [xp] "+&r"(xp), [k] "+&r"(k)
                             : [st] "r"(stride), [yp] "r"(yp)
                             : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
                               "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
            for (int32_t j = 0; j < 8; j++) {
                yp[j] = ml_divf(yp[j], (float)n);
            }
        }
    }
#endif
    for (int32_t c = c8; c < c_n; c++) {
        float acc = x[c];
        for (int32_t i = 1; i < n; i++) {
            const float v = x[(size_t)i * (size_t)c_n + (size_t)c];
            if (!is_max) {
                acc += v;
            } else if (v > acc) {
                acc = v;
            }
        }
        y[c] = is_max ? acc : ml_divf(acc, (float)n);
    }
}

static inline void ml_nets_global_avg_pool(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                           float *ML_RESTRICT y)
{
    ml_nets__global(op, x, y, 0);
}

static inline void ml_nets_global_max_pool(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                                           float *ML_RESTRICT y)
{
    ml_nets__global(op, x, y, 1);
}

/* Zero padding: input (ih, iw, ic) at row pt, column pl of the (oh, ow, ic) output. */
static inline void ml_nets_pad(const ml_nets_op_t *op, const float *ML_RESTRICT x,
                               float *ML_RESTRICT y)
{
    const size_t c_n = (size_t)op->ic;
    ml_fill_f32(y, op->oh * op->ow * op->ic, 0.0f);
    for (int32_t iy = 0; iy < op->ih; iy++) {
        for (int32_t ix = 0; ix < op->iw; ix++) {
            const float *xp = x + ((size_t)iy * (size_t)op->iw + (size_t)ix) * c_n;
            float *yp = y + ((size_t)(iy + op->pt) * (size_t)op->ow + (size_t)(ix + op->pl)) *
                                c_n;
            for (size_t c = 0; c < c_n; c++) {
                yp[c] = xp[c];
            }
        }
    }
}

/* y = act(a + b) over ih blocks of ic floats, b's ic floats added to every block (ih > 1:
 * b broadcast); y may be a, or b when ih == 1. */
static inline void ml_nets_add(const ml_nets_op_t *op, const float *a, const float *b, float *y)
{
    const size_t n = (size_t)op->ic;
    for (int32_t r = 0; r < op->ih; r++, a += n, y += n) {
        for (size_t i = 0; i < n; i++) {
            y[i] = ml_nets_act(a[i] + b[i], op->act, op->alpha);
        }
    }
}

/* y = act(a * b) over ih blocks of ic floats, as ml_nets_add. */
static inline void ml_nets_mul(const ml_nets_op_t *op, const float *a, const float *b, float *y)
{
    const size_t n = (size_t)op->ic;
    for (int32_t r = 0; r < op->ih; r++, a += n, y += n) {
        for (size_t i = 0; i < n; i++) {
            y[i] = ml_nets_act(a[i] * b[i], op->act, op->alpha);
        }
    }
}

/* For each of ih outer indices: ic floats of a, then n1 floats of b. */
static inline void ml_nets_concat(const ml_nets_op_t *op, const float *ML_RESTRICT a,
                                  const float *ML_RESTRICT b, float *ML_RESTRICT y)
{
    const size_t na = (size_t)op->ic, nb = (size_t)op->n1;
    for (int32_t r = 0; r < op->ih; r++) {
        float *yr = y + (size_t)r * (na + nb);
        const float *ar = a + (size_t)r * na;
        const float *br = b + (size_t)r * nb;
        for (size_t i = 0; i < na; i++) {
            yr[i] = ar[i];
        }
        for (size_t i = 0; i < nb; i++) {
            yr[na + i] = br[i];
        }
    }
}

/* y[r][c] = x[r][c] * w[c] + b[c] for ih rows of ic; y may be x. */
static inline void ml_nets_scale_shift(const ml_nets_op_t *op, const float *x, float *y)
{
    for (int32_t r = 0; r < op->ih; r++) {
        const size_t base = (size_t)r * (size_t)op->ic;
        for (int32_t c = 0; c < op->ic; c++) {
            y[base + (size_t)c] = x[base + (size_t)c] * ML_NETS_W(op->w + c) + ML_NETS_W(op->b + c);
        }
    }
}

/* y = act(x) over ic floats; y may be x. */
static inline void ml_nets_activation(const ml_nets_op_t *op, const float *x, float *y)
{
    for (int32_t i = 0; i < op->ic; i++) {
        y[i] = ml_nets_act(x[i], op->act, op->alpha);
    }
}

/* Softmax over each of ih rows of ic floats: exp(x - max) / sum; y may be x. */
static inline void ml_nets_softmax(const ml_nets_op_t *op, const float *x, float *y)
{
    for (int32_t r = 0; r < op->ih; r++) {
        const float *xr = x + (size_t)r * (size_t)op->ic;
        float *yr = y + (size_t)r * (size_t)op->ic;
        const float mx = xr[ml_argmax_f32(xr, op->ic)];
        float sum = 0.0f;
        for (int32_t i = 0; i < op->ic; i++) {
            yr[i] = ml_expf(xr[i] - mx);
            sum += yr[i];
        }
        for (int32_t i = 0; i < op->ic; i++) {
            yr[i] = ml_divf(yr[i], sum);
        }
    }
}

/* Run one op: x the model input, a the arena. */
static inline void ml_nets_op_run(const ml_nets_op_t *op, const float *x, float *a)
{
    const float *in0 = op->in0 == ML_NETS_INPUT ? x : a + op->in0;
    const float *in1 = op->in1 == ML_NETS_INPUT ? x : a + op->in1;
    float *out = a + op->out;
    switch (op->kind) {
    case ML_NETS_OP_DENSE: ml_nets_dense(op, in0, out); break;
    case ML_NETS_OP_CONV2D: ml_nets_conv2d(op, in0, out); break;
    case ML_NETS_OP_DEPTHWISE: ml_nets_depthwise(op, in0, out); break;
    case ML_NETS_OP_MAX_POOL: ml_nets_max_pool(op, in0, out); break;
    case ML_NETS_OP_AVG_POOL: ml_nets_avg_pool(op, in0, out); break;
    case ML_NETS_OP_GLOBAL_AVG: ml_nets_global_avg_pool(op, in0, out); break;
    case ML_NETS_OP_GLOBAL_MAX: ml_nets_global_max_pool(op, in0, out); break;
    case ML_NETS_OP_PAD: ml_nets_pad(op, in0, out); break;
    case ML_NETS_OP_ADD: ml_nets_add(op, in0, in1, out); break;
    case ML_NETS_OP_MUL: ml_nets_mul(op, in0, in1, out); break;
    case ML_NETS_OP_CONCAT: ml_nets_concat(op, in0, in1, out); break;
    case ML_NETS_OP_SCALE_SHIFT: ml_nets_scale_shift(op, in0, out); break;
    case ML_NETS_OP_ACTIVATION: ml_nets_activation(op, in0, out); break;
    case ML_NETS_OP_SOFTMAX: ml_nets_softmax(op, in0, out); break;
    default: break;
    }
}

/* ------------------------------------------------------------------------ model */

/* Op record i of a validated model-file section -> *op (see the layout below). */
static inline void ml_nets__decode(const ml_nets_t *m, int32_t i, ml_nets_op_t *op)
{
    const uint8_t *r = m->records + (size_t)i * ML_NETS_RECORD_BYTES;
    op->kind = (int32_t)ml_rd_u32(r);
    op->act = (int32_t)ml_rd_u32(r + 4);
    op->alpha = ml_rd_f32(r + 8);
    op->in0 = (int32_t)ml_rd_u32(r + 12);
    op->in1 = (int32_t)ml_rd_u32(r + 16);
    op->out = (int32_t)ml_rd_u32(r + 20);
    op->ih = (int32_t)ml_rd_u32(r + 24);
    op->iw = (int32_t)ml_rd_u32(r + 28);
    op->ic = (int32_t)ml_rd_u32(r + 32);
    op->oh = (int32_t)ml_rd_u32(r + 36);
    op->ow = (int32_t)ml_rd_u32(r + 40);
    op->oc = (int32_t)ml_rd_u32(r + 44);
    op->kh = (int32_t)ml_rd_u32(r + 48);
    op->kw = (int32_t)ml_rd_u32(r + 52);
    op->sh = (int32_t)ml_rd_u32(r + 56);
    op->sw = (int32_t)ml_rd_u32(r + 60);
    op->dh = (int32_t)ml_rd_u32(r + 64);
    op->dw = (int32_t)ml_rd_u32(r + 68);
    op->pt = (int32_t)ml_rd_u32(r + 72);
    op->pl = (int32_t)ml_rd_u32(r + 76);
    op->n1 = (int32_t)ml_rd_u32(r + 80);
    {
        const uint32_t w_off = ml_rd_u32(r + 84), b_off = ml_rd_u32(r + 92);
        op->w = w_off != 0u ? (const float *)(const void *)(m->base + w_off) : NULL;
        op->b = b_off != 0u ? (const float *)(const void *)(m->base + b_off) : NULL;
    }
}

/* Run every op of the network: x the input, arena: m->arena_floats floats. */
static inline void ml_nets_forward(const ml_nets_t *m, const float *x, float *arena)
{
#ifndef ML_NETS_NO_INT8
    if (m->ops == NULL && m->base != NULL && ml_rd_u32(m->base) == ML_NETS_SECTION_VERSION_2 &&
        ml_rd_u32(m->base + 44) == ML_NETS_DTYPE_INT8) { /* int8 section: ml_nets_int8.h */
        ml_nets_q7_forward(m->base, arena, x);
        return;
    }
#endif
    for (int32_t i = 0; i < m->n_ops; i++) {
        if (m->ops != NULL) {
            ml_nets_op_run(&m->ops[i], x, arena);
        } else {
            ml_nets_op_t op;
            ml_nets__decode(m, i, &op);
            ml_nets_op_run(&op, x, arena);
        }
    }
}

/* Class of a computed output (classifier). */
static inline int32_t ml_nets_decide(const ml_nets_t *m, const float *y)
{
    if (m->n_final == 1) {
        return y[0] > 0.5f ? 1 : 0;
    }
    return ml_argmax_f32(y, m->n_final);
}

/* Outputs of a computed output tensor: binary [1 - p, p], else a copy. */
static inline void ml_nets_outputs(const ml_nets_t *m, const float *y, float *out)
{
    if (m->task == ML_TASK_CLASSIFIER && m->n_final == 1) {
        out[0] = 1.0f - y[0];
        out[1] = y[0];
        return;
    }
    for (int32_t i = 0; i < m->n_final; i++) {
        out[i] = y[i];
    }
}

static inline int32_t ml_nets_predict(const ml_nets_t *m, const float *x, float *scratch)
{
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    if (scratch == NULL) {
        return ML_ERR_NULL;
    }
#ifndef ML_NETS_NO_INT8
    if (m->ops == NULL && m->base != NULL && ml_rd_u32(m->base) == ML_NETS_SECTION_VERSION_2 &&
        ml_rd_u32(m->base + 44) == ML_NETS_DTYPE_INT8 && m->n_final > 1) {
        /* the class from the final softmax's input when certain (ml_nets_q7_forward_in) */
        int32_t cls = -1;
        ml_nets_q7_forward_in(m->base, scratch, x, (const int8_t *)0, (const int16_t *)0, &cls);
        if (cls >= 0) {
            return cls;
        }
        return ml_nets_decide(m, scratch + m->out);
    }
#endif
    ml_nets_forward(m, x, scratch);
    return ml_nets_decide(m, scratch + m->out);
}

static inline int32_t ml_nets_predict_proba(const ml_nets_t *m, const float *x, float *out,
                                            float *scratch)
{
    if (m->task != ML_TASK_CLASSIFIER) {
        return ML_ERR_UNSUPPORTED;
    }
    if (scratch == NULL) {
        return ML_ERR_NULL;
    }
    ml_nets_forward(m, x, scratch);
    ml_nets_outputs(m, scratch + m->out, out);
    return ML_OK;
}

static inline int32_t ml_nets_regress(const ml_nets_t *m, const float *x, float *out,
                                      float *scratch)
{
    if (m->task != ML_TASK_REGRESSOR) {
        return ML_ERR_UNSUPPORTED;
    }
    if (scratch == NULL) {
        return ML_ERR_NULL;
    }
    ml_nets_forward(m, x, scratch);
    ml_nets_outputs(m, scratch + m->out, out);
    return ML_OK;
}

ML_DEFINE_UNSUPPORTED(nets, decision_function)

ML_DEFINE_UNSUPPORTED(nets, score_samples)

ML_DEFINE_UNSUPPORTED(nets, transform)

static inline void ml_nets_info(const ml_nets_t *m, ml_info_t *info)
{
    const int classifier = m->task == ML_TASK_CLASSIFIER;
    info->task = m->task;
    info->n_features = m->n_features;
    info->n_outputs = m->n_outputs;
    info->n_decision = 0;
    info->has_proba = classifier;
    info->has_score_samples = 0;
    info->scratch_floats = m->arena_floats;
}

/* ------------------------------------------------------------------------ model file */

/* Section layout (little-endian, offsets from the section start; docs/families/nets.md):
 *    0 u32 version (1)       4 u32 task             8 u32 n_features
 *   12 u32 n_outputs        16 u32 n_final         20 u32 flags (bit 0: binary)
 *   24 u32 n_ops            28 u32 arena_floats    32 u32 out (arena offset)
 *   36 u32 off_ops (op records, 128 bytes each)    40 u32 record bytes (128)
 *   44..63 reserved, 0 (layout 2: 44 u32 dtype: 0 float32, 1 int8; 48 u32 arena_bytes
 *   (int8 arena; float 0); 52..63 reserved, 0. An int8 section (dtype 1) has 160-byte
 *   records checked and run by ml_nets_int8.h (ml_nets_q7_check_section /
 *   ml_nets_q7_forward), out = 0 and arena_floats = n_final + ceil(arena_bytes / 4).)
 * Op record (u32 / i32 / f32 fields, in ml_nets_op_t's order): 0 kind, 4 act, 8 alpha,
 *   12 in0, 16 in1, 20 out, 24 ih, 28 iw, 32 ic, 36 oh, 40 ow, 44 oc, 48 kh, 52 kw,
 *   56 sh, 60 sw, 64 dh, 68 dw, 72 pt, 76 pl, 80 n1, 84 w offset, 88 w count,
 *   92 b offset, 96 b count, 100..127 reserved 0. Unused fields are 0 (in1: -1 when
 *   unused; sizes 1). */

/* 1 when [off, off + n) (floats) lies in the arena, or is the input (off -1, n <= nf). */
static inline int ml_nets__buf_ok(int32_t off, uint64_t n, uint32_t arena, uint32_t nf)
{
    if (off == ML_NETS_INPUT) {
        return n <= (uint64_t)nf;
    }
    return off >= 0 && (uint64_t)(uint32_t)off + n <= (uint64_t)arena;
}

/* 1 when float ranges [a, a + na) and [b, b + nb) of the arena overlap (input: never). */
static inline int ml_nets__overlap(int32_t a, uint64_t na, int32_t b, uint64_t nb)
{
    if (a < 0 || b < 0) {
        return 0;
    }
    return (uint64_t)(uint32_t)a < (uint64_t)(uint32_t)b + nb &&
           (uint64_t)(uint32_t)b < (uint64_t)(uint32_t)a + na;
}

/* Validate one decoded record (sizes, geometry, buffers, weight counts). */
static inline int32_t ml_nets__check_op(const ml_nets_op_t *op, const uint8_t *r,
                                        uint32_t size, uint32_t min_off, uint32_t arena,
                                        uint32_t nf)
{
    const int32_t dims[13] = {op->ih, op->iw, op->ic, op->oh, op->ow, op->oc, op->kh,
                              op->kw, op->sh, op->sw, op->dh, op->dw, op->n1};
    if (op->pt < 0 || op->pl < 0 || op->pt >= ML_NETS_MAX_DIM || op->pl >= ML_NETS_MAX_DIM) {
        return ML_ERR_MODEL;
    }
    for (int32_t i = 0; i < 13; i++) {
        if (dims[i] < 1 || dims[i] >= ML_NETS_MAX_DIM) {
            return ML_ERR_MODEL;
        }
    }
    if (op->act < 0 || op->act > ML_NETS_ACT_LAST || !(op->alpha == op->alpha) ||
        op->alpha > 1e30f || op->alpha < -1e30f) {
        return ML_ERR_MODEL;
    }
    for (uint32_t k = 100u; k < ML_NETS_RECORD_BYTES; k += 4u) {
        if (ml_rd_u32(r + k) != 0u) {
            return ML_ERR_MODEL;
        }
    }
    const uint64_t n_in = (uint64_t)op->ih * (uint64_t)op->iw * (uint64_t)op->ic;
    const uint64_t n_out = (uint64_t)op->oh * (uint64_t)op->ow * (uint64_t)op->oc;
    uint64_t n_in1 = 0u, n_w = 0u, n_b = 0u;
    int in_place = 0, two_inputs = 0, bias_optional = 0;
    const int32_t k = op->kind;
    const int window = k == ML_NETS_OP_CONV2D || k == ML_NETS_OP_DEPTHWISE ||
                       k == ML_NETS_OP_MAX_POOL || k == ML_NETS_OP_AVG_POOL;
    if (!window && (op->kh != 1 || op->kw != 1 || op->sh != 1 || op->sw != 1 ||
                    op->dh != 1 || op->dw != 1 || (k != ML_NETS_OP_PAD &&
                                                   (op->pt != 0 || op->pl != 0)))) {
        return ML_ERR_MODEL;
    }
    if (k != ML_NETS_OP_DEPTHWISE && k != ML_NETS_OP_CONCAT && op->n1 != 1) {
        return ML_ERR_MODEL;
    }
    if (k != ML_NETS_OP_DENSE && k != ML_NETS_OP_CONV2D && k != ML_NETS_OP_DEPTHWISE &&
        k != ML_NETS_OP_ADD && k != ML_NETS_OP_MUL && k != ML_NETS_OP_ACTIVATION &&
        op->act != ML_NETS_ACT_LINEAR) {
        return ML_ERR_MODEL;
    }
    switch (k) {
    case ML_NETS_OP_DENSE:
        if (op->iw != 1 || op->oh != op->ih || op->ow != 1) {
            return ML_ERR_MODEL;
        }
        n_w = (uint64_t)op->oc * (uint64_t)op->ic;
        n_b = (uint64_t)op->oc;
        bias_optional = 1;
        break;
    case ML_NETS_OP_CONV2D:
    case ML_NETS_OP_DEPTHWISE:
    case ML_NETS_OP_MAX_POOL:
    case ML_NETS_OP_AVG_POOL: {
        /* the padding is smaller than the window's extent, every window starts inside
         * the padded input and the output is no larger than the padded input allows */
        const int64_t ext_h = (int64_t)(op->kh - 1) * op->dh + 1;
        const int64_t ext_w = (int64_t)(op->kw - 1) * op->dw + 1;
        if (ext_h >= ML_NETS_MAX_DIM || ext_w >= ML_NETS_MAX_DIM ||
            (int64_t)op->pt >= ext_h || (int64_t)op->pl >= ext_w ||
            (int64_t)(op->oh - 1) * op->sh - op->pt >= (int64_t)op->ih ||
            (int64_t)(op->ow - 1) * op->sw - op->pl >= (int64_t)op->iw) {
            return ML_ERR_MODEL;
        }
        if (k == ML_NETS_OP_CONV2D) {
            n_w = (uint64_t)op->oc * (uint64_t)op->kh * (uint64_t)op->kw * (uint64_t)op->ic;
            n_b = (uint64_t)op->oc;
            bias_optional = 1;
        } else if (k == ML_NETS_OP_DEPTHWISE) {
            if ((int64_t)op->oc != (int64_t)op->ic * op->n1) {
                return ML_ERR_MODEL;
            }
            n_w = (uint64_t)op->kh * (uint64_t)op->kw * (uint64_t)op->oc;
            n_b = (uint64_t)op->oc;
            bias_optional = 1;
        } else if (op->oc != op->ic || op->dh != 1 || op->dw != 1) {
            return ML_ERR_MODEL;
        }
        break;
    }
    case ML_NETS_OP_GLOBAL_AVG:
    case ML_NETS_OP_GLOBAL_MAX:
        if (op->oh != 1 || op->ow != 1 || op->oc != op->ic) {
            return ML_ERR_MODEL;
        }
        break;
    case ML_NETS_OP_PAD:
        if (op->oc != op->ic || (int64_t)op->oh < (int64_t)op->ih + op->pt ||
            (int64_t)op->ow < (int64_t)op->iw + op->pl) {
            return ML_ERR_MODEL;
        }
        break;
    case ML_NETS_OP_ADD:
    case ML_NETS_OP_MUL:
    case ML_NETS_OP_ACTIVATION:
    case ML_NETS_OP_SOFTMAX:
    case ML_NETS_OP_SCALE_SHIFT:
        if (op->iw != 1 || op->ow != 1 || op->oh != op->ih || op->oc != op->ic) {
            return ML_ERR_MODEL;
        }
        if (k == ML_NETS_OP_ACTIVATION && op->ih != 1) {
            return ML_ERR_MODEL;
        }
        in_place = 1;
        if (k == ML_NETS_OP_ADD || k == ML_NETS_OP_MUL) {
            two_inputs = 1;
            n_in1 = (uint64_t)op->ic; /* every block's operand (all of it when ih == 1) */
        }
        if (k == ML_NETS_OP_SCALE_SHIFT) {
            n_w = (uint64_t)op->ic;
            n_b = (uint64_t)op->ic;
        }
        break;
    case ML_NETS_OP_CONCAT:
        if (op->iw != 1 || op->ow != 1 || op->oh != op->ih ||
            (int64_t)op->oc != (int64_t)op->ic + op->n1) {
            return ML_ERR_MODEL;
        }
        two_inputs = 1;
        n_in1 = (uint64_t)op->ih * (uint64_t)op->n1;
        break;
    default:
        return ML_ERR_MODEL;
    }
    if (n_in >= (uint64_t)0x7FFFFFFF || n_out >= (uint64_t)0x7FFFFFFF) {
        return ML_ERR_MODEL;
    }
    /* buffers: inside the arena (or the input), the output never the input, and no
     * overlap between output and inputs except exactly in place for element-wise ops */
    if (!ml_nets__buf_ok(op->in0, n_in, arena, nf) || op->out < 0 ||
        !ml_nets__buf_ok(op->out, n_out, arena, nf)) {
        return ML_ERR_MODEL;
    }
    if (two_inputs) {
        if (!ml_nets__buf_ok(op->in1, n_in1, arena, nf)) {
            return ML_ERR_MODEL;
        }
    } else if (op->in1 != -1) {
        return ML_ERR_MODEL;
    }
    if (ml_nets__overlap(op->out, n_out, op->in0, n_in) && !(in_place && op->out == op->in0)) {
        return ML_ERR_MODEL;
    }
    if (two_inputs && ml_nets__overlap(op->out, n_out, op->in1, n_in1) &&
        !(in_place && op->out == op->in1 && n_in1 == n_out)) {
        return ML_ERR_MODEL;
    }
    /* weights: exact counts, 4-aligned spans after the op table, inside the section */
    const uint32_t w_off = ml_rd_u32(r + 84), w_n = ml_rd_u32(r + 88);
    const uint32_t b_off = ml_rd_u32(r + 92), b_n = ml_rd_u32(r + 96);
    if ((uint64_t)w_n != n_w || (w_n == 0u) != (w_off == 0u) ||
        (w_n != 0u && !ml_span_ok(w_off, w_n, 4u, 4u, min_off, size))) {
        return ML_ERR_MODEL;
    }
    if (!((uint64_t)b_n == n_b || (bias_optional && b_n == 0u)) ||
        (b_n == 0u) != (b_off == 0u) ||
        (b_n != 0u && !ml_span_ok(b_off, b_n, 4u, 4u, min_off, size))) {
        return ML_ERR_MODEL;
    }
    return ML_OK;
}

/* Validate a model-file section (4-byte aligned, size bytes) and fill *m in place.
 * Checks every count, shape, offset, buffer and weight span; O(n_ops) work.
 * ML_OK, ML_ERR_MODEL, ML_ERR_VERSION, ML_ERR_ALIGN or ML_ERR_NULL; *m zeroed on error. */
#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and the kernels read weights from program
 * memory there (ML_NETS_W): model files are not supported on AVR. */
static inline int32_t ml_nets_from_section(ml_nets_t *m, const uint8_t *sec, uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_nets_from_section(ml_nets_t *m, const uint8_t *sec, uint32_t size)
{
    static const ml_nets_t zero = {0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL};
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    *m = zero;
    if (sec == NULL) {
        return ML_ERR_NULL;
    }
    if (((uintptr_t)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    if (size < ML_NETS_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    const uint32_t version = ml_rd_u32(sec);
    if (version != ML_NETS_SECTION_VERSION && version != ML_NETS_SECTION_VERSION_2) {
        return ML_ERR_VERSION;
    }
    /* layout 2: 44 dtype (0 float32, 1 int8), 48 arena_bytes (int8 arena; float: 0) */
    const uint32_t dtype = version == ML_NETS_SECTION_VERSION_2 ? ml_rd_u32(sec + 44) : 0u;
    const uint32_t arena_bytes = version == ML_NETS_SECTION_VERSION_2 ? ml_rd_u32(sec + 48)
                                                                      : 0u;
    const uint32_t task = ml_rd_u32(sec + 4), nf = ml_rd_u32(sec + 8);
    const uint32_t n_outputs = ml_rd_u32(sec + 12), n_final = ml_rd_u32(sec + 16);
    const uint32_t flags = ml_rd_u32(sec + 20), n_ops = ml_rd_u32(sec + 24);
    const uint32_t arena = ml_rd_u32(sec + 28), out = ml_rd_u32(sec + 32);
    const uint32_t off_ops = ml_rd_u32(sec + 36), rec = ml_rd_u32(sec + 40);
    for (uint32_t k = version == ML_NETS_SECTION_VERSION_2 ? 52u : 44u;
         k < ML_NETS_HEADER_BYTES; k += 4u) {
        if (ml_rd_u32(sec + k) != 0u) {
            return ML_ERR_MODEL;
        }
    }
    if (dtype > ML_NETS_DTYPE_INT8 || (dtype == 0u && arena_bytes != 0u)) {
        return ML_ERR_MODEL;
    }
    if (task != (uint32_t)ML_TASK_CLASSIFIER && task != (uint32_t)ML_TASK_REGRESSOR) {
        return ML_ERR_MODEL;
    }
    if (rec != (dtype == ML_NETS_DTYPE_INT8 ? 160u : ML_NETS_RECORD_BYTES) ||
        nf == 0u || nf >= 0x7FFFFFFFu || n_final == 0u ||
        arena == 0u || arena >= 0x7FFFFFFFu || n_ops == 0u || (flags & ~1u) != 0u ||
        (uint64_t)out + n_final > (uint64_t)arena) {
        return ML_ERR_MODEL;
    }
    if (task == (uint32_t)ML_TASK_CLASSIFIER) {
        const int binary = (flags & ML_NETS_FLAG_BINARY) != 0u;
        if (binary ? (n_final != 1u || n_outputs != 2u)
                   : (n_final < 2u || n_outputs != n_final)) {
            return ML_ERR_MODEL;
        }
    } else if (flags != 0u || n_outputs != n_final) {
        return ML_ERR_MODEL;
    }
    if (!ml_span_ok(off_ops, n_ops, rec, 4u, ML_NETS_HEADER_BYTES, size)) {
        return ML_ERR_MODEL;
    }
    if (dtype == ML_NETS_DTYPE_INT8) {
#ifdef ML_NETS_NO_INT8
        return ML_ERR_UNSUPPORTED;
#else
        /* scratch: the n_final float outputs, then the int8 arena */
        if (out != 0u || arena_bytes == 0u || arena_bytes >= 0x7FFFFFF0u ||
            (uint64_t)arena != (uint64_t)n_final + (arena_bytes + 3u) / 4u) {
            return ML_ERR_MODEL;
        }
        const int32_t rc = ml_nets_q7_check_section(sec, size, off_ops, n_ops, arena_bytes,
                                                    nf, n_final);
        if (rc != ML_OK) {
            return rc;
        }
#endif
    } else {
        const uint32_t min_off = off_ops + n_ops * ML_NETS_RECORD_BYTES;
        ml_nets_t tmp = zero;
        tmp.records = sec + off_ops;
        tmp.base = sec;
        for (uint32_t i = 0; i < n_ops; i++) {
            ml_nets_op_t op;
            const uint8_t *r = sec + off_ops + i * ML_NETS_RECORD_BYTES;
            if (ml_rd_u32(r) == 0u || ml_rd_u32(r) > (uint32_t)ML_NETS_OP_LAST) {
                return ML_ERR_MODEL;
            }
            ml_nets__decode(&tmp, (int32_t)i, &op);
            const int32_t rc = ml_nets__check_op(&op, r, size, min_off, arena, nf);
            if (rc != ML_OK) {
                return rc;
            }
        }
    }
    m->task = (int32_t)task;
    m->n_features = (int32_t)nf;
    m->n_outputs = (int32_t)n_outputs;
    m->n_final = (int32_t)n_final;
    m->n_ops = (int32_t)n_ops;
    m->arena_floats = (int32_t)arena;
    m->out = (int32_t)out;
    m->records = sec + off_ops;
    m->base = sec;
    return ML_OK;
}
#endif

#endif /* ML_NETS_H */
