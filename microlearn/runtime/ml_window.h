/* ml_window.h - microlearn C runtime: analysis windows (Hann, Hamming, Blackman).
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h.
 * Host twin: microlearn.dsp.get_window(name, n, fftbins=True).
 *
 *     float win[512];
 *     ml_window_f32(ML_WINDOW_HANN, 512, 1, win);   // periodic (fftbins=True)
 *
 * w[k] = a0 - a1 cos(2 pi k / M) + a2 cos(4 pi k / M), k = 0 .. n-1, with M = n
 * (periodic, for spectral analysis; scipy.signal.get_window(..., fftbins=True)) or
 * M = n - 1 (symmetric, fftbins=False); n = 1 gives [1]. Coefficients as scipy's:
 *   hann     a0 = 0.5,  a1 = 0.5
 *   hamming  a0 = 0.54, a1 = 0.46
 *   blackman a0 = 0.42, a1 = 0.5, a2 = 0.08
 *   boxcar   all ones
 * The cosines come from ml_dsp_sincos2pi (float32, no libm): the values equal scipy's
 * float64 windows rounded to float32 within 2e-7 (absolute), the same bits everywhere.
 * The window is computed once (at start-up) into a caller buffer of n floats.
 */
#ifndef ML_WINDOW_H
#define ML_WINDOW_H

#include "ml_fft.h"

#define ML_WINDOW_BOXCAR 0
#define ML_WINDOW_HANN 1
#define ML_WINDOW_HAMMING 2
#define ML_WINDOW_BLACKMAN 3

/* Fill out[0..n-1] with the window `type` (ML_WINDOW_*), periodic (1) or symmetric (0).
 * Returns ML_OK, ML_ERR_NULL, or ML_ERR_ARG (unknown type, n < 1 or n > 2^24). */
static inline int32_t ml_window_f32(int32_t type, int32_t n, int32_t periodic, float *out)
{
    float a0, a1, a2;
    uint32_t m, k;
    if (out == NULL) {
        return ML_ERR_NULL;
    }
    if (n < 1 || n > ((int32_t)1 << 24)) {
        return ML_ERR_ARG;
    }
    switch (type) {
    case ML_WINDOW_BOXCAR: a0 = 1.0f; a1 = 0.0f; a2 = 0.0f; break;
    case ML_WINDOW_HANN: a0 = 0.5f; a1 = 0.5f; a2 = 0.0f; break;
    case ML_WINDOW_HAMMING: a0 = 0.54f; a1 = 0.46f; a2 = 0.0f; break;
    case ML_WINDOW_BLACKMAN: a0 = 0.42f; a1 = 0.5f; a2 = 0.08f; break;
    default: return ML_ERR_ARG;
    }
    if (n == 1) {
        out[0] = 1.0f;
        return ML_OK;
    }
    m = (uint32_t)(periodic ? n : n - 1);
    for (k = 0; k < (uint32_t)n; k++) {
        float s, c1, c2;
        if (type == ML_WINDOW_BOXCAR) {
            out[k] = 1.0f;
            continue;
        }
        ml_dsp_sincos2pi(k, m, &s, &c1);
        ml_dsp_sincos2pi(2u * k, m, &s, &c2);
        out[k] = (a0 - a1 * c1) + a2 * c2;
    }
    return ML_OK;
}

/* out[k] = x[k] * w[k], k < n (out may be x) */
static inline void ml_window_apply_f32(const float *x, const float *w, int32_t n, float *out)
{
    int32_t k;
    for (k = 0; k < n; k++) {
        out[k] = x[k] * w[k];
    }
}

#endif /* ML_WINDOW_H */
