/* ml_post.h - microlearn C runtime: post-processing of model outputs (smoothing,
 * thresholds with hysteresis, event detection, majority vote), streaming.
 *
 * Part of the microlearn header-only C99 runtime (MIT licence); see ml_common.h for the
 * rules every runtime header follows. Each filter is a struct over caller-owned ring
 * buffers, filled by `*_init` and fed one model output at a time by `*_update`, which
 * returns the filtered value. Nothing is allocated; no libm.
 *
 *   ml_median_f32        median of the last `size` outputs (fewer at the start: of all
 *                        seen so far); an even count gives (a + b) * 0.5 of the two
 *                        middle values (np.median; a * 0.5 + b * 0.5 when |a| or |b| >=
 *                        1e38, so it cannot overflow). Buffers: ring[size], sorted[size].
 *                        A NaN in the window gives NaN (np.median), until it leaves.
 *   ml_moving_average_f32  mean of the last `size` outputs (fewer at the start), the sum
 *                        recomputed oldest first on every update (no drift). ring[size].
 *                        NaN propagates while in the window.
 *   ml_exp_smooth_f32    y = x for the first value, then y += alpha (x - y), 0 < alpha
 *                        <= 1. A NaN input is skipped (y unchanged; NaN before the first
 *                        valid value).
 *   ml_hysteresis_f32    state 1 when x >= high, 0 when x <= low, else unchanged
 *                        (low <= high); NaN leaves the state unchanged.
 *   ml_events            onset / offset detection on an active (0/1) stream: an event
 *                        starts when the input has been active for min_duration
 *                        consecutive steps (onset index: the first of them) and ends when
 *                        it has been inactive for min_gap consecutive steps (offset index:
 *                        one past the last active step); shorter gaps are bridged, shorter
 *                        runs ignored. Step indices count from 0 at init (int32: re-init
 *                        before 2^31 steps).
 *   ml_majority_i32      the most frequent class among the last `size` labels (fewer at
 *                        the start); ties go to the smallest class index (scipy.stats.mode,
 *                        np.bincount(...).argmax()). Buffers: ring[size], counts[n_classes].
 */
#ifndef ML_POST_H
#define ML_POST_H

#include "ml_common.h"
#include "ml_math.h"


/* ---------------------------------------------------------------------------------- */
/* running median */

typedef struct ml_median_f32 {
    int32_t size;    /* window length, >= 1 */
    int32_t count;   /* values in the window (<= size) */
    int32_t pos;     /* ring index of the oldest value when full, else of the next slot */
    int32_t n_nan;   /* NaNs in the window */
    int32_t n_sorted;
    float *ring;     /* [size] the window in arrival order */
    float *sorted;   /* [size] the window's non-NaN values, ascending */
} ml_median_f32_t;

static inline int32_t ml_median_f32_init(ml_median_f32_t *m, int32_t size, float *ring,
                                         float *sorted)
{
    if (m == NULL || ring == NULL || sorted == NULL) {
        return ML_ERR_NULL;
    }
    if (size < 1) {
        return ML_ERR_ARG;
    }
    m->size = size;
    m->count = m->pos = m->n_nan = m->n_sorted = 0;
    m->ring = ring;
    m->sorted = sorted;
    return ML_OK;
}

/* Add x; return the median of the window. */
static inline float ml_median_f32_update(ml_median_f32_t *m, float x)
{
    float *srt = m->sorted;
    if (m->count == m->size) { /* drop the oldest */
        const float old = m->ring[m->pos];
        if (old != old) {
            m->n_nan--;
        } else {
            int32_t i = 0;
            while (i < m->n_sorted - 1 && srt[i] != old) {
                i++;
            }
            for (; i < m->n_sorted - 1; i++) {
                srt[i] = srt[i + 1];
            }
            m->n_sorted--;
        }
        m->count--;
    }
    m->ring[m->pos] = x;
    m->pos = m->pos + 1 == m->size ? 0 : m->pos + 1;
    m->count++;
    if (x != x) {
        m->n_nan++;
    } else {
        int32_t i = m->n_sorted;
        while (i > 0 && srt[i - 1] > x) {
            srt[i] = srt[i - 1];
            i--;
        }
        srt[i] = x;
        m->n_sorted++;
    }
    if (m->n_nan > 0) {
        return ml_f32_from_bits(ML_MATH_QNAN_BITS);
    }
    const int32_t h = m->n_sorted / 2;
    if (m->n_sorted & 1) {
        return srt[h];
    }
    const float a = srt[h - 1], b = srt[h];
    if (ml_fabsf(a) < 1.0e38f && ml_fabsf(b) < 1.0e38f) {
        return (a + b) * 0.5f;
    }
    return a * 0.5f + b * 0.5f; /* no overflow near FLT_MAX */
}

/* ---------------------------------------------------------------------------------- */
/* moving average */

typedef struct ml_moving_average_f32 {
    int32_t size;  /* window length, >= 1 */
    int32_t count; /* values in the window */
    int32_t pos;   /* next slot of the ring */
    float *ring;   /* [size] */
} ml_moving_average_f32_t;

static inline int32_t ml_moving_average_f32_init(ml_moving_average_f32_t *m, int32_t size,
                                                 float *ring)
{
    if (m == NULL || ring == NULL) {
        return ML_ERR_NULL;
    }
    if (size < 1) {
        return ML_ERR_ARG;
    }
    m->size = size;
    m->count = m->pos = 0;
    m->ring = ring;
    return ML_OK;
}

/* Add x; return the mean of the window (float32 sum, oldest first, then / count). */
static inline float ml_moving_average_f32_update(ml_moving_average_f32_t *m, float x)
{
    m->ring[m->pos] = x;
    m->pos = m->pos + 1 == m->size ? 0 : m->pos + 1;
    if (m->count < m->size) {
        m->count++;
    }
    int32_t i = m->count == m->size ? m->pos : 0; /* the oldest */
    float sum = 0.0f;
    for (int32_t k = 0; k < m->count; k++) {
        sum += m->ring[i];
        i = i + 1 == m->size ? 0 : i + 1;
    }
    return ml_divf(sum, (float)m->count);
}

/* ---------------------------------------------------------------------------------- */
/* exponential smoothing */

typedef struct ml_exp_smooth_f32 {
    float alpha; /* (0, 1] */
    float y;     /* current value (NaN before the first valid input) */
} ml_exp_smooth_f32_t;

static inline int32_t ml_exp_smooth_f32_init(ml_exp_smooth_f32_t *m, float alpha)
{
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    if (!(alpha > 0.0f && alpha <= 1.0f)) {
        return ML_ERR_ARG;
    }
    m->alpha = alpha;
    m->y = ml_f32_from_bits(ML_MATH_QNAN_BITS);
    return ML_OK;
}

static inline float ml_exp_smooth_f32_update(ml_exp_smooth_f32_t *m, float x)
{
    if (x == x) {
        m->y = (m->y != m->y) ? x : m->y + m->alpha * (x - m->y);
    }
    return m->y;
}

/* ---------------------------------------------------------------------------------- */
/* threshold with hysteresis */

typedef struct ml_hysteresis_f32 {
    float low, high; /* low <= high */
    int32_t state;   /* 0 / 1 */
} ml_hysteresis_f32_t;

static inline int32_t ml_hysteresis_f32_init(ml_hysteresis_f32_t *h, float low, float high,
                                             int32_t initial)
{
    if (h == NULL) {
        return ML_ERR_NULL;
    }
    if (!(low <= high) || (initial != 0 && initial != 1)) {
        return ML_ERR_ARG;
    }
    h->low = low;
    h->high = high;
    h->state = initial;
    return ML_OK;
}

static inline int32_t ml_hysteresis_f32_update(ml_hysteresis_f32_t *h, float x)
{
    if (x >= h->high) {
        h->state = 1;
    } else if (x <= h->low) {
        h->state = 0;
    }
    return h->state;
}

/* ---------------------------------------------------------------------------------- */
/* event detection */

#define ML_EVENT_NONE 0
#define ML_EVENT_ONSET 1
#define ML_EVENT_OFFSET 2

typedef struct ml_events {
    int32_t min_duration; /* >= 1 */
    int32_t min_gap;      /* >= 1 */
    int32_t t;            /* index of the next step */
    int32_t phase;        /* 0 idle, 1 pending (run shorter than min_duration), 2 active */
    int32_t run;          /* length of the current active run (phase 1) */
    int32_t gap;          /* inactive steps since the last active one (phase 2) */
    int32_t onset;        /* index of the current / last event's first active step */
    int32_t offset;       /* one past the last event's last active step */
    int32_t last_active;  /* index of the last active step */
} ml_events_t;

static inline int32_t ml_events_init(ml_events_t *e, int32_t min_duration, int32_t min_gap)
{
    if (e == NULL) {
        return ML_ERR_NULL;
    }
    if (min_duration < 1 || min_gap < 1) {
        return ML_ERR_ARG;
    }
    e->min_duration = min_duration;
    e->min_gap = min_gap;
    e->t = e->phase = e->run = e->gap = 0;
    e->onset = e->offset = e->last_active = -1;
    return ML_OK;
}

/* Feed one step (active: nonzero). Returns ML_EVENT_ONSET when an event is confirmed
 * (e->onset holds its first step), ML_EVENT_OFFSET when one ends (e->offset: one past
 * its last active step), else ML_EVENT_NONE. */
static inline int32_t ml_events_update(ml_events_t *e, int32_t active)
{
    const int32_t t = e->t++;
    int32_t ev = ML_EVENT_NONE;
    if (active) {
        e->last_active = t;
        if (e->phase == 0) {
            e->phase = 1;
            e->run = 0;
            e->onset = t;
        }
        if (e->phase == 1) {
            e->run++;
            if (e->run >= e->min_duration) {
                e->phase = 2;
                ev = ML_EVENT_ONSET;
            }
        }
        e->gap = 0;
    } else if (e->phase == 1) {
        e->phase = 0;
    } else if (e->phase == 2) {
        e->gap++;
        if (e->gap >= e->min_gap) {
            e->phase = 0;
            e->offset = e->last_active + 1;
            ev = ML_EVENT_OFFSET;
        }
    }
    return ev;
}

/* ---------------------------------------------------------------------------------- */
/* majority vote */

typedef struct ml_majority_i32 {
    int32_t size;      /* window length, >= 1 */
    int32_t n_classes; /* >= 1 */
    int32_t count;
    int32_t pos;
    int32_t *ring;     /* [size] */
    int32_t *counts;   /* [n_classes] */
} ml_majority_i32_t;

static inline int32_t ml_majority_i32_init(ml_majority_i32_t *m, int32_t size,
                                           int32_t n_classes, int32_t *ring, int32_t *counts)
{
    if (m == NULL || ring == NULL || counts == NULL) {
        return ML_ERR_NULL;
    }
    if (size < 1 || n_classes < 1) {
        return ML_ERR_ARG;
    }
    m->size = size;
    m->n_classes = n_classes;
    m->count = m->pos = 0;
    m->ring = ring;
    m->counts = counts;
    for (int32_t c = 0; c < n_classes; c++) {
        counts[c] = 0;
    }
    return ML_OK;
}

/* Add label (in [0, n_classes)); return the majority class of the window, or ML_ERR_ARG
 * for a label out of range (the window is then unchanged). */
static inline int32_t ml_majority_i32_update(ml_majority_i32_t *m, int32_t label)
{
    if (label < 0 || label >= m->n_classes) {
        return ML_ERR_ARG;
    }
    if (m->count == m->size) {
        m->counts[m->ring[m->pos]]--;
    } else {
        m->count++;
    }
    m->ring[m->pos] = label;
    m->counts[label]++;
    m->pos = m->pos + 1 == m->size ? 0 : m->pos + 1;
    int32_t best = 0;
    for (int32_t c = 1; c < m->n_classes; c++) {
        if (m->counts[c] > m->counts[best]) {
            best = c;
        }
    }
    return best;
}

#endif /* ML_POST_H */
