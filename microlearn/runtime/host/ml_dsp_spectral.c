/* ml_dsp_spectral.c - host entry points of the spectral DSP headers (ml_fft.h,
 * ml_window.h, ml_mel.h) for microlearn.dsp (ctypes), compiled by
 * microlearn.host_build.load_c_source with the strict host flags.
 *
 * Every function loops over rows/frames in C and calls the runtime headers exactly as a
 * firmware would, so Python gets the device's bits. Plain C99 (no host-only code): the
 * tests also compile this file into a Cortex-M firmware and compare the bits.
 * Return values: >= 0 success (a count where stated), < 0 a runtime error code.
 */
#ifndef ML_RFFT_MAX_N
#define ML_RFFT_MAX_N 4096
#endif
#include "../ml_fft.h"
#include "../ml_mel.h"
#include "../ml_window.h"

#define MLDS_API

MLDS_API int32_t mlds_window(int32_t type, int32_t n, int32_t periodic, float *out);
MLDS_API int32_t mlds_rfft(const float *x, int32_t rows, int32_t n, float *out);
MLDS_API int32_t mlds_rfft_q15(const int16_t *x, int32_t rows, int32_t n, int16_t *out);
MLDS_API int32_t mlds_spectrum(const float *X, int32_t n_bins, int32_t kind, float *out);
MLDS_API int32_t mlds_spectrum_q15(const int16_t *X, int32_t n_bins, uint32_t *power,
                                   uint16_t *magnitude);
MLDS_API int32_t mlds_frames(const float *x, int32_t len, int32_t frame_length, int32_t hop,
                             const int32_t *blocks, int32_t n_blocks, float *out,
                             int32_t max_frames);
MLDS_API int32_t mlds_melspec(const float *x, int32_t n_frames, int32_t hop, int32_t n_fft,
                              const float *window, int32_t n_mels, const uint16_t *start,
                              const uint16_t *length, const float *weights, int32_t power,
                              float *scratch, float *out);
MLDS_API int32_t mlds_mel(const float *spec, int32_t rows, int32_t n_bins, int32_t n_mels,
                          const uint16_t *start, const uint16_t *length,
                          const float *weights, float *out);
MLDS_API int32_t mlds_power_to_db(const float *x, int32_t n, float ref, float amin,
                                  float top_db, float *out);
MLDS_API int32_t mlds_dct(const float *x, int32_t rows, int32_t n_in, int32_t n_out,
                          int32_t ortho, int32_t lifter, float *matrix, float *out);
MLDS_API int32_t mlds_mfcc(const float *x, int32_t n_frames, int32_t hop, int32_t n_fft,
                           const float *window, int32_t n_mels, const uint16_t *start,
                           const uint16_t *length, const float *weights, int32_t power,
                           int32_t n_mfcc, int32_t ortho, int32_t lifter, float amin,
                           float top_db, float *scratch, float *out);

int32_t mlds_window(int32_t type, int32_t n, int32_t periodic, float *out)
{
    return ml_window_f32(type, n, periodic, out);
}

int32_t mlds_rfft(const float *x, int32_t rows, int32_t n, float *out)
{
    ml_rfft_f32_t S;
    int32_t r = ml_rfft_f32_init(&S, n);
    int32_t i;
    if (r != ML_OK) {
        return r;
    }
    for (i = 0; i < rows; i++) {
        ml_rfft_f32(&S, (float *)(x + (size_t)i * (size_t)n), out + (size_t)i * (size_t)(n + 2));
    }
    return ML_OK;
}

int32_t mlds_rfft_q15(const int16_t *x, int32_t rows, int32_t n, int16_t *out)
{
    ml_rfft_q15_t S;
    int32_t r = ml_rfft_q15_init(&S, n);
    int32_t i;
    if (r != ML_OK) {
        return r;
    }
    for (i = 0; i < rows; i++) {
        ml_rfft_q15(&S, (int16_t *)(x + (size_t)i * (size_t)n),
                    out + (size_t)i * (size_t)(n + 2));
    }
    return ML_OK;
}

/* kind 2: power, 1: magnitude */
int32_t mlds_spectrum(const float *X, int32_t n_bins, int32_t kind, float *out)
{
    if (kind == 2) {
        ml_power_spectrum_f32(X, n_bins, out);
    } else if (kind == 1) {
        ml_magnitude_spectrum_f32(X, n_bins, out);
    } else {
        return ML_ERR_ARG;
    }
    return ML_OK;
}

int32_t mlds_spectrum_q15(const int16_t *X, int32_t n_bins, uint32_t *power,
                          uint16_t *magnitude)
{
    ml_power_spectrum_q15(X, n_bins, power);
    ml_magnitude_spectrum_q15(X, n_bins, magnitude);
    return ML_OK;
}

/* Stream x through ml_frames_f32 in blocks of sizes blocks[0], blocks[1], ... (cycled);
 * frames are written to out (max_frames * frame_length floats); returns the number of
 * frames (or an error). */
int32_t mlds_frames(const float *x, int32_t len, int32_t frame_length, int32_t hop,
                    const int32_t *blocks, int32_t n_blocks, float *out, int32_t max_frames)
{
    ml_frames_f32_t fr;
    float buf[8192];
    int32_t pos = 0, b = 0, count = 0;
    int32_t r;
    if (frame_length > 8192 || n_blocks < 1) {
        return ML_ERR_ARG;
    }
    r = ml_frames_f32_init(&fr, frame_length, hop, buf);
    if (r != ML_OK) {
        return r;
    }
    while (pos < len) {
        int32_t n = blocks[b % n_blocks];
        b++;
        if (n > len - pos) {
            n = len - pos;
        }
        while (n > 0) {
            int32_t used = 0;
            if (ml_frames_f32_push(&fr, x + pos, n, &used) == 1) {
                int32_t i;
                if (count >= max_frames) {
                    return ML_ERR_ARG;
                }
                for (i = 0; i < frame_length; i++) {
                    out[(size_t)count * (size_t)frame_length + (size_t)i] = fr.buffer[i];
                }
                count++;
            }
            pos += used;
            n -= used;
        }
    }
    return count;
}

/* mel spectrogram of n_frames frames x[f hop : f hop + n_fft]: out (n_frames * n_mels);
 * scratch: ML_MELSPEC_SCRATCH(n_fft) floats */
int32_t mlds_melspec(const float *x, int32_t n_frames, int32_t hop, int32_t n_fft,
                     const float *window, int32_t n_mels, const uint16_t *start,
                     const uint16_t *length, const float *weights, int32_t power,
                     float *scratch, float *out)
{
    ml_rfft_f32_t fft;
    ml_mel_f32_t mel;
    ml_melspec_f32_t ms;
    int32_t r, f;
    r = ml_rfft_f32_init(&fft, n_fft);
    if (r != ML_OK) {
        return r;
    }
    r = ml_mel_f32_init(&mel, n_mels, n_fft / 2 + 1, start, length, weights);
    if (r != ML_OK) {
        return r;
    }
    r = ml_melspec_f32_init(&ms, &fft, window, &mel, power);
    if (r != ML_OK) {
        return r;
    }
    for (f = 0; f < n_frames; f++) {
        ml_melspec_f32(&ms, x + (size_t)f * (size_t)hop, scratch,
                       out + (size_t)f * (size_t)n_mels);
    }
    return ML_OK;
}

int32_t mlds_mel(const float *spec, int32_t rows, int32_t n_bins, int32_t n_mels,
                 const uint16_t *start, const uint16_t *length, const float *weights,
                 float *out)
{
    ml_mel_f32_t mel;
    int32_t r = ml_mel_f32_init(&mel, n_mels, n_bins, start, length, weights);
    int32_t i;
    if (r != ML_OK) {
        return r;
    }
    for (i = 0; i < rows; i++) {
        ml_mel_f32(&mel, spec + (size_t)i * (size_t)n_bins, out + (size_t)i * (size_t)n_mels);
    }
    return ML_OK;
}

int32_t mlds_power_to_db(const float *x, int32_t n, float ref, float amin, float top_db,
                         float *out)
{
    return ml_power_to_db_f32(x, n, ref, amin, top_db, out);
}

/* DCT-II of rows of n_in values; matrix: n_out * n_in floats of scratch */
int32_t mlds_dct(const float *x, int32_t rows, int32_t n_in, int32_t n_out, int32_t ortho,
                 int32_t lifter, float *matrix, float *out)
{
    ml_dct2_f32_t dct;
    int32_t r = ml_dct2_f32_init(&dct, n_in, n_out, ortho, lifter, matrix);
    int32_t i;
    if (r != ML_OK) {
        return r;
    }
    for (i = 0; i < rows; i++) {
        ml_dct2_f32(&dct, x + (size_t)i * (size_t)n_in, out + (size_t)i * (size_t)n_out);
    }
    return ML_OK;
}

/* MFCC frame by frame (ml_mfcc_f32: top_db per frame); scratch:
 * ML_MFCC_SCRATCH(n_fft, n_mels) + n_mfcc * n_mels floats */
int32_t mlds_mfcc(const float *x, int32_t n_frames, int32_t hop, int32_t n_fft,
                  const float *window, int32_t n_mels, const uint16_t *start,
                  const uint16_t *length, const float *weights, int32_t power,
                  int32_t n_mfcc, int32_t ortho, int32_t lifter, float amin, float top_db,
                  float *scratch, float *out)
{
    ml_rfft_f32_t fft;
    ml_mel_f32_t mel;
    ml_dct2_f32_t dct;
    ml_mfcc_f32_t mf;
    float *matrix = scratch + ML_MFCC_SCRATCH(n_fft, n_mels);
    int32_t r, f;
    r = ml_rfft_f32_init(&fft, n_fft);
    if (r == ML_OK) {
        r = ml_mel_f32_init(&mel, n_mels, n_fft / 2 + 1, start, length, weights);
    }
    if (r == ML_OK) {
        r = ml_dct2_f32_init(&dct, n_mels, n_mfcc, ortho, lifter, matrix);
    }
    if (r == ML_OK) {
        r = ml_mfcc_f32_init(&mf, &fft, window, &mel, power, &dct, amin, top_db);
    }
    if (r != ML_OK) {
        return r;
    }
    for (f = 0; f < n_frames; f++) {
        ml_mfcc_f32(&mf, x + (size_t)f * (size_t)hop, scratch,
                    out + (size_t)f * (size_t)n_mfcc);
    }
    return ML_OK;
}
