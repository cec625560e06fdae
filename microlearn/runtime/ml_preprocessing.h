/* ml_preprocessing.h - microlearn C runtime: feature transformers (scalers, normalizers,
 * feature selectors, PCA / TruncatedSVD projections).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows.
 *
 * One small engine covers every supported transformer. An ml_preprocessing_t points at
 * caller-owned, read-only tables and describes up to four stages, applied in this order
 * (each one optional; a NULL table means "stage absent"):
 *
 *   1. gather     t[k] = x[gather[k]]                  k < n_mid   (feature selectors)
 *   2. affine     t[i] = t[i] - center[i]              then
 *                 t[i] = t[i] * scale[i]  (scale_op MUL) or t[i] / scale[i] (DIV)  then
 *                 t[i] = t[i] + offset[i]              then
 *                 t[i] = min(max(t[i], clip_lo), clip_hi)   (when clip; NaN stays NaN)
 *   3. normalize  t[i] = t[i] / norm(t)   norm: l1 (sum |t|), l2 (sqrt of sum t^2, sums
 *                 in index order) or max (max |t|, NaN-propagating); a norm below
 *                 10 * FLT_EPSILON counts as 1 (scikit-learn's _handle_zeros_in_scale)
 *   4. matrix     out[j] = sum_i t[i] * matrix[j * n_mid + i]   (float32, index order)
 *
 * Without the matrix stage, out[i] = t[i] (n_outputs == n_mid). Every affine operation
 * is one IEEE operation whose result is rounded to float, in scikit-learn's order. A
 * parameter table is either float (center, scale, offset: the operation is done in
 * float) or double (center64, scale64, offset64: the operation is done in double and
 * rounded to float, exactly what numpy does for `float32_array op= float64_array`); the
 * double tables are used only for parameters that are not float32 values, where float
 * arithmetic would round differently from scikit-learn. With either, a scaler's output is
 * bit-identical to scikit-learn's transform of the same float32 input. With fused64 set,
 * the whole affine map (center, scale, offset; double tables only) runs in double on
 * (double)x and is rounded to float once: scikit-learn's transform of the input given as
 * float64, rounded to float32 (what a following tree sees when a pipeline is fed float64
 * rows). Compile with -ffp-contract=off (no fused multiply-add) to keep these
 * properties. No libm and no `/`: divisions and the l2 norm's square root are ml_math.h's
 * ml_divf / ml_div / ml_sqrtf, correctly rounded (the bits of the IEEE operations).
 *
 * NaN inputs propagate (a NaN feature gives a NaN output wherever it is used), as in
 * scikit-learn's scalers; estimators that reject NaN (Normalizer, PCA) leave it undefined.
 */
#ifndef ML_PREPROCESSING_H
#define ML_PREPROCESSING_H

#include <string.h>

#include "ml_common.h"
#include "ml_math.h"

#define ML_PREPROCESSING_SCALE_NONE 0
#define ML_PREPROCESSING_SCALE_MUL 1
#define ML_PREPROCESSING_SCALE_DIV 2

#define ML_PREPROCESSING_NORM_NONE 0
#define ML_PREPROCESSING_NORM_L1 1
#define ML_PREPROCESSING_NORM_L2 2
#define ML_PREPROCESSING_NORM_MAX 3

/* Largest n_features / n_mid / n_outputs a model-file section may declare. */
#define ML_PREPROCESSING_MAX_DIM 65535u

typedef struct ml_preprocessing {
    int32_t n_features;      /* inputs per sample */
    int32_t n_mid;           /* features after the gather stage (n_features without it) */
    int32_t n_outputs;       /* outputs (n_mid without the matrix stage) */
    int32_t scale_op;        /* ML_PREPROCESSING_SCALE_*: what scale / scale64 does */
    int32_t norm;            /* ML_PREPROCESSING_NORM_* */
    int32_t clip;            /* 1: clip the affine result to [clip_lo, clip_hi] */
    int32_t fused64;         /* 1: affine map in double, rounded to float once (see above) */
    float clip_lo;
    float clip_hi;
    const uint16_t *gather;  /* [n_mid] input index of each kept feature, or NULL */
    const float *center;     /* [n_mid] subtracted (float), or NULL */
    const float *scale;      /* [n_mid] multiplier / divisor (float), or NULL */
    const float *offset;     /* [n_mid] added (float), or NULL */
    const double *center64;  /* [n_mid] subtracted in double, or NULL */
    const double *scale64;   /* [n_mid] multiplier / divisor in double, or NULL */
    const double *offset64;  /* [n_mid] added in double, or NULL */
    const float *matrix;     /* [n_outputs * n_mid] row-major, or NULL */
} ml_preprocessing_t;

/* 1 when a stage before the matrix writes an intermediate vector (needs scratch). */
static inline int ml_preprocessing_has_pre(const ml_preprocessing_t *m)
{
    return m->gather != NULL || m->center != NULL || m->center64 != NULL ||
           m->scale != NULL || m->scale64 != NULL || m->offset != NULL ||
           m->offset64 != NULL || m->clip != 0 || m->fused64 != 0 ||
           m->norm != ML_PREPROCESSING_NORM_NONE;
}

static inline void ml_preprocessing_info(const ml_preprocessing_t *m, ml_info_t *info)
{
    info->task = ML_TASK_TRANSFORMER;
    info->n_features = m->n_features;
    info->n_outputs = m->n_outputs;
    info->n_decision = 0;
    info->has_proba = 0;
    info->has_score_samples = 0;
    info->scratch_floats = (m->matrix != NULL && ml_preprocessing_has_pre(m)) ? m->n_mid : 0;
}

/* Row norm of t[0..n-1] (ML_PREPROCESSING_NORM_*), with tiny norms counted as 1. */
static inline float ml_preprocessing_norm(int32_t kind, const float *t, int32_t n)
{
    float s = 0.0f;
    if (kind == ML_PREPROCESSING_NORM_L1) {
        for (int32_t i = 0; i < n; i++) {
            s += ml_fabsf(t[i]);
        }
    } else if (kind == ML_PREPROCESSING_NORM_L2) {
        for (int32_t i = 0; i < n; i++) {
            s += t[i] * t[i];
        }
        s = ml_sqrtf(s);
    } else {
        for (int32_t i = 0; i < n; i++) {
            const float a = ml_fabsf(t[i]);
            if (a > s || a != a) {
                s = a;
            }
            if (s != s) {
                break; /* NaN: the row's outputs are NaN */
            }
        }
    }
    /* 10 * FLT_EPSILON: numpy's _handle_zeros_in_scale for float32 norms */
    return s < 1.1920928955078125e-06f ? 1.0f : s;
}

/* Forced inlining of the engine into a generated kernel (GCC / Clang). */
#if defined(__GNUC__) || defined(__clang__)
#define ML_PREPROCESSING_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ML_PREPROCESSING_ALWAYS_INLINE static inline
#endif

/* The engine, always inlined: a generated header calls it on its `static const` model,
 * whose stage tables and flags are then compile-time constants, so every absent stage
 * (double tables, normaliser and its square root, matrix...) folds away and each step
 * gets a kernel with only its own stages, whatever the number of steps and the
 * optimisation level (-Os would otherwise keep one shared out-of-line copy with every
 * stage). Same arguments and result as ml_preprocessing_transform below, which the
 * model-file path calls (one generic copy). */
ML_PREPROCESSING_ALWAYS_INLINE int32_t ml_preprocessing_transform_inline(
    const ml_preprocessing_t *m, const float *x, float *out, float *scratch)
{
    const int32_t n = m->n_mid;
    float *buf = out;
    const float *src = x;
    if (m->matrix != NULL && ml_preprocessing_has_pre(m)) {
        if (scratch == NULL) {
            return ML_ERR_NULL;
        }
        buf = scratch;
    }
    if (m->gather != NULL) {
        for (int32_t k = 0; k < n; k++) {
            buf[k] = x[ML_READ_U16(&m->gather[k])];
        }
        src = buf;
    }
    if (m->fused64) {
        for (int32_t i = 0; i < n; i++) {
            double v = (double)src[i];
            if (m->center64 != NULL) {
                v -= ML_READ_F64(&m->center64[i]);
            }
            if (m->scale64 != NULL) {
                const double sc = ML_READ_F64(&m->scale64[i]);
                v = m->scale_op == ML_PREPROCESSING_SCALE_DIV ? ml_div(v, sc) : v * sc;
            }
            if (m->offset64 != NULL) {
                v += ML_READ_F64(&m->offset64[i]);
            }
            buf[i] = (float)v;
        }
        src = buf;
    } else if (m->center64 != NULL) {
        for (int32_t i = 0; i < n; i++) {
            buf[i] = (float)((double)src[i] - ML_READ_F64(&m->center64[i]));
        }
        src = buf;
    } else if (m->center != NULL) {
        for (int32_t i = 0; i < n; i++) {
            buf[i] = src[i] - ML_READ_F32(&m->center[i]);
        }
        src = buf;
    }
    if (m->fused64) {
        /* done above */
    } else if (m->scale_op == ML_PREPROCESSING_SCALE_MUL) {
        if (m->scale64 != NULL) {
            for (int32_t i = 0; i < n; i++) {
                buf[i] = (float)((double)src[i] * ML_READ_F64(&m->scale64[i]));
            }
            src = buf;
        } else if (m->scale != NULL) {
            for (int32_t i = 0; i < n; i++) {
                buf[i] = src[i] * ML_READ_F32(&m->scale[i]);
            }
            src = buf;
        }
    } else if (m->scale_op == ML_PREPROCESSING_SCALE_DIV) {
        if (m->scale64 != NULL) {
            for (int32_t i = 0; i < n; i++) {
                buf[i] = (float)ml_div((double)src[i], ML_READ_F64(&m->scale64[i]));
            }
            src = buf;
        } else if (m->scale != NULL) {
            for (int32_t i = 0; i < n; i++) {
                buf[i] = ml_divf(src[i], ML_READ_F32(&m->scale[i]));
            }
            src = buf;
        }
    }
    if (m->fused64) {
        /* done above */
    } else if (m->offset64 != NULL) {
        for (int32_t i = 0; i < n; i++) {
            buf[i] = (float)((double)src[i] + ML_READ_F64(&m->offset64[i]));
        }
        src = buf;
    } else if (m->offset != NULL) {
        for (int32_t i = 0; i < n; i++) {
            buf[i] = src[i] + ML_READ_F32(&m->offset[i]);
        }
        src = buf;
    }
    if (m->clip) {
        for (int32_t i = 0; i < n; i++) {
            float v = src[i];
            if (v < m->clip_lo) {
                v = m->clip_lo;
            } else if (v > m->clip_hi) {
                v = m->clip_hi;
            }
            buf[i] = v;
        }
        src = buf;
    }
    if (m->norm != ML_PREPROCESSING_NORM_NONE) {
        const float s = ml_preprocessing_norm(m->norm, src, n);
        for (int32_t i = 0; i < n; i++) {
            buf[i] = ml_divf(src[i], s);
        }
        src = buf;
    }
    if (m->matrix != NULL) {
        const float *row = m->matrix;
        for (int32_t j = 0; j < m->n_outputs; j++) {
            float acc = 0.0f;
            for (int32_t i = 0; i < n; i++) {
                acc += src[i] * ML_READ_F32(&row[i]);
            }
            out[j] = acc;
            row += n;
        }
    } else if (src != out) {
        for (int32_t i = 0; i < n; i++) {
            out[i] = src[i];
        }
    }
    return ML_OK;
}

/* out[0..n_outputs-1] = transform of x (n_features floats). scratch holds
 * info.scratch_floats floats (may be NULL when that is 0). out must not alias x.
 * Returns ML_OK, or ML_ERR_NULL when required scratch is missing. */
static inline int32_t ml_preprocessing_transform(const ml_preprocessing_t *m, const float *x,
                                                 float *out, float *scratch)
{
    return ml_preprocessing_transform_inline(m, x, out, scratch);
}

/* Section layout (version 1), little-endian, offsets from the section start:
 *    0 u32 layout version (1)          4 u32 n_features      8 u32 n_mid
 *   12 u32 n_outputs                  16 u32 flags (ML_PREPROCESSING_F_*)
 *   20 u32 norm (ML_PREPROCESSING_NORM_*)
 *   24 f32 clip_lo                    28 f32 clip_hi
 *   32 u32 offset of gather  (u16[n_mid], 4-aligned)
 *   36 u32 offset of center  (f32[n_mid] 4-aligned, or f64[n_mid] 8-aligned: F_CENTER64)
 *   40 u32 offset of scale   (same)   44 u32 offset of offset (same)
 *   48 u32 offset of matrix  (f32[n_outputs * n_mid], 4-aligned)
 *   52 end of header; an absent table has offset 0. */
#define ML_PREPROCESSING_SECTION_VERSION 1u
#define ML_PREPROCESSING_HEADER_BYTES 52u
#define ML_PREPROCESSING_F_GATHER 0x001u
#define ML_PREPROCESSING_F_CENTER 0x002u
#define ML_PREPROCESSING_F_CENTER64 0x004u
#define ML_PREPROCESSING_F_SCALE 0x008u
#define ML_PREPROCESSING_F_SCALE64 0x010u
#define ML_PREPROCESSING_F_SCALE_DIV 0x020u
#define ML_PREPROCESSING_F_OFFSET 0x040u
#define ML_PREPROCESSING_F_OFFSET64 0x080u
#define ML_PREPROCESSING_F_CLIP 0x100u
#define ML_PREPROCESSING_F_MATRIX 0x200u
#define ML_PREPROCESSING_F_FUSED64 0x400u /* affine map in double (every table f64) */
#define ML_PREPROCESSING_F_ALL 0x7FFu

/* Validate a parameter table (flag `present`, `wide`: f64) at header field `field`.
 * Returns ML_OK (*f or *d set, or both NULL when absent), ML_ERR_MODEL or ML_ERR_ALIGN. */
#if defined(__AVR__)
/* AVR: the section parser assumes a 32-bit int, and with ML_PROGMEM (ml_common.h) the
 * engine reads its tables from program memory: model files are not supported there. */
static inline int32_t ml_preprocessing_from_section(ml_preprocessing_t *m, const uint8_t *sec,
                                                    uint32_t size)
{
    (void)sec;
    (void)size;
    return m == NULL ? ML_ERR_NULL : ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_preprocessing_table(const uint8_t *sec, uint32_t size, uint32_t field,
                                             int present, int wide, uint32_t count,
                                             const float **f, const double **d)
{
    const uint32_t off = ml_rd_u32(sec + field);
    *f = NULL;
    *d = NULL;
    if (!present) {
        return (off == 0u && !wide) ? ML_OK : ML_ERR_MODEL;
    }
    if (!ml_span_ok(off, count, wide ? 8u : 4u, wide ? 8u : 4u,
                    ML_PREPROCESSING_HEADER_BYTES, size)) {
        return ML_ERR_MODEL;
    }
    if (wide) {
        if (((uintptr_t)(const void *)(sec + off) & 7u) != 0u) {
            return ML_ERR_ALIGN; /* double tables need an 8-byte aligned model file */
        }
        *d = (const double *)(const void *)(sec + off);
    } else {
        *f = (const float *)(const void *)(sec + off);
    }
    return ML_OK;
}

/* Validate a model-file section (sec: 4-byte aligned, size bytes) and fill *m in place
 * (the tables stay in the section). Checks the version, every count, flag, offset, span
 * and gather index; the work of one transform is then bounded by the section size
 * (n_mid * n_outputs matrix entries) plus n_features <= 65535. Returns ML_OK,
 * ML_ERR_NULL, ML_ERR_ALIGN (section, or a double table, misaligned in memory),
 * ML_ERR_UNSUPPORTED (unknown version or flags) or ML_ERR_MODEL; *m is zeroed on error. */
static inline int32_t ml_preprocessing_from_section(ml_preprocessing_t *m, const uint8_t *sec,
                                                    uint32_t size)
{
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    memset(m, 0, sizeof *m);
    if (sec == NULL) {
        return ML_ERR_NULL;
    }
    if (((uintptr_t)(const void *)sec & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    if (size < ML_PREPROCESSING_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    if (ml_rd_u32(sec) != ML_PREPROCESSING_SECTION_VERSION) {
        return ML_ERR_UNSUPPORTED;
    }
    const uint32_t n_features = ml_rd_u32(sec + 4);
    const uint32_t n_mid = ml_rd_u32(sec + 8);
    const uint32_t n_outputs = ml_rd_u32(sec + 12);
    const uint32_t flags = ml_rd_u32(sec + 16);
    const uint32_t norm = ml_rd_u32(sec + 20);
    const float lo = ml_rd_f32(sec + 24);
    const float hi = ml_rd_f32(sec + 28);
    if ((flags & ~ML_PREPROCESSING_F_ALL) != 0u || norm > ML_PREPROCESSING_NORM_MAX) {
        return ML_ERR_UNSUPPORTED;
    }
    const int gather = (flags & ML_PREPROCESSING_F_GATHER) != 0u;
    const int matrix = (flags & ML_PREPROCESSING_F_MATRIX) != 0u;
    const int scale = (flags & ML_PREPROCESSING_F_SCALE) != 0u;
    const int clip = (flags & ML_PREPROCESSING_F_CLIP) != 0u;
    const int fused = (flags & ML_PREPROCESSING_F_FUSED64) != 0u;
    if (n_features < 1u || n_features > ML_PREPROCESSING_MAX_DIM || n_mid < 1u ||
        n_mid > ML_PREPROCESSING_MAX_DIM || n_outputs < 1u ||
        n_outputs > ML_PREPROCESSING_MAX_DIM || (!gather && n_mid != n_features) ||
        (!matrix && n_outputs != n_mid) ||
        (!scale && (flags & ML_PREPROCESSING_F_SCALE_DIV) != 0u) ||
        (clip && !(lo <= hi)) || (!clip && (ml_rd_u32(sec + 24) | ml_rd_u32(sec + 28)) != 0u)) {
        return ML_ERR_MODEL;
    }
    ml_preprocessing_t t;
    memset(&t, 0, sizeof t);
    int32_t status = ML_OK;
    const uint32_t g_off = ml_rd_u32(sec + 32);
    if (gather) {
        if (!ml_span_ok(g_off, n_mid, 2u, 4u, ML_PREPROCESSING_HEADER_BYTES, size)) {
            return ML_ERR_MODEL;
        }
        t.gather = (const uint16_t *)(const void *)(sec + g_off);
        for (uint32_t k = 0; k < n_mid; k++) {
            if (ml_rd_u16(sec + g_off + 2u * k) >= n_features) {
                return ML_ERR_MODEL;
            }
        }
    } else if (g_off != 0u) {
        return ML_ERR_MODEL;
    }
    status = ml_preprocessing_table(sec, size, 36u, (flags & ML_PREPROCESSING_F_CENTER) != 0u,
                                    (flags & ML_PREPROCESSING_F_CENTER64) != 0u, n_mid,
                                    &t.center, &t.center64);
    if (status == ML_OK) {
        status = ml_preprocessing_table(sec, size, 40u, scale,
                                        (flags & ML_PREPROCESSING_F_SCALE64) != 0u, n_mid,
                                        &t.scale, &t.scale64);
    }
    if (status == ML_OK) {
        status = ml_preprocessing_table(sec, size, 44u,
                                        (flags & ML_PREPROCESSING_F_OFFSET) != 0u,
                                        (flags & ML_PREPROCESSING_F_OFFSET64) != 0u, n_mid,
                                        &t.offset, &t.offset64);
    }
    if (status != ML_OK) {
        return status;
    }
    if (fused && (t.center != NULL || t.scale != NULL || t.offset != NULL)) {
        return ML_ERR_MODEL; /* the fused double map needs double tables */
    }
    const uint32_t w_off = ml_rd_u32(sec + 48);
    if (matrix) {
        if (!ml_span_ok(w_off, n_outputs * n_mid, 4u, 4u, ML_PREPROCESSING_HEADER_BYTES,
                        size)) {
            return ML_ERR_MODEL;
        }
        t.matrix = (const float *)(const void *)(sec + w_off);
    } else if (w_off != 0u) {
        return ML_ERR_MODEL;
    }
    t.n_features = (int32_t)n_features;
    t.n_mid = (int32_t)n_mid;
    t.n_outputs = (int32_t)n_outputs;
    t.scale_op = !scale ? ML_PREPROCESSING_SCALE_NONE
                 : (flags & ML_PREPROCESSING_F_SCALE_DIV) != 0u ? ML_PREPROCESSING_SCALE_DIV
                                                              : ML_PREPROCESSING_SCALE_MUL;
    t.norm = (int32_t)norm;
    t.clip = clip;
    t.fused64 = fused;
    t.clip_lo = clip ? lo : 0.0f;
    t.clip_hi = clip ? hi : 0.0f;
    *m = t;
    return ML_OK;
}
#endif /* __AVR__ */

ML_DEFINE_UNSUPPORTED_PREDICT(preprocessing)

ML_DEFINE_UNSUPPORTED(preprocessing, predict_proba)

ML_DEFINE_UNSUPPORTED(preprocessing, decision_function)

ML_DEFINE_UNSUPPORTED(preprocessing, score_samples)

ML_DEFINE_UNSUPPORTED(preprocessing, regress)

#endif /* ML_PREPROCESSING_H */
