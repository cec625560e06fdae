/* ml_dsp_time.c - host entry points of microlearn.dsp's time-domain functions.
 *
 * Compiled on the host only (microlearn.host_build.load_c_source, the strict flags) and
 * called by microlearn/dsp/{filters,level,features,post}.py through ctypes: the same
 * runtime headers that go to the device (ml_filter.h, ml_level.h, ml_features.h,
 * ml_post.h), so features computed at training time are the device's bits. Every entry
 * point loops over rows (signals) in C and returns 0 or the first negative error code.
 * State arrays are read and written so Python can process a signal block by block.
 */
#include <string.h>

#define ML_RFFT_MAX_N 4096 /* the largest window the host accepts */

#include "../ml_features.h"
#include "../ml_filter.h"
#include "../ml_level.h"
#include "../ml_post.h"

#if defined(__GNUC__)
#define MLH_EXPORT __attribute__((visibility("default")))
#else
#define MLH_EXPORT
#endif

MLH_EXPORT int32_t mlh_sosfilt(const float *coeffs, int32_t n_stages, const float *x,
                               int64_t n_rows, int32_t n, float *y, float *state);
MLH_EXPORT int32_t mlh_fir(const float *taps, int32_t n_taps, const float *x, int64_t n_rows,
                           int32_t n, float *y, float *hist, float *scratch);
MLH_EXPORT int32_t mlh_decimate(const float *taps, int32_t n_taps, int32_t q, const float *x,
                                int64_t n_rows, int32_t n, float *y, int32_t n_y,
                                float *hist, int32_t *phase, float *scratch);
MLH_EXPORT int32_t mlh_time_weight(const float *x, int64_t n_rows, int32_t n, float fs,
                                   float tau, float *ms, float *out);
MLH_EXPORT int32_t mlh_sound_level(const float *coeffs, int32_t n_stages, float *bq_state,
                                   float fs, float tau, float ref, float *ms, const float *x,
                                   int64_t n_rows, int32_t n, float *out);
MLH_EXPORT int32_t mlh_leq(const float *x, int64_t n_rows, int32_t n, int32_t period,
                           float ref_ms, float *out);
MLH_EXPORT int32_t mlh_leq_blocks(const float *x, const int32_t *sizes, int32_t n_blocks,
                                  float ref_ms, float *out);
MLH_EXPORT int32_t mlh_dbfs(const float *x, int64_t n_rows, int32_t n, float full_scale,
                            float *out);
MLH_EXPORT int32_t mlh_level_db(const float *ms, int64_t n, float ref_ms, float *out);
MLH_EXPORT int32_t mlh_features(const float *x, int64_t n_rows, int32_t n, const int32_t *ids,
                                int32_t n_ids, float *out);
MLH_EXPORT int32_t mlh_spectral(const float *x, int64_t n_rows, int32_t n, float fs,
                                const float *edges, int32_t n_bands, float *bands,
                                float *dominant, float *scratch);
MLH_EXPORT int32_t mlh_atan2(const float *y, const float *x, int64_t n, float *out);
MLH_EXPORT int32_t mlh_magnitude(const float *x, const float *y, const float *z, int64_t n,
                                 float *out);
MLH_EXPORT int32_t mlh_pitch_roll(const float *ax, const float *ay, const float *az, int64_t n,
                                  float *pitch, float *roll);
MLH_EXPORT int32_t mlh_median(const float *x, int64_t n, int32_t size, float *ring,
                              float *sorted, float *out);
MLH_EXPORT int32_t mlh_moving_average(const float *x, int64_t n, int32_t size, float *ring,
                                      float *out);
MLH_EXPORT int32_t mlh_exp_smooth(const float *x, int64_t n, float alpha, float *out);
MLH_EXPORT int32_t mlh_hysteresis(const float *x, int64_t n, float low, float high,
                                  int32_t initial, int32_t *out);
MLH_EXPORT int32_t mlh_events(const int32_t *active, int64_t n, int32_t min_duration,
                              int32_t min_gap, int32_t *events, int64_t *n_events);
MLH_EXPORT int32_t mlh_majority(const int32_t *labels, int64_t n, int32_t size,
                                int32_t n_classes, int32_t *ring, int32_t *counts,
                                int32_t *out);

/* state: [n_rows][n_stages][2], read and written */
int32_t mlh_sosfilt(const float *coeffs, int32_t n_stages, const float *x, int64_t n_rows,
                    int32_t n, float *y, float *state)
{
    for (int64_t r = 0; r < n_rows; r++) {
        float *st = state + r * 2 * n_stages;
        float saved[2 * 64];
        ml_biquad_f32_t f;
        if (n_stages > 64) {
            return ML_ERR_ARG;
        }
        memcpy(saved, st, sizeof(float) * (size_t)(2 * (n_stages > 0 ? n_stages : 0)));
        int32_t e = ml_biquad_f32_init(&f, n_stages, coeffs, st);
        if (e != ML_OK) {
            return e;
        }
        memcpy(st, saved, sizeof(float) * (size_t)(2 * n_stages));
        e = ml_biquad_f32(&f, x + r * n, y + r * n, n);
        if (e != ML_OK) {
            return e;
        }
    }
    return ML_OK;
}

/* hist: [n_rows][n_taps - 1] input history, oldest first, read and written;
 * scratch: [2 * n_taps] */
int32_t mlh_fir(const float *taps, int32_t n_taps, const float *x, int64_t n_rows, int32_t n,
                float *y, float *hist, float *scratch)
{
    for (int64_t r = 0; r < n_rows; r++) {
        ml_fir_f32_t f;
        int32_t e = ml_fir_f32_init(&f, n_taps, taps, scratch);
        if (e == ML_OK) {
            e = ml_fir_f32_set_history(&f, hist + r * (n_taps - 1));
        }
        if (e == ML_OK) {
            e = ml_fir_f32(&f, x + r * n, y + r * n, n);
        }
        if (e == ML_OK) {
            e = ml_fir_f32_get_history(&f, hist + r * (n_taps - 1));
        }
        if (e != ML_OK) {
            return e;
        }
    }
    return ML_OK;
}

/* y: [n_rows][n_y], n_y = the outputs of the first row (all rows share the phase);
 * hist: [n_rows][n_taps - 1]; phase: [n_rows]; scratch: [2 * n_taps] */
int32_t mlh_decimate(const float *taps, int32_t n_taps, int32_t q, const float *x,
                     int64_t n_rows, int32_t n, float *y, int32_t n_y, float *hist,
                     int32_t *phase, float *scratch)
{
    for (int64_t r = 0; r < n_rows; r++) {
        ml_decimate_f32_t d;
        int32_t k = 0;
        int32_t e = ml_decimate_f32_init(&d, q, n_taps, taps, scratch);
        if (e == ML_OK) {
            e = ml_fir_f32_set_history(&d.fir, hist + r * (n_taps - 1));
        }
        if (e == ML_OK) {
            if (phase[r] < 0 || phase[r] >= q) {
                return ML_ERR_ARG;
            }
            d.phase = phase[r];
            if (ml_decimate_f32_n_out(&d, n) != n_y) {
                return ML_ERR_N_OUT;
            }
            e = ml_decimate_f32(&d, x + r * n, n, y + r * n_y, &k);
        }
        if (e == ML_OK) {
            e = ml_fir_f32_get_history(&d.fir, hist + r * (n_taps - 1));
            phase[r] = d.phase;
        }
        if (e != ML_OK) {
            return e;
        }
    }
    return ML_OK;
}

/* ms: [n_rows] time-weighted mean square carried between calls */
int32_t mlh_time_weight(const float *x, int64_t n_rows, int32_t n, float fs, float tau,
                        float *ms, float *out)
{
    for (int64_t r = 0; r < n_rows; r++) {
        ml_time_weight_f32_t t;
        int32_t e = ml_time_weight_f32_init(&t, fs, tau);
        if (e != ML_OK) {
            return e;
        }
        t.ms = ms[r];
        e = ml_time_weight_f32(&t, x + r * n, out + r * n, n);
        if (e != ML_OK) {
            return e;
        }
        ms[r] = t.ms;
    }
    return ML_OK;
}

/* bq_state: [n_rows][n_stages][2]; ms: [n_rows] */
int32_t mlh_sound_level(const float *coeffs, int32_t n_stages, float *bq_state, float fs,
                        float tau, float ref, float *ms, const float *x, int64_t n_rows,
                        int32_t n, float *out)
{
    for (int64_t r = 0; r < n_rows; r++) {
        ml_sound_level_f32_t m;
        float *st = n_stages > 0 ? bq_state + r * 2 * n_stages : NULL;
        float saved[2 * 64];
        if (n_stages > 64) {
            return ML_ERR_ARG;
        }
        if (n_stages > 0) {
            memcpy(saved, st, sizeof(float) * (size_t)(2 * n_stages));
        }
        int32_t e = ml_sound_level_f32_init(&m, n_stages, coeffs, st, fs, tau, ref);
        if (e != ML_OK) {
            return e;
        }
        if (n_stages > 0) {
            memcpy(st, saved, sizeof(float) * (size_t)(2 * n_stages));
        }
        m.tw.ms = ms[r];
        e = ml_sound_level_f32(&m, x + r * n, out + r * n, n);
        if (e != ML_OK) {
            return e;
        }
        ms[r] = m.tw.ms;
    }
    return ML_OK;
}

/* out: [n_rows][n / period] Leq of each whole period of each row */
int32_t mlh_leq(const float *x, int64_t n_rows, int32_t n, int32_t period, float ref_ms,
                float *out)
{
    if (period < 1 || !(ref_ms > 0.0f)) {
        return ML_ERR_ARG;
    }
    const int32_t n_per = n / period;
    for (int64_t r = 0; r < n_rows; r++) {
        for (int32_t p = 0; p < n_per; p++) {
            ml_leq_f32_t q;
            ml_leq_f32_reset(&q);
            const int32_t e = ml_leq_f32_update(&q, x + r * n + p * period, period);
            if (e != ML_OK) {
                return e;
            }
            out[r * n_per + p] = ml_leq_f32_db(&q, ref_ms);
        }
    }
    return ML_OK;
}

/* Leq of x fed in blocks of the given sizes (streaming check) */
int32_t mlh_leq_blocks(const float *x, const int32_t *sizes, int32_t n_blocks, float ref_ms,
                       float *out)
{
    ml_leq_f32_t q;
    ml_leq_f32_reset(&q);
    for (int32_t b = 0; b < n_blocks; b++) {
        const int32_t e = ml_leq_f32_update(&q, x, sizes[b]);
        if (e != ML_OK) {
            return e;
        }
        x += sizes[b];
    }
    *out = ml_leq_f32_db(&q, ref_ms);
    return ML_OK;
}

int32_t mlh_dbfs(const float *x, int64_t n_rows, int32_t n, float full_scale, float *out)
{
    if (!(full_scale > 0.0f)) {
        return ML_ERR_ARG;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        out[r] = ml_level_dbfs(x + r * n, n, full_scale);
    }
    return ML_OK;
}

int32_t mlh_level_db(const float *ms, int64_t n, float ref_ms, float *out)
{
    if (!(ref_ms > 0.0f)) {
        return ML_ERR_ARG;
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_level_db(ms[i], ref_ms);
    }
    return ML_OK;
}

int32_t mlh_features(const float *x, int64_t n_rows, int32_t n, const int32_t *ids,
                     int32_t n_ids, float *out)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const int32_t e = ml_features_f32(x + r * n, n, ids, n_ids, out + r * n_ids);
        if (e != ML_OK) {
            return e;
        }
    }
    return ML_OK;
}

/* bands: [n_rows][n_bands]; dominant: [n_rows]; scratch: [n + 2] */
int32_t mlh_spectral(const float *x, int64_t n_rows, int32_t n, float fs, const float *edges,
                     int32_t n_bands, float *bands, float *dominant, float *scratch)
{
    ml_rfft_f32_t fft; /* 20 KB of twiddles: host stack only */
    int32_t e = ml_rfft_f32_init(&fft, n);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        e = ml_spectral_features_f32(&fft, x + r * n, fs, edges, n_bands,
                                     n_bands > 0 ? bands + r * n_bands : NULL, dominant + r,
                                     scratch);
        if (e != ML_OK) {
            return e;
        }
    }
    return ML_OK;
}

int32_t mlh_atan2(const float *y, const float *x, int64_t n, float *out)
{
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_atan2f(y[i], x[i]);
    }
    return ML_OK;
}

int32_t mlh_magnitude(const float *x, const float *y, const float *z, int64_t n, float *out)
{
    if (n > INT32_MAX) {
        return ML_ERR_ARG;
    }
    return ml_vector_magnitude_f32(x, y, z, out, (int32_t)n);
}

int32_t mlh_pitch_roll(const float *ax, const float *ay, const float *az, int64_t n,
                       float *pitch, float *roll)
{
    for (int64_t i = 0; i < n; i++) {
        ml_pitch_roll_f32(ax[i], ay[i], az[i], pitch + i, roll + i);
    }
    return ML_OK;
}

int32_t mlh_median(const float *x, int64_t n, int32_t size, float *ring, float *sorted,
                   float *out)
{
    ml_median_f32_t m;
    const int32_t e = ml_median_f32_init(&m, size, ring, sorted);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_median_f32_update(&m, x[i]);
    }
    return ML_OK;
}

int32_t mlh_moving_average(const float *x, int64_t n, int32_t size, float *ring, float *out)
{
    ml_moving_average_f32_t m;
    const int32_t e = ml_moving_average_f32_init(&m, size, ring);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_moving_average_f32_update(&m, x[i]);
    }
    return ML_OK;
}

int32_t mlh_exp_smooth(const float *x, int64_t n, float alpha, float *out)
{
    ml_exp_smooth_f32_t m;
    const int32_t e = ml_exp_smooth_f32_init(&m, alpha);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_exp_smooth_f32_update(&m, x[i]);
    }
    return ML_OK;
}

int32_t mlh_hysteresis(const float *x, int64_t n, float low, float high, int32_t initial,
                       int32_t *out)
{
    ml_hysteresis_f32_t h;
    const int32_t e = ml_hysteresis_f32_init(&h, low, high, initial);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = ml_hysteresis_f32_update(&h, x[i]);
    }
    return ML_OK;
}

/* events: [n][2] (onset, offset) pairs; an event still open at the end is closed at one
 * past its last active step. */
int32_t mlh_events(const int32_t *active, int64_t n, int32_t min_duration, int32_t min_gap,
                   int32_t *events, int64_t *n_events)
{
    ml_events_t ev;
    const int32_t e = ml_events_init(&ev, min_duration, min_gap);
    if (e != ML_OK) {
        return e;
    }
    if (n > INT32_MAX) {
        return ML_ERR_ARG;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        const int32_t r = ml_events_update(&ev, active[i]);
        if (r == ML_EVENT_ONSET) {
            events[2 * k] = ev.onset;
        } else if (r == ML_EVENT_OFFSET) {
            events[2 * k + 1] = ev.offset;
            k++;
        }
    }
    if (ev.phase == 2) {
        events[2 * k + 1] = ev.last_active + 1;
        k++;
    }
    *n_events = k;
    return ML_OK;
}

int32_t mlh_majority(const int32_t *labels, int64_t n, int32_t size, int32_t n_classes,
                     int32_t *ring, int32_t *counts, int32_t *out)
{
    ml_majority_i32_t m;
    const int32_t e = ml_majority_i32_init(&m, size, n_classes, ring, counts);
    if (e != ML_OK) {
        return e;
    }
    for (int64_t i = 0; i < n; i++) {
        const int32_t r = ml_majority_i32_update(&m, labels[i]);
        if (r < 0) {
            return r;
        }
        out[i] = r;
    }
    return ML_OK;
}
