/* ml_mel.h - microlearn C runtime: framing (streaming), mel filterbank, mel spectrogram,
 * power_to_db, DCT-II (MFCC) with liftering.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h.
 * Host twins (same C, compiled on the host by runtime/host/ml_dsp_spectral.c):
 * microlearn.dsp.melspectrogram, power_to_db, mfcc (librosa's conventions and keyword
 * names), microlearn.dsp.mel_filterbank / mel_table (the weights, computed in Python).
 *
 * Streaming a signal into overlapping frames (blocks of any size; the frames are those of
 * librosa.util.frame / center=False: frame i = x[i hop : i hop + frame_length]):
 *
 *     float frame_buf[512];
 *     ml_frames_f32_t fr;
 *     ml_frames_f32_init(&fr, 512, 256, frame_buf);
 *     // for every block of samples x[0..n) from the sensor:
 *     while (n > 0) {
 *         int32_t used;
 *         if (ml_frames_f32_push(&fr, x, n, &used) == 1) {
 *             ml_mfcc_f32(&mfcc, fr.buffer, scratch, coeffs);   // a complete frame
 *         }
 *         x += used;
 *         n -= used;
 *     }
 *
 * Mel filterbank: a sparse table computed at conversion time by
 * microlearn.dsp.mel_table(...) (or mel_c_table(...), which prints it as C): for filter j,
 * `length[j]` weights starting at FFT bin `start[j]`, all filters' weights concatenated in
 * `weights`. mel[j] = sum_t weights[off_j + t] * spectrum[start[j] + t] (float32, in order
 * of t). A 40-mel, 512-point table holds about 2 * 257 weights (2 KB of flash) instead of
 * 40 * 257 for the dense matrix.
 *
 * MFCC of one frame (ml_mfcc_f32): window, real FFT, power spectrum, mel, power_to_db with
 * ref 1 (amin, top_db per frame), DCT-II (orthonormal or not) with the liftering folded
 * into the DCT matrix. librosa.feature.mfcc applies top_db to the maximum of the whole
 * spectrogram, this per frame: with top_db < 0 (none) both are the same.
 */
#ifndef ML_MEL_H
#define ML_MEL_H

#include "ml_fft.h"
#include "ml_window.h"

/* ---------------------------------------------------------------------------------------
 * framing */

typedef struct ml_frames_f32 {
    float *buffer;        /* frame_length floats (caller-owned): the current frame */
    int32_t frame_length; /* samples per frame */
    int32_t hop_length;   /* samples between frame starts */
    int32_t fill;         /* samples in buffer */
    int32_t skip;         /* input samples still to drop (hop_length > frame_length) */
} ml_frames_f32_t;

/* Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (frame_length < 1, hop_length < 1). */
static inline int32_t ml_frames_f32_init(ml_frames_f32_t *S, int32_t frame_length,
                                         int32_t hop_length, float *buffer)
{
    if (S == NULL || buffer == NULL) {
        return ML_ERR_NULL;
    }
    if (frame_length < 1 || hop_length < 1) {
        return ML_ERR_ARG;
    }
    S->buffer = buffer;
    S->frame_length = frame_length;
    S->hop_length = hop_length;
    S->fill = 0;
    S->skip = 0;
    return ML_OK;
}

/* Forget buffered samples (start of a new signal). */
static inline void ml_frames_f32_reset(ml_frames_f32_t *S)
{
    S->fill = 0;
    S->skip = 0;
}

/* Feed samples x[0..n). Copies samples into the frame buffer until a frame is complete.
 * Returns 1 when S->buffer holds a complete frame (valid until the next call), 0 when
 * all n samples were taken without completing one; *used = samples taken from x.
 * Call again with the rest (x + *used, n - *used) until n is used up. */
static inline int32_t ml_frames_f32_push(ml_frames_f32_t *S, const float *x, int32_t n,
                                         int32_t *used)
{
    int32_t taken = 0;
    if (S->fill == S->frame_length) { /* the previous call returned a frame: advance */
        const int32_t keep = S->frame_length - S->hop_length;
        if (keep > 0) {
            int32_t i;
            for (i = 0; i < keep; i++) {
                S->buffer[i] = S->buffer[i + S->hop_length];
            }
            S->fill = keep;
        } else {
            S->fill = 0;
            S->skip = -keep;
        }
    }
    if (S->skip > 0) {
        const int32_t d = S->skip < n ? S->skip : n;
        S->skip -= d;
        taken = d;
    }
    {
        const int32_t want = S->frame_length - S->fill;
        const int32_t avail = n - taken;
        const int32_t c = want < avail ? want : avail;
        int32_t i;
        float *dst = S->buffer + S->fill;
        for (i = 0; i < c; i++) {
            dst[i] = x[taken + i];
        }
        S->fill += c;
        taken += c;
    }
    *used = taken;
    return S->fill == S->frame_length ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------
 * mel filterbank (sparse) */

typedef struct ml_mel_f32 {
    int32_t n_mels;          /* filters */
    int32_t n_bins;          /* spectrum bins (n_fft / 2 + 1) */
    const uint16_t *start;   /* first bin of each filter */
    const uint16_t *length;  /* weights of each filter */
    const float *weights;    /* all filters' weights, filter after filter */
} ml_mel_f32_t;

/* Returns ML_OK, ML_ERR_NULL or ML_ERR_ARG (a filter reaches past n_bins). */
static inline int32_t ml_mel_f32_init(ml_mel_f32_t *S, int32_t n_mels, int32_t n_bins,
                                      const uint16_t *start, const uint16_t *length,
                                      const float *weights)
{
    int32_t j;
    if (S == NULL || start == NULL || length == NULL || weights == NULL) {
        return ML_ERR_NULL;
    }
    if (n_mels < 1 || n_bins < 1) {
        return ML_ERR_ARG;
    }
    for (j = 0; j < n_mels; j++) {
        if ((int32_t)start[j] + (int32_t)length[j] > n_bins) {
            return ML_ERR_ARG;
        }
    }
    S->n_mels = n_mels;
    S->n_bins = n_bins;
    S->start = start;
    S->length = length;
    S->weights = weights;
    return ML_OK;
}

/* out[j] = sum_t w[j][t] spectrum[start[j] + t], j < n_mels */
static inline void ml_mel_f32(const ml_mel_f32_t *S, const float *spectrum, float *out)
{
    const float *w = S->weights;
    int32_t j;
    for (j = 0; j < S->n_mels; j++) {
        const float *s = spectrum + S->start[j];
        const int32_t len = (int32_t)S->length[j];
        float acc = 0.0f;
        int32_t t;
        for (t = 0; t < len; t++) {
            acc += w[t] * s[t];
        }
        w += len;
        out[j] = acc;
    }
}

/* ---------------------------------------------------------------------------------------
 * decibels */

#define ML_DB_PER_LN 4.342944819f /* 10 / ln(10) */

/* out[i] = 10 log10(max(amin, x[i])) - 10 log10(max(amin, ref)), then, if top_db >= 0,
 * out[i] = max(out[i], max_i(out) - top_db) (librosa.power_to_db over these n values;
 * a NaN input gives a NaN output and is ignored by the maximum). amin > 0. out may be x.
 * Returns ML_OK or ML_ERR_ARG (n < 1, amin <= 0). */
static inline int32_t ml_power_to_db_f32(const float *x, int32_t n, float ref, float amin,
                                         float top_db, float *out)
{
    float off, hi;
    int32_t i;
    if (n < 1 || !(amin > 0.0f)) {
        return ML_ERR_ARG;
    }
    off = ML_DB_PER_LN * ml_logf(ref > amin ? ref : amin);
    hi = -3.4e38f;
    for (i = 0; i < n; i++) {
        const float v = x[i] <= amin ? amin : x[i]; /* NaN stays NaN */
        const float d = ML_DB_PER_LN * ml_logf(v) - off;
        out[i] = d;
        hi = d > hi ? d : hi;
    }
    if (top_db >= 0.0f) {
        const float lo = hi - top_db;
        for (i = 0; i < n; i++) {
            out[i] = out[i] < lo ? lo : out[i];
        }
    }
    return ML_OK;
}

/* ---------------------------------------------------------------------------------------
 * DCT-II (MFCC), liftering folded in */

typedef struct ml_dct2_f32 {
    int32_t n_in;   /* mel bands */
    int32_t n_out;  /* coefficients (n_mfcc) */
    float *matrix;  /* n_out * n_in (caller-owned, filled by init) */
} ml_dct2_f32_t;

/* y[k] = l[k] s[k] sum_i x[i] cos(pi k (2 i + 1) / (2 n_in)), k < n_out <= n_in, with
 * s[k] = sqrt(1/n_in) (k = 0), sqrt(2/n_in) (k > 0) if ortho, else 2 (scipy's DCT-II
 * norm=None), and l[k] = 1 + lifter/2 sin(pi (k + 1) / lifter) if lifter > 0, else 1
 * (librosa's liftering). matrix: n_out * n_in floats. Returns ML_OK, ML_ERR_NULL or
 * ML_ERR_ARG. */
static inline int32_t ml_dct2_f32_init(ml_dct2_f32_t *S, int32_t n_in, int32_t n_out,
                                       int32_t ortho, int32_t lifter, float *matrix)
{
    int32_t k, i;
    if (S == NULL || matrix == NULL) {
        return ML_ERR_NULL;
    }
    if (n_in < 1 || n_out < 1 || n_out > n_in || n_in > ((int32_t)1 << 20) || lifter < 0 ||
        lifter > ((int32_t)1 << 20)) {
        return ML_ERR_ARG;
    }
    S->n_in = n_in;
    S->n_out = n_out;
    S->matrix = matrix;
    for (k = 0; k < n_out; k++) {
        float scale = 2.0f;
        if (ortho) {
            scale = ml_sqrtf(ml_divf(k == 0 ? 1.0f : 2.0f, (float)n_in));
        }
        if (lifter > 0) {
            float s, c;
            ml_dsp_sincos2pi((uint32_t)(k + 1), 2u * (uint32_t)lifter, &s, &c);
            scale *= 1.0f + 0.5f * (float)lifter * s;
        }
        {   /* angle 2 pi k (2i + 1) / (4 n_in): numerator kept reduced (no overflow) */
            const uint32_t den = 4u * (uint32_t)n_in;
            const uint32_t step = (2u * (uint32_t)k) % den;
            uint32_t num = (uint32_t)k % den;
            for (i = 0; i < n_in; i++) {
                float s, c;
                ml_dsp_sincos2pi(num, den, &s, &c);
                matrix[k * n_in + i] = scale * c;
                num += step;
                num = num >= den ? num - den : num;
            }
        }
    }
    return ML_OK;
}

/* y = DCT(x): n_out values from n_in */
static inline void ml_dct2_f32(const ml_dct2_f32_t *S, const float *x, float *y)
{
    const float *row = S->matrix;
    int32_t k, i;
    for (k = 0; k < S->n_out; k++, row += S->n_in) {
        float acc = 0.0f;
        for (i = 0; i < S->n_in; i++) {
            acc += row[i] * x[i];
        }
        y[k] = acc;
    }
}

/* ---------------------------------------------------------------------------------------
 * one frame: mel spectrogram, MFCC */

typedef struct ml_melspec_f32 {
    const ml_rfft_f32_t *fft; /* n_fft = fft->n */
    const float *window;      /* n_fft floats, or NULL (rectangular) */
    const ml_mel_f32_t *mel;  /* n_bins = n_fft / 2 + 1 */
    int32_t power;            /* 2: power spectrum, 1: magnitude */
} ml_melspec_f32_t;

/* floats of scratch ml_melspec_f32 / ml_mfcc_f32 need for n_fft and n_mels */
#define ML_MELSPEC_SCRATCH(n_fft) (2 * (n_fft) + 2)
#define ML_MFCC_SCRATCH(n_fft, n_mels) (2 * (n_fft) + 2 + (n_mels))

/* Returns ML_OK, ML_ERR_NULL, ML_ERR_FFT_SIZE (fft not initialised) or ML_ERR_ARG
 * (mel->n_bins != n_fft / 2 + 1, power not 1 or 2). */
static inline int32_t ml_melspec_f32_init(ml_melspec_f32_t *S, const ml_rfft_f32_t *fft,
                                          const float *window, const ml_mel_f32_t *mel,
                                          int32_t power)
{
    if (S == NULL || fft == NULL || mel == NULL) {
        return ML_ERR_NULL;
    }
    if (fft->n < ML_RFFT_MIN_N) {
        return ML_ERR_FFT_SIZE;
    }
    if (mel->n_bins != fft->n / 2 + 1 || (power != 1 && power != 2)) {
        return ML_ERR_ARG;
    }
    S->fft = fft;
    S->window = window;
    S->mel = mel;
    S->power = power;
    return ML_OK;
}

/* Mel spectrum of one frame of n_fft samples (only read): out[n_mels].
 * scratch: ML_MELSPEC_SCRATCH(n_fft) floats. */
static inline void ml_melspec_f32(const ml_melspec_f32_t *S, const float *frame,
                                  float *scratch, float *out)
{
    const int32_t n = S->fft->n;
    float *xw = scratch;
    float *spec = scratch + n;
    if (S->window != NULL) {
        ml_window_apply_f32(frame, S->window, n, xw);
    } else {
        int32_t i;
        for (i = 0; i < n; i++) {
            xw[i] = frame[i];
        }
    }
    ml_rfft_f32(S->fft, xw, spec);
    if (S->power == 2) {
        ml_power_spectrum_f32(spec, n / 2 + 1, xw);
    } else {
        ml_magnitude_spectrum_f32(spec, n / 2 + 1, xw);
    }
    ml_mel_f32(S->mel, xw, out);
}

typedef struct ml_mfcc_f32 {
    ml_melspec_f32_t melspec;
    const ml_dct2_f32_t *dct; /* dct->n_in = n_mels */
    float amin;               /* power_to_db's amin (librosa: 1e-10) */
    float top_db;             /* per frame; < 0: none (librosa: 80 over the spectrogram) */
} ml_mfcc_f32_t;

/* Returns ML_OK, ML_ERR_NULL, ML_ERR_FFT_SIZE or ML_ERR_ARG. */
static inline int32_t ml_mfcc_f32_init(ml_mfcc_f32_t *S, const ml_rfft_f32_t *fft,
                                       const float *window, const ml_mel_f32_t *mel,
                                       int32_t power, const ml_dct2_f32_t *dct, float amin,
                                       float top_db)
{
    int32_t r;
    if (S == NULL || dct == NULL) {
        return ML_ERR_NULL;
    }
    r = ml_melspec_f32_init(&S->melspec, fft, window, mel, power);
    if (r != ML_OK) {
        return r;
    }
    if (dct->n_in != mel->n_mels || !(amin > 0.0f)) {
        return ML_ERR_ARG;
    }
    S->dct = dct;
    S->amin = amin;
    S->top_db = top_db;
    return ML_OK;
}

/* MFCC of one frame of n_fft samples (only read): out[n_mfcc].
 * scratch: ML_MFCC_SCRATCH(n_fft, n_mels) floats. */
static inline void ml_mfcc_f32(const ml_mfcc_f32_t *S, const float *frame, float *scratch,
                               float *out)
{
    const int32_t n = S->melspec.fft->n;
    float *mel = scratch + 2 * n + 2;
    const int32_t n_mels = S->melspec.mel->n_mels;
    ml_melspec_f32(&S->melspec, frame, scratch, mel);
    (void)ml_power_to_db_f32(mel, n_mels, 1.0f, S->amin, S->top_db, mel);
    ml_dct2_f32(S->dct, mel, out);
}

#endif /* ML_MEL_H */
