/* ml_dsp.h - microlearn C runtime: feature extraction from raw samples as a pipeline step
 * (the "dsp" family: microlearn.features.MelSpectrogram, MFCC, TimeSeriesFeatures,
 * SoundLevel).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows. The engine only sequences the DSP headers
 * (ml_mel.h, ml_fft.h, ml_window.h, ml_features.h, ml_filter.h, ml_level.h) exactly as
 * the host twins do (runtime/host/ml_dsp_spectral.c, ml_dsp_time.c, called by the
 * scikit-learn transformers in microlearn/features/): the same functions with the same
 * arguments in the same order, so a transform here is bit-identical to the transformer's
 * output in Python, and a Pipeline(transformer, ..., model) converted with
 * microlearn.convert predicts what scikit-learn's pipeline predicts.
 *
 * One sample x = one window of raw samples (n_features floats); the output is one
 * feature vector (n_outputs floats):
 *
 *   MELSPEC   frame f = x[f hop .. f hop + n_fft): window, real FFT, power (or magnitude)
 *             spectrum, sparse mel filterbank (ml_melspec_f32); out[f n_mels + j];
 *             then, with to_db, power_to_db (ref 1, amin, no top_db) of every value
 *   MFCC      per frame ml_mfcc_f32 (mel spectrum, power_to_db with amin and top_db per
 *             frame, DCT-II matrix with liftering folded in): out[f n_mfcc + k]
 *   FEATURES  n_channels windows of window_length samples one after the other; per
 *             channel the features `codes` (ML_FEAT_* ids of ml_features.h, or
 *             ML_DSP_BAND_ENERGY: n_bands values, ML_DSP_DOMINANT: one value) in order;
 *             channel-major output
 *   LEVEL     sound levels of the window, `codes` ML_DSP_LEQ (frequency-weighted Leq),
 *             ML_DSP_LMAX / ML_DSP_LMIN (extremes of the time-weighted level, filters
 *             starting from rest at each window; NaN if any level is NaN, as numpy's max),
 *             ML_DSP_DBFS (AES17 dBFS, full scale = ref)
 *
 * Memory: scratch (ml_dsp_info: scratch_floats) holds the FFT buffers (MELSPEC, MFCC:
 * 2 n_fft + 2 (+ n_mels); FEATURES with spectral features: window_length + 2 + n_bands)
 * or the weighted signal and the biquad state (LEVEL: n_features + 2 n_stages). The
 * spectral kinds also put one ml_rfft_f32_t on the stack (its twiddles are computed per
 * call by ml_rfft_f32_init, about 30 float operations per twiddle): 4 (5 ML_RFFT_MAX_N / 4
 * + 2) bytes, 5 KB at the default ML_RFFT_MAX_N of 1024; define ML_RFFT_MAX_N to the
 * largest n_fft the firmware uses (before including any runtime header) to shrink it. A
 * model file whose n_fft exceeds ML_RFFT_MAX_N is refused with ML_ERR_UNSUPPORTED.
 *
 * Compile with -ffp-contract=off (as the DSP headers) for the host's bits on every target.
 *
 * AVR (ML_PROGMEM 1, ml_common.h): the generated model's struct and tables (window, mel
 * filterbank, DCT matrix, codes, band edges, weighting biquads) are ML_CONST, in program
 * memory; the engine reads them with ML_READ_* (its own window / mel / DCT loops, the
 * same float operations in the same order as ml_window.h's and ml_mel.h's) and copies the
 * few band edges (at most ML_DSP_AVR_MAX_BANDS bands) and biquad coefficients (at most
 * ML_DSP_AVR_MAX_STAGES sections) to the stack; the FFT twiddles are copied into the
 * instance from the model's table (ml_dsp_t.twiddle, AVR only) instead of being computed
 * (ml_rfft_f32_init's bits: the table is computed so on the host). ml_fft.h's ML_RFFT_MAX_N defaults to 16 there: define it to the
 * model's n_fft (the generated header says so with #error). Model files are not
 * supported on AVR (ml_dsp_from_section returns ML_ERR_UNSUPPORTED).
 */
#ifndef ML_DSP_H
#define ML_DSP_H

#include <string.h>

#include "ml_common.h"
#include "ml_math.h"
#include "ml_fft.h"
#include "ml_window.h"
#include "ml_mel.h"
#include "ml_features.h"
#include "ml_filter.h"
#include "ml_level.h"

#define ML_DSP_MELSPEC 1
#define ML_DSP_MFCC 2
#define ML_DSP_FEATURES 3
#define ML_DSP_LEVEL 4

/* FEATURES codes besides the ML_FEAT_* ids (0 .. ML_FEAT_COUNT - 1) */
#define ML_DSP_BAND_ENERGY (-1)
#define ML_DSP_DOMINANT (-2)
/* LEVEL codes */
#define ML_DSP_LEQ 0
#define ML_DSP_LMAX 1
#define ML_DSP_LMIN 2
#define ML_DSP_DBFS 3

/* Limits a model-file section may declare (bounds the work of one transform). */
#define ML_DSP_MAX_SAMPLES 16777216u /* n_features */
#define ML_DSP_MAX_OUTPUTS 1048576u
#define ML_DSP_MAX_CODES 4096u
#define ML_DSP_MAX_STAGES 64u

/* AVR: band edges and biquad sections the engine copies from program memory to the stack */
#ifndef ML_DSP_AVR_MAX_BANDS
#define ML_DSP_AVR_MAX_BANDS 16
#endif
#ifndef ML_DSP_AVR_MAX_STAGES
#define ML_DSP_AVR_MAX_STAGES 4
#endif

typedef struct ml_dsp {
    int32_t kind;            /* ML_DSP_* */
    int32_t n_features;      /* samples per window (all channels) */
    int32_t n_outputs;
    /* MELSPEC, MFCC */
    int32_t n_fft;           /* FFT length = frame length, power of two */
    int32_t hop;             /* samples between frames */
    int32_t n_frames;
    int32_t n_mels;
    int32_t n_mfcc;          /* MFCC */
    int32_t power;           /* 2: power spectrum, 1: magnitude */
    int32_t to_db;           /* MELSPEC: power_to_db of the output */
    float amin;              /* power_to_db's amin (> 0) */
    float top_db;            /* MFCC: per frame; < 0: none */
    const float *window;     /* [n_fft] */
    const uint16_t *mel_start;  /* [n_mels] first FFT bin of each filter */
    const uint16_t *mel_length; /* [n_mels] weights of each filter */
    const float *mel_weights;   /* all filters' weights, filter after filter */
    const float *dct;        /* MFCC: [n_mfcc * n_mels] DCT-II matrix (ml_dct2_f32_init's) */
    /* FEATURES, LEVEL */
    int32_t n_channels;      /* FEATURES */
    int32_t window_length;   /* FEATURES: samples per channel */
    int32_t n_codes;
    int32_t n_bands;         /* FEATURES: band_energy bands */
    int32_t n_stages;        /* LEVEL: frequency-weighting biquads (0: Z) */
    float fs;                /* sample rate, Hz (spectral features, LEVEL) */
    float tau;               /* LEVEL: time constant, s */
    float ref;               /* LEVEL: rms of 0 dB (dbfs: full scale) */
    const int32_t *codes;    /* [n_codes] */
    const float *edges;      /* FEATURES: [n_bands + 1] band edges, Hz */
    const float *sos;        /* LEVEL: [5 n_stages] b0, b1, b2, a1, a2 per section */
#if ML_PROGMEM
    const float *twiddle;    /* AVR: [ML_RFFT_F32_TWIDDLES(fft size)] the twiddles
                              * ml_rfft_f32_init computes (program memory), or NULL */
#endif
} ml_dsp_t;

/* 1 when a FEATURES code needs the spectrum */
static inline int ml_dsp_spectral_code(int32_t code)
{
    return code == ML_DSP_BAND_ENERGY || code == ML_DSP_DOMINANT;
}

static inline int32_t ml_dsp_scratch_floats(const ml_dsp_t *m)
{
    int32_t k;
    switch (m->kind) {
    case ML_DSP_MELSPEC:
        return ML_MELSPEC_SCRATCH(m->n_fft);
    case ML_DSP_MFCC:
        return ML_MFCC_SCRATCH(m->n_fft, m->n_mels);
    case ML_DSP_FEATURES:
        for (k = 0; k < m->n_codes; k++) {
            if (ml_dsp_spectral_code(ML_READ_I32(&m->codes[k]))) {
                return m->window_length + 2 + m->n_bands;
            }
        }
        return 0;
    case ML_DSP_LEVEL:
        for (k = 0; k < m->n_codes; k++) {
            if (ML_READ_I32(&m->codes[k]) != ML_DSP_DBFS) {
                return m->n_features + 2 * m->n_stages;
            }
        }
        return 0;
    default:
        return 0;
    }
}

static inline void ml_dsp_info(const ml_dsp_t *m, ml_info_t *info)
{
    info->task = ML_TASK_TRANSFORMER;
    info->n_features = m->n_features;
    info->n_outputs = m->n_outputs;
    info->n_decision = 0;
    info->has_proba = 0;
    info->has_score_samples = 0;
    info->scratch_floats = ml_dsp_scratch_floats(m);
}

#if ML_PROGMEM
/* AVR: the FFT instance for n points, its twiddles copied from the model's table in
 * program memory (the bits ml_rfft_f32_init computes, without computing them) */
static inline int32_t ml_dsp__fft_init(const ml_dsp_t *m, ml_rfft_f32_t *fft, int32_t n)
{
    const int32_t l = ml_fft_log2_(n, ML_RFFT_MAX_N);
    if (m->twiddle == NULL || l < 0) {
        return ml_rfft_f32_init(fft, n);
    }
    fft->n = n;
    fft->log2m = l - 1;
    memcpy_P(fft->twiddle, m->twiddle, sizeof(float) * (size_t)ML_RFFT_F32_TWIDDLES(n));
    return ML_OK;
}
#else
#define ml_dsp__fft_init(m, fft, n) ml_rfft_f32_init(fft, n)
#endif

#if ML_PROGMEM
/* AVR: ml_melspec_f32 with the window and the mel filterbank in program memory (the same
 * operations in the same order as ml_window_apply_f32, ml_rfft_f32, the spectrum and
 * ml_mel_f32). scratch: ML_MELSPEC_SCRATCH(n_fft) floats; out[n_mels]. */
static inline void ml_dsp__melspec_P(const ml_dsp_t *m, const ml_rfft_f32_t *fft,
                                     const float *frame, float *scratch, float *out)
{
    const int32_t n = m->n_fft;
    float *xw = scratch;
    float *spec = scratch + n;
    const float *w = m->mel_weights;
    int32_t i, j;
    for (i = 0; i < n; i++) {
        xw[i] = m->window != NULL ? frame[i] * ML_READ_F32(&m->window[i]) : frame[i];
    }
    ml_rfft_f32(fft, xw, spec);
    if (m->power == 2) {
        ml_power_spectrum_f32(spec, n / 2 + 1, xw);
    } else {
        ml_magnitude_spectrum_f32(spec, n / 2 + 1, xw);
    }
    for (j = 0; j < m->n_mels; j++) {
        const float *s = xw + ML_READ_U16(&m->mel_start[j]);
        const int32_t len = (int32_t)ML_READ_U16(&m->mel_length[j]);
        float acc = 0.0f;
        int32_t t;
        for (t = 0; t < len; t++) {
            acc += ML_READ_F32(&w[t]) * s[t];
        }
        w += len;
        out[j] = acc;
    }
}

/* AVR: MELSPEC / MFCC of one window, tables in program memory (ml_mfcc_f32's steps) */
static inline int32_t ml_dsp__spectro(const ml_dsp_t *m, const float *x, float *out,
                                      float *scratch)
{
    ml_rfft_f32_t fft;
    int32_t r = ml_dsp__fft_init(m, &fft, m->n_fft);
    int32_t f, k, i;
    if (r != ML_OK) {
        return r;
    }
    if (m->n_mels < 1 || (m->kind == ML_DSP_MFCC && (m->n_mfcc < 1 || m->n_mfcc > m->n_mels ||
                                                     !(m->amin > 0.0f)))) {
        return ML_ERR_ARG;
    }
    for (f = 0; f < m->n_frames; f++) {
        const float *frame = x + (size_t)f * (size_t)m->hop;
        if (m->kind == ML_DSP_MFCC) {
            float *mel = scratch + 2 * m->n_fft + 2;
            float *y = out + (size_t)f * (size_t)m->n_mfcc;
            const float *row = m->dct;
            ml_dsp__melspec_P(m, &fft, frame, scratch, mel);
            (void)ml_power_to_db_f32(mel, m->n_mels, 1.0f, m->amin, m->top_db, mel);
            for (k = 0; k < m->n_mfcc; k++, row += m->n_mels) { /* ml_dct2_f32 */
                float acc = 0.0f;
                for (i = 0; i < m->n_mels; i++) {
                    acc += ML_READ_F32(&row[i]) * mel[i];
                }
                y[k] = acc;
            }
        } else {
            ml_dsp__melspec_P(m, &fft, frame, scratch, out + (size_t)f * (size_t)m->n_mels);
        }
    }
    if (m->kind == ML_DSP_MELSPEC && m->to_db) { /* element by element (no top_db) */
        r = ml_power_to_db_f32(out, m->n_outputs, 1.0f, m->amin, -1.0f, out);
    }
    return r;
}
#else
/* MELSPEC / MFCC of one window */
static inline int32_t ml_dsp__spectro(const ml_dsp_t *m, const float *x, float *out,
                                      float *scratch)
{
    ml_rfft_f32_t fft;
    ml_mel_f32_t mel;
    int32_t r = ml_rfft_f32_init(&fft, m->n_fft);
    int32_t f;
    if (r == ML_OK) {
        r = ml_mel_f32_init(&mel, m->n_mels, m->n_fft / 2 + 1, m->mel_start, m->mel_length,
                            m->mel_weights);
    }
    if (r != ML_OK) {
        return r;
    }
    if (m->kind == ML_DSP_MFCC) {
        ml_dct2_f32_t dct;
        ml_mfcc_f32_t mf;
        dct.n_in = m->n_mels;
        dct.n_out = m->n_mfcc;
        dct.matrix = (float *)(uintptr_t)m->dct; /* only read by ml_dct2_f32 */
        r = ml_mfcc_f32_init(&mf, &fft, m->window, &mel, m->power, &dct, m->amin, m->top_db);
        if (r != ML_OK) {
            return r;
        }
        for (f = 0; f < m->n_frames; f++) {
            ml_mfcc_f32(&mf, x + (size_t)f * (size_t)m->hop, scratch,
                        out + (size_t)f * (size_t)m->n_mfcc);
        }
    } else {
        ml_melspec_f32_t ms;
        r = ml_melspec_f32_init(&ms, &fft, m->window, &mel, m->power);
        if (r != ML_OK) {
            return r;
        }
        for (f = 0; f < m->n_frames; f++) {
            ml_melspec_f32(&ms, x + (size_t)f * (size_t)m->hop, scratch,
                           out + (size_t)f * (size_t)m->n_mels);
        }
        if (m->to_db) { /* element by element (no top_db) */
            r = ml_power_to_db_f32(out, m->n_outputs, 1.0f, m->amin, -1.0f, out);
        }
    }
    return r;
}
#endif

/* FEATURES of one row (n_channels windows) */
static inline int32_t ml_dsp__features(const ml_dsp_t *m, const float *x, float *out,
                                       float *scratch)
{
    ml_rfft_f32_t fft;
    int spectral = 0;
    int32_t c, k, r;
#if ML_PROGMEM
    float edges_buf[ML_DSP_AVR_MAX_BANDS + 1]; /* the band edges, from program memory */
    const float *const edges = m->n_bands > 0 ? edges_buf : NULL;
    if (m->n_bands > ML_DSP_AVR_MAX_BANDS) {
        return ML_ERR_UNSUPPORTED;
    }
    for (k = 0; k < (m->n_bands > 0 ? m->n_bands + 1 : 0); k++) {
        edges_buf[k] = ML_READ_F32(&m->edges[k]);
    }
#else
    const float *const edges = m->edges;
#endif
    fft.n = 0; /* initialised below when a feature needs the spectrum */
    fft.log2m = 0;
    for (k = 0; k < m->n_codes; k++) {
        spectral |= ml_dsp_spectral_code(ML_READ_I32(&m->codes[k]));
    }
    if (spectral) {
        r = ml_dsp__fft_init(m, &fft, m->window_length);
        if (r != ML_OK) {
            return r;
        }
    }
    for (c = 0; c < m->n_channels; c++) {
        const float *w = x + (size_t)c * (size_t)m->window_length;
        float *bands = spectral ? scratch + m->window_length + 2 : NULL;
        float dominant = 0.0f;
        ml_stats_f32_t st;
        r = ml_stats_f32(w, m->window_length, &st);
        if (r == ML_OK && spectral) {
            r = ml_spectral_features_f32(&fft, w, m->fs, edges, m->n_bands,
                                         m->n_bands > 0 ? bands : NULL, &dominant, scratch);
        }
        if (r != ML_OK) {
            return r;
        }
        for (k = 0; k < m->n_codes; k++) {
            const int32_t code = ML_READ_I32(&m->codes[k]);
            if (code == ML_DSP_BAND_ENERGY) {
                int32_t b;
                for (b = 0; b < m->n_bands; b++) {
                    *out++ = bands[b];
                }
            } else if (code == ML_DSP_DOMINANT) {
                *out++ = dominant;
            } else {
                *out++ = ml_stats_f32_get(&st, code);
            }
        }
    }
    return ML_OK;
}

/* LEVEL of one window */
static inline int32_t ml_dsp__level(const ml_dsp_t *m, const float *x, float *out,
                                    float *scratch)
{
    const int32_t n = m->n_features;
    float leq = 0.0f, lmax = 0.0f, lmin = 0.0f;
    int need_leq = 0, need_lvl = 0;
    int32_t k, i, r = ML_OK;
#if ML_PROGMEM
    float sos[5 * ML_DSP_AVR_MAX_STAGES]; /* the biquads, copied from program memory */
    if (m->n_stages > ML_DSP_AVR_MAX_STAGES) {
        return ML_ERR_UNSUPPORTED;
    }
    for (k = 0; k < 5 * m->n_stages; k++) {
        sos[k] = ML_READ_F32(&m->sos[k]);
    }
#else
    const float *const sos = m->sos;
#endif
    for (k = 0; k < m->n_codes; k++) {
        const int32_t code = ML_READ_I32(&m->codes[k]);
        need_leq |= code == ML_DSP_LEQ;
        need_lvl |= code == ML_DSP_LMAX || code == ML_DSP_LMIN;
    }
    if (need_leq) { /* weighting from rest, then the energy average of the window */
        const float *src = x;
        ml_leq_f32_t q;
        if (m->n_stages > 0) {
            ml_biquad_f32_t bq;
            r = ml_biquad_f32_init(&bq, m->n_stages, sos, scratch + n);
            if (r == ML_OK) {
                r = ml_biquad_f32(&bq, x, scratch, n);
            }
            src = scratch;
        }
        ml_leq_f32_reset(&q);
        if (r == ML_OK) {
            r = ml_leq_f32_update(&q, src, n);
        }
        if (r != ML_OK) {
            return r;
        }
        leq = ml_leq_f32_db(&q, m->ref * m->ref);
    }
    if (need_lvl) {
        ml_sound_level_f32_t slm;
        r = ml_sound_level_f32_init(&slm, m->n_stages, m->n_stages > 0 ? sos : NULL,
                                    m->n_stages > 0 ? scratch + n : NULL, m->fs, m->tau,
                                    m->ref);
        if (r == ML_OK) {
            r = ml_sound_level_f32(&slm, x, scratch, n);
        }
        if (r != ML_OK) {
            return r;
        }
        lmax = scratch[0];
        lmin = scratch[0];
        for (i = 0; i < n; i++) { /* numpy's max / min: NaN if any value is NaN */
            const float v = scratch[i];
            if (v != v) {
                lmax = v;
                lmin = v;
                break;
            }
            lmax = v > lmax ? v : lmax;
            lmin = v < lmin ? v : lmin;
        }
    }
    for (k = 0; k < m->n_codes; k++) {
        switch (ML_READ_I32(&m->codes[k])) {
        case ML_DSP_LEQ: out[k] = leq; break;
        case ML_DSP_LMAX: out[k] = lmax; break;
        case ML_DSP_LMIN: out[k] = lmin; break;
        default: out[k] = ml_level_dbfs(x, n, m->ref); break;
        }
    }
    return ML_OK;
}

/* ml_dsp_transform for a model of the known kind `kind` (ML_DSP_*; m->kind must equal
 * it, else ML_ERR_MODEL): generated code passes its constant kind, so only that kind's
 * code is compiled in (on AVR the struct is read through a copy, whose kind the compiler
 * cannot see). */
static inline int32_t ml_dsp_transform_kind(int32_t kind, const ml_dsp_t *m, const float *x,
                                            float *out, float *scratch)
{
    if (m == NULL || x == NULL || out == NULL ||
        (scratch == NULL && ml_dsp_scratch_floats(m) > 0)) {
        return ML_ERR_NULL;
    }
    if (m->kind != kind) {
        return ML_ERR_MODEL;
    }
    switch (kind) {
    case ML_DSP_MELSPEC:
    case ML_DSP_MFCC:
        return ml_dsp__spectro(m, x, out, scratch);
    case ML_DSP_FEATURES:
        return ml_dsp__features(m, x, out, scratch);
    case ML_DSP_LEVEL:
        return ml_dsp__level(m, x, out, scratch);
    default:
        return ML_ERR_MODEL;
    }
}

/* out[0..n_outputs-1] = features of the window x (n_features floats). scratch holds
 * info.scratch_floats floats (may be NULL when that is 0). out must not alias x.
 * Returns ML_OK, ML_ERR_NULL (missing scratch) or a DSP header's error code (only for a
 * hand-filled ml_dsp_t: a validated section never fails). */
static inline int32_t ml_dsp_transform(const ml_dsp_t *m, const float *x, float *out,
                                       float *scratch)
{
    return ml_dsp_transform_kind(m == NULL ? 0 : m->kind, m, x, out, scratch);
}

/* Section layout (version 1), little-endian, offsets from the section start; fields a
 * kind does not use are 0:
 *    0 u32 layout version (1)     4 u32 kind (ML_DSP_*)     8 u32 n_features
 *   12 u32 n_outputs             16 u32 n_fft              20 u32 hop
 *   24 u32 n_frames              28 u32 n_mels             32 u32 n_mfcc
 *   36 u32 flags: 0x1 power spectrum (else magnitude), 0x2 to_db (MELSPEC)
 *   40 f32 amin                  44 f32 top_db (< 0: none)
 *   48 u32 n_channels            52 u32 window_length      56 u32 n_codes
 *   60 u32 n_bands               64 u32 n_stages           68 f32 fs
 *   72 f32 tau                   76 f32 ref                80 u32 n_weights (mel)
 *   84 u32 offset of window      (f32[n_fft])
 *   88 u32 offset of mel_start   (u16[n_mels])    92 u32 offset of mel_length (u16[n_mels])
 *   96 u32 offset of mel_weights (f32[n_weights]) 100 u32 offset of dct (f32[n_mfcc n_mels])
 *  104 u32 offset of codes (i32[n_codes])         108 u32 offset of edges (f32[n_bands + 1])
 *  112 u32 offset of sos (f32[5 n_stages])
 *  116 end of header; tables 4-aligned, after the header; an absent table has offset 0. */
#define ML_DSP_SECTION_VERSION 1u
#define ML_DSP_HEADER_BYTES 116u
#define ML_DSP_F_POWER 0x1u
#define ML_DSP_F_TO_DB 0x2u

/* a table of count entries of width bytes at the offset in header field `field`:
 * present (count > 0 required when `present`) or absent (offset 0) */
static inline const void *ml_dsp__table(const uint8_t *sec, uint32_t size, uint32_t field,
                                        int present, uint32_t count, uint32_t width, int *ok)
{
    const uint32_t off = ml_rd_u32(sec + field);
    if (!present) {
        if (off != 0u) {
            *ok = 0;
        }
        return NULL;
    }
    if (!ml_span_ok(off, count, width, 4u, ML_DSP_HEADER_BYTES, size)) {
        *ok = 0;
        return NULL;
    }
    return (const void *)(sec + off);
}

static inline int ml_dsp__finite_pos(float v)
{
    return v > 0.0f && v < 3.0e38f;
}

/* Validate a model-file section (sec: 4-byte aligned, size bytes) and fill *m in place
 * (the tables stay in the section). Checks the version, kind, every count against the
 * others (frames fit the window, outputs match the feature list, filters lie inside the
 * spectrum, n_mfcc <= n_mels, ...), every offset and span, every code, the parameters
 * (power 1 or 2, amin > 0, fs, tau, ref finite and positive, band edges increasing), and
 * unused fields being 0. The work of one transform is then bounded by n_features <=
 * ML_DSP_MAX_SAMPLES and n_outputs <= ML_DSP_MAX_OUTPUTS. Returns ML_OK, ML_ERR_NULL,
 * ML_ERR_ALIGN, ML_ERR_UNSUPPORTED (unknown version, kind or flags; n_fft or a spectral
 * window longer than this build's ML_RFFT_MAX_N) or ML_ERR_MODEL; *m zeroed on error. */
#if defined(__AVR__)
/* AVR: with ML_PROGMEM (ml_common.h) the engine reads its tables from program memory, and
 * the section parser assumes a 32-bit int: model files are not supported there. */
static inline int32_t ml_dsp_from_section(ml_dsp_t *m, const uint8_t *sec, uint32_t size)
{
    (void)sec;
    (void)size;
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    memset(m, 0, sizeof *m);
    return ML_ERR_UNSUPPORTED;
}
#else
static inline int32_t ml_dsp_from_section(ml_dsp_t *m, const uint8_t *sec, uint32_t size)
{
    ml_dsp_t t;
    uint32_t f[30];
    uint32_t i;
    int ok = 1;
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
    if (size < ML_DSP_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    for (i = 0; i < 29u; i++) {
        f[i] = ml_rd_u32(sec + 4u * i);
    }
    memset(&t, 0, sizeof t);
    if (f[0] != ML_DSP_SECTION_VERSION) {
        return ML_ERR_UNSUPPORTED;
    }
    if (f[1] < (uint32_t)ML_DSP_MELSPEC || f[1] > (uint32_t)ML_DSP_LEVEL ||
        (f[9] & ~(ML_DSP_F_POWER | ML_DSP_F_TO_DB)) != 0u) {
        return ML_ERR_UNSUPPORTED;
    }
    {
        const uint32_t kind = f[1], nf = f[2], no = f[3];
        const int spectro = kind == (uint32_t)ML_DSP_MELSPEC || kind == (uint32_t)ML_DSP_MFCC;
        if (nf < 1u || nf > ML_DSP_MAX_SAMPLES || no < 1u || no > ML_DSP_MAX_OUTPUTS) {
            return ML_ERR_MODEL;
        }
        t.kind = (int32_t)kind;
        t.n_features = (int32_t)nf;
        t.n_outputs = (int32_t)no;
        if (spectro) {
            const uint32_t n_fft = f[4], hop = f[5], n_frames = f[6], n_mels = f[7];
            const uint32_t n_mfcc = f[8], n_w = f[20];
            const float amin = ml_rd_f32(sec + 40), top_db = ml_rd_f32(sec + 44);
            uint64_t total = 0u;
            if (n_fft < (uint32_t)ML_RFFT_MIN_N || n_fft > (uint32_t)ML_RFFT_LIMIT_N ||
                (n_fft & (n_fft - 1u)) != 0u) {
                return ML_ERR_MODEL;
            }
            if (n_fft > (uint32_t)ML_RFFT_MAX_N) {
                return ML_ERR_UNSUPPORTED; /* define ML_RFFT_MAX_N larger for this model */
            }
            /* the frames fit the window and there is no room for one more */
            if (hop < 1u || hop > 0x7FFFFFFFu || n_frames < 1u || n_mels < 1u || n_mels > 65535u ||
                (uint64_t)n_fft + (uint64_t)(n_frames - 1u) * hop > nf ||
                (uint64_t)n_fft + (uint64_t)n_frames * hop <= nf ||
                !ml_dsp__finite_pos(amin) || top_db != top_db || top_db > 3.0e38f ||
                f[12] != 0u || f[13] != 0u || f[14] != 0u || f[15] != 0u || f[16] != 0u ||
                f[17] != 0u || f[18] != 0u || f[19] != 0u || f[26] != 0u || f[27] != 0u ||
                f[28] != 0u) {
                return ML_ERR_MODEL;
            }
            if (kind == (uint32_t)ML_DSP_MFCC) {
                if (n_mfcc < 1u || n_mfcc > n_mels || (f[9] & ML_DSP_F_TO_DB) != 0u ||
                    (uint64_t)n_frames * n_mfcc != no) {
                    return ML_ERR_MODEL;
                }
            } else if (n_mfcc != 0u || ml_rd_u32(sec + 44) != 0u ||
                       (uint64_t)n_frames * n_mels != no) {
                return ML_ERR_MODEL; /* MELSPEC: no DCT, no top_db */
            }
            t.window = (const float *)ml_dsp__table(sec, size, 84, 1, n_fft, 4u, &ok);
            t.mel_start = (const uint16_t *)ml_dsp__table(sec, size, 88, 1, n_mels, 2u, &ok);
            t.mel_length = (const uint16_t *)ml_dsp__table(sec, size, 92, 1, n_mels, 2u, &ok);
            t.dct = (const float *)ml_dsp__table(sec, size, 100, kind == (uint32_t)ML_DSP_MFCC,
                                                 n_mfcc * n_mels, 4u, &ok);
            if (!ok) {
                return ML_ERR_MODEL;
            }
            for (i = 0; i < n_mels; i++) {
                if (t.mel_start[i] + t.mel_length[i] > n_fft / 2u + 1u) {
                    return ML_ERR_MODEL;
                }
                total += t.mel_length[i];
            }
            if (total != n_w) {
                return ML_ERR_MODEL;
            }
            /* n_weights 0: an empty table, at any aligned offset inside the section */
            t.mel_weights = (const float *)ml_dsp__table(sec, size, 96, 1, n_w, 4u, &ok);
            if (!ok) {
                return ML_ERR_MODEL;
            }
            t.n_fft = (int32_t)n_fft;
            t.hop = (int32_t)hop;
            t.n_frames = (int32_t)n_frames;
            t.n_mels = (int32_t)n_mels;
            t.n_mfcc = (int32_t)n_mfcc;
            t.power = (f[9] & ML_DSP_F_POWER) != 0u ? 2 : 1;
            t.to_db = (f[9] & ML_DSP_F_TO_DB) != 0u ? 1 : 0;
            t.amin = amin;
            t.top_db = kind == (uint32_t)ML_DSP_MFCC ? top_db : 0.0f;
        } else {
            const uint32_t n_codes = f[14];
            const float fs = ml_rd_f32(sec + 68);
            if (f[4] != 0u || f[5] != 0u || f[6] != 0u || f[7] != 0u || f[8] != 0u ||
                f[9] != 0u || f[10] != 0u || f[11] != 0u || f[20] != 0u || f[21] != 0u ||
                f[22] != 0u || f[23] != 0u || f[24] != 0u || f[25] != 0u || n_codes < 1u ||
                n_codes > ML_DSP_MAX_CODES) {
                return ML_ERR_MODEL;
            }
            t.codes = (const int32_t *)ml_dsp__table(sec, size, 104, 1, n_codes, 4u, &ok);
            if (!ok) {
                return ML_ERR_MODEL;
            }
            t.n_codes = (int32_t)n_codes;
            if (kind == (uint32_t)ML_DSP_FEATURES) {
                const uint32_t n_ch = f[12], wl = f[13], n_bands = f[15];
                uint64_t per = 0u;
                int spectral = 0, band = 0;
                if (n_ch < 1u || wl < 1u || (uint64_t)n_ch * wl != nf || n_bands > 65535u ||
                    f[16] != 0u || f[18] != 0u || f[19] != 0u || f[28] != 0u) {
                    return ML_ERR_MODEL;
                }
                for (i = 0; i < n_codes; i++) {
                    const int32_t c = t.codes[i];
                    if (c < ML_DSP_DOMINANT || c >= ML_FEAT_COUNT) {
                        return ML_ERR_MODEL;
                    }
                    spectral |= ml_dsp_spectral_code(c);
                    band |= c == ML_DSP_BAND_ENERGY;
                    per += c == ML_DSP_BAND_ENERGY ? n_bands : 1u;
                }
                /* bands only with band_energy: the band work is then bounded by the
                 * outputs */
                if (per * n_ch != no || (band != 0) != (n_bands > 0u)) {
                    return ML_ERR_MODEL;
                }
                if (spectral) {
                    if (wl < (uint32_t)ML_RFFT_MIN_N || wl > (uint32_t)ML_RFFT_LIMIT_N ||
                        (wl & (wl - 1u)) != 0u || !ml_dsp__finite_pos(fs)) {
                        return ML_ERR_MODEL;
                    }
                    if (wl > (uint32_t)ML_RFFT_MAX_N) {
                        return ML_ERR_UNSUPPORTED;
                    }
                } else if (n_bands != 0u || f[17] != 0u) {
                    return ML_ERR_MODEL;
                }
                t.edges = (const float *)ml_dsp__table(sec, size, 108, n_bands > 0u,
                                                       n_bands + 1u, 4u, &ok);
                if (!ok) {
                    return ML_ERR_MODEL;
                }
                for (i = 0; i < n_bands; i++) {
                    if (!(t.edges[i] < t.edges[i + 1u])) {
                        return ML_ERR_MODEL; /* increasing, no NaN */
                    }
                }
                t.n_channels = (int32_t)n_ch;
                t.window_length = (int32_t)wl;
                t.n_bands = (int32_t)n_bands;
                t.fs = spectral ? fs : 0.0f;
            } else { /* LEVEL */
                const uint32_t n_st = f[16];
                const float tau = ml_rd_f32(sec + 72), ref = ml_rd_f32(sec + 76);
                if (f[12] != 0u || f[13] != 0u || f[15] != 0u || f[27] != 0u ||
                    n_st > ML_DSP_MAX_STAGES || n_codes != no || !ml_dsp__finite_pos(fs) ||
                    !ml_dsp__finite_pos(tau) || !(ref > 0.0f && ref < 1.0e19f)) {
                    return ML_ERR_MODEL;
                }
                for (i = 0; i < n_codes; i++) {
                    if (t.codes[i] < ML_DSP_LEQ || t.codes[i] > ML_DSP_DBFS) {
                        return ML_ERR_MODEL;
                    }
                }
                t.sos = (const float *)ml_dsp__table(sec, size, 112, n_st > 0u, 5u * n_st, 4u,
                                                     &ok);
                if (!ok) {
                    return ML_ERR_MODEL;
                }
                t.n_stages = (int32_t)n_st;
                t.fs = fs;
                t.tau = tau;
                t.ref = ref;
            }
        }
    }
    *m = t;
    return ML_OK;
}
#endif

ML_DEFINE_UNSUPPORTED_PREDICT(dsp)

ML_DEFINE_UNSUPPORTED(dsp, predict_proba)

ML_DEFINE_UNSUPPORTED(dsp, decision_function)

ML_DEFINE_UNSUPPORTED(dsp, score_samples)

ML_DEFINE_UNSUPPORTED(dsp, regress)

#endif /* ML_DSP_H */
