// microlearn_dsp: MicroPython native module (dynruntime) of microlearn's DSP runtime headers
// (ml_fft.h, ml_window.h, ml_mel.h, ml_filter.h, ml_level.h, ml_features.h, ml_post.h):
// the same C as microlearn.dsp on the host, so the device computes the training features'
// bits. Every call works on the caller's arrays and allocates nothing (objects allocate
// their state once, at construction); the only exceptions are dbfs(), leq() and the float
// update() of the stream filters, which return one float object.
//
//   import array, microlearn_dsp as dsp
//   fft = dsp.RFFT(512)                  # twiddles + n + 2 floats of scratch, once
//   fft.rfft(x, out)                     # x: array('f') n, out: array('f') >= n + 2
//   fft.power(x, out)                    # |rfft(x)|^2: out >= n/2 + 1 (also .magnitude)
//   fft.spectral(x, fs, edges, out)      # band energies (len(edges) - 1), dominant Hz
//   q = dsp.RFFT(256, True)              # Q15: x array('h'); rfft -> 'h' (X / n),
//                                        # power -> 'I' (Q30), magnitude -> 'H' (Q15)
//   dsp.window("hann", w[, periodic])    # fill array('f') w
//   fr = dsp.Frames(frame, hop)          # frame: array('f') of frame_length samples
//   pos = fr.push(block, pos); fr.ready()  # stream blocks of any size; fr.reset()
//   m = dsp.MFCC(spec)                   # spec: microlearn.mp_dsp.export_mfcc(...) bytes
//   m.mfcc(frame, out); m.melspec(frame, out)
//   f = dsp.SOS(coeffs)                  # array('f') of microlearn.dsp.sos_coefficients
//   f.process(x, y); f.reset()           # y may be x (in place)
//   s = dsp.SoundLevel(fs, coeffs_or_None[, tau_or_"fast"/"slow"[, ref]])
//   s.process(x, level_db); s.reset()
//   dsp.dbfs(x[, full_scale]), dsp.leq(x[, ref])      # floats
//   dsp.window_features(x, ids, out)     # ids: bytes of indices into dsp.FEATURES
//   p = dsp.Median(size) / MovingAverage(size) / ExpSmooth(alpha) / Hysteresis(low, high[,
//       initial]) / Events(min_duration, min_gap) / Majority(size, n_classes)
//   p.process(x, out); p.update(v); p.reset(); p.onset(); p.offset()
//
// Wrong array types raise TypeError, wrong lengths and parameters ValueError.
//
// Compiles with -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wdouble-promotion -Werror
// (microlearn.mp_dsp.NATIVE_CFLAGS); only MicroPython's headers are exempt (their inline
// functions convert function pointers to void *, narrow qstrs, leave parameters unused).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include "py/dynruntime.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#if MICROPY_FLOAT_IMPL == MICROPY_FLOAT_IMPL_NONE
#error "microlearn_dsp needs float objects: build it for x64, armv7emsp, armv7emdp or xtensawin"
#endif

#define ML_RFFT_MAX_N 4096 // instances are allocated for their own n only
#include "ml_features.h"
#include "ml_level.h"
#include "ml_mel.h"
#include "ml_post.h"

// ------------------------------------------------------------------------------------------
// helpers

static NORETURN void mld_memory(void) {
    mp_raise_msg((mp_obj_type_t *)mp_load_global(MP_QSTR_MemoryError),
                 MP_ERROR_TEXT("not enough heap for the DSP object"));
}

static void *mld_alloc(size_t bytes) {
    void *p = m_malloc(bytes);
    if (p == NULL) {
        mld_memory();
    }
    return p;
}

static NORETURN void mld_value_error(void) {
    mp_raise_ValueError(MP_ERROR_TEXT("argument out of range"));
}

static void mld_check(int32_t code) {
    if (code == ML_ERR_FFT_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("n must be a power of two from 16 to 4096"));
    }
    if (code != ML_OK) {
        mld_value_error();
    }
}

static int32_t mld_int(mp_obj_t o, int32_t lo, int32_t hi) {
    // mp_obj_get_int(o), with the cast its macro lacks (-Wsign-conversion)
    const mp_int_t v = (mp_int_t)mp_fun_table.native_from_obj(o, MP_NATIVE_TYPE_INT);
    if (v < lo || v > hi) {
        mld_value_error();
    }
    return (int32_t)v;
}

static float mld_float(mp_obj_t o) {
    return mp_obj_get_float_to_f(o);
}

// item size of the array typecodes this module reads and writes (0: not supported);
// bytearray's typecode is BYTEARRAY_TYPECODE (1)
static size_t mld_itemsize(int tc) {
    switch (tc) {
        case 'b': case 'B': case 1: return 1;
        case 'h': case 'H': return 2;
        case 'i': case 'I': case 'f': return 4;
        default: return 0;
    }
}

typedef struct _mld_arr_t {
    void *p;
    int32_t n;  // items
    int tc;     // typecode ('B' for bytearray too)
} mld_arr_t;

// The items of buffer o; tc: the typecode wanted, or 0 for any integer typecode or 'f'.
// Raises TypeError for another type, ValueError unless n_min <= items (items == n_min
// when exact).
static mld_arr_t mld_arr(mp_obj_t o, int tc, int32_t n_min, int exact, int write) {
    mp_buffer_info_t bi;
    mld_arr_t a;
    if (!mp_get_buffer(o, &bi, write ? MP_BUFFER_WRITE : MP_BUFFER_READ)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected an array"));
    }
    const int got = bi.typecode == 1 ? 'B' : (int)bi.typecode;
    const size_t size = mld_itemsize(got);
    if (tc != 0 ? got != tc : size == 0) {
        switch (tc) {
            case 'f': mp_raise_TypeError(MP_ERROR_TEXT("expected array('f')"));
            case 'h': mp_raise_TypeError(MP_ERROR_TEXT("expected array('h')"));
            case 'H': mp_raise_TypeError(MP_ERROR_TEXT("expected array('H')"));
            case 'I': mp_raise_TypeError(MP_ERROR_TEXT("expected array('I')"));
            case 'B': mp_raise_TypeError(MP_ERROR_TEXT("expected bytes or array('B')"));
            default:
                mp_raise_TypeError(MP_ERROR_TEXT("expected an array of typecode b B h H i I f"));
        }
    }
    const size_t items = bi.len / size;
    if (items > 0x7FFFFFFFu || (int32_t)items < n_min || (exact && (int32_t)items != n_min)) {
        mp_raise_ValueError(MP_ERROR_TEXT("wrong array length"));
    }
    a.p = bi.buf;
    a.n = (int32_t)items;
    a.tc = got;
    return a;
}

static float *mld_f32(mp_obj_t o, int32_t n_min, int exact, int write, int32_t *n) {
    const mld_arr_t a = mld_arr(o, 'f', n_min, exact, write);
    if (n != NULL) {
        *n = a.n;
    }
    return (float *)a.p;
}

static float mld_get(const mld_arr_t *a, int32_t i) {
    switch (a->tc) {
        case 'b': return (float)((const int8_t *)a->p)[i];
        case 'B': return (float)((const uint8_t *)a->p)[i];
        case 'h': return (float)((const int16_t *)a->p)[i];
        case 'H': return (float)((const uint16_t *)a->p)[i];
        case 'i': return (float)((const int32_t *)a->p)[i];
        case 'I': return (float)((const uint32_t *)a->p)[i];
        default: return ((const float *)a->p)[i];
    }
}

static int32_t mld_geti(const mld_arr_t *a, int32_t i) {
    switch (a->tc) {
        case 'b': return ((const int8_t *)a->p)[i];
        case 'B': return ((const uint8_t *)a->p)[i];
        case 'h': return ((const int16_t *)a->p)[i];
        case 'H': return ((const uint16_t *)a->p)[i];
        case 'i': return ((const int32_t *)a->p)[i];
        case 'I': return (int32_t)((const uint32_t *)a->p)[i];
        default: {
            const float v = ((const float *)a->p)[i];
            return v == v && v > -2.0e9f && v < 2.0e9f ? (int32_t)v : -1;
        }
    }
}

// small non-negative ints (states, event codes, labels) into any supported array
static void mld_seti(const mld_arr_t *a, int32_t i, int32_t v) {
    switch (a->tc) {
        case 'b': ((int8_t *)a->p)[i] = (int8_t)v; break;
        case 'B': ((uint8_t *)a->p)[i] = (uint8_t)v; break;
        case 'h': ((int16_t *)a->p)[i] = (int16_t)v; break;
        case 'H': ((uint16_t *)a->p)[i] = (uint16_t)v; break;
        case 'i': ((int32_t *)a->p)[i] = v; break;
        case 'I': ((uint32_t *)a->p)[i] = (uint32_t)v; break;
        default: ((float *)a->p)[i] = (float)v; break;
    }
}

// compares a str argument with a C string (any str object, interned or not)
static int mld_is(mp_obj_t o, const char *s) {
    size_t len;
    const char *d = (const char *)mp_obj_str_get_data(o, &len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0' || s[i] != d[i]) {
            return 0;
        }
    }
    return s[len] == '\0';
}

// ------------------------------------------------------------------------------------------
// RFFT(n[, q15])

typedef struct _mld_rfft_t {
    mp_obj_base_t base;
    int32_t n;
    int32_t q15;
    float *scratch;      // n + 2 floats (q15: n + 2 int16)
    ml_rfft_f32_t *f32;  // truncated to its own n's twiddles
    ml_rfft_q15_t *q;
} mld_rfft_t;

mp_obj_full_type_t mld_rfft_type;

static mp_obj_t mld_rfft_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                  const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 2, false);
    const int32_t n = mld_int(args[0], 0, ML_RFFT_MAX_N);
    const int32_t q15 = n_args > 1 && mp_obj_is_true(args[1]);
    const size_t tw = (size_t)ML_RFFT_F32_TWIDDLES(n);
    const size_t fft_bytes = q15 ? offsetof(ml_rfft_q15_t, twiddle) + tw * sizeof(int16_t)
                                 : offsetof(ml_rfft_f32_t, twiddle) + tw * sizeof(float);
    const size_t head = (sizeof(mld_rfft_t) + 7u) & ~(size_t)7u;
    const size_t scratch_bytes = ((size_t)n + 2u) * sizeof(float);
    mld_rfft_t *self = (mld_rfft_t *)mld_alloc(head + scratch_bytes + fft_bytes);
    uint8_t *mem = (uint8_t *)self;
    self->base.type = type;
    self->n = n;
    self->q15 = q15;
    self->scratch = (float *)(void *)(mem + head);
    self->f32 = NULL;
    self->q = NULL;
    if (q15) {
        self->q = (ml_rfft_q15_t *)(void *)(mem + head + scratch_bytes);
        mld_check(ml_rfft_q15_init(self->q, n));
    } else {
        self->f32 = (ml_rfft_f32_t *)(void *)(mem + head + scratch_bytes);
        mld_check(ml_rfft_f32_init(self->f32, n));
    }
    return MP_OBJ_FROM_PTR(self);
}

// rfft(x, out): x n samples, out >= n + 2 (re, im of bins 0 .. n/2); no overlap
static mp_obj_t mld_rfft_rfft(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_rfft_t *self = MP_OBJ_TO_PTR(self_obj);
    const int tc = self->q15 ? 'h' : 'f';
    const size_t size = self->q15 ? 2u : 4u;
    const mld_arr_t x = mld_arr(x_obj, tc, self->n, 1, 0);
    const mld_arr_t out = mld_arr(out_obj, tc, self->n + 2, 0, 1);
    const uint8_t *xa = (const uint8_t *)x.p, *oa = (const uint8_t *)out.p;
    if (xa < oa + (size_t)out.n * size && oa < xa + (size_t)x.n * size) {
        mp_raise_ValueError(MP_ERROR_TEXT("x and out must not overlap"));
    }
    if (self->q15) {
        ml_rfft_q15(self->q, (int16_t *)x.p, (int16_t *)out.p);
    } else {
        ml_rfft_f32(self->f32, (float *)x.p, (float *)out.p);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_rfft_rfft_obj, mld_rfft_rfft);

// kind 2: power (out 'f', q15: 'I' Q30), 1: magnitude (out 'f', q15: 'H' Q15)
static void mld_spectrum(mld_rfft_t *self, mp_obj_t x_obj, mp_obj_t out_obj, int kind) {
    const int32_t bins = self->n / 2 + 1;
    if (self->q15) {
        const mld_arr_t x = mld_arr(x_obj, 'h', self->n, 1, 0);
        const mld_arr_t out = mld_arr(out_obj, kind == 2 ? 'I' : 'H', bins, 0, 1);
        int16_t *spec = (int16_t *)(void *)self->scratch;
        ml_rfft_q15(self->q, (int16_t *)x.p, spec);
        if (kind == 2) {
            ml_power_spectrum_q15(spec, bins, (uint32_t *)out.p);
        } else {
            ml_magnitude_spectrum_q15(spec, bins, (uint16_t *)out.p);
        }
        return;
    }
    float *x = mld_f32(x_obj, self->n, 1, 0, NULL);
    float *out = mld_f32(out_obj, bins, 0, 1, NULL);
    ml_rfft_f32(self->f32, x, self->scratch);
    if (kind == 2) {
        ml_power_spectrum_f32(self->scratch, bins, out);
    } else {
        ml_magnitude_spectrum_f32(self->scratch, bins, out);
    }
}

static mp_obj_t mld_rfft_power(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_spectrum(MP_OBJ_TO_PTR(self_obj), x_obj, out_obj, 2);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_rfft_power_obj, mld_rfft_power);

static mp_obj_t mld_rfft_magnitude(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_spectrum(MP_OBJ_TO_PTR(self_obj), x_obj, out_obj, 1);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_rfft_magnitude_obj, mld_rfft_magnitude);

// spectral(x, fs, edges, out): out[0 .. nb) band energies for the nb + 1 edges (Hz),
// out[nb] the dominant frequency (Hz, DC excluded)
static mp_obj_t mld_rfft_spectral(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    mld_rfft_t *self = MP_OBJ_TO_PTR(args[0]);
    if (self->q15) {
        mp_raise_TypeError(MP_ERROR_TEXT("spectral() needs a float RFFT"));
    }
    const float *x = mld_f32(args[1], self->n, 1, 0, NULL);
    const float fs = mld_float(args[2]);
    int32_t n_edges;
    const float *edges = mld_f32(args[3], 0, 0, 0, &n_edges);
    const int32_t n_bands = n_edges > 0 ? n_edges - 1 : 0;
    float *out = mld_f32(args[4], n_bands + 1, 0, 1, NULL);
    mld_check(ml_spectral_features_f32(self->f32, x, fs, n_bands > 0 ? edges : NULL, n_bands,
                                       n_bands > 0 ? out : NULL, out + n_bands,
                                       self->scratch));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mld_rfft_spectral_obj, 5, 5, mld_rfft_spectral);

// ------------------------------------------------------------------------------------------
// window(kind, out[, periodic])

static int32_t mld_window_kind(mp_obj_t o) {
    if (mld_is(o, "hann")) {
        return ML_WINDOW_HANN;
    }
    if (mld_is(o, "hamming")) {
        return ML_WINDOW_HAMMING;
    }
    if (mld_is(o, "blackman")) {
        return ML_WINDOW_BLACKMAN;
    }
    if (mld_is(o, "boxcar")) {
        return ML_WINDOW_BOXCAR;
    }
    mp_raise_ValueError(MP_ERROR_TEXT("window: 'hann', 'hamming', 'blackman' or 'boxcar'"));
}

static mp_obj_t mld_window(size_t n_args, const mp_obj_t *args) {
    const int32_t kind = mld_window_kind(args[0]);
    int32_t n;
    float *out = mld_f32(args[1], 1, 0, 1, &n);
    const int32_t periodic = n_args > 2 ? (int32_t)mp_obj_is_true(args[2]) : 1;
    mld_check(ml_window_f32(kind, n, periodic, out));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mld_window_obj, 2, 3, mld_window);

// ------------------------------------------------------------------------------------------
// MFCC(spec): mel spectrum / MFCC of one frame, from microlearn.mp_dsp.export_mfcc bytes

#define MLD_SPEC_MAGIC 0x464D4C4Du // "MLMF"
#define MLD_SPEC_WORDS 12          // header: int32 / float32 words

typedef struct _mld_mfcc_t {
    mp_obj_base_t base;
    int32_t n_fft, n_mels, n_mfcc;
    ml_mfcc_f32_t mfcc;  // mfcc.melspec alone when n_mfcc == 0
    ml_mel_f32_t mel;
    ml_dct2_f32_t dct;
    float *scratch;      // ML_MFCC_SCRATCH(n_fft, n_mels)
} mld_mfcc_t;

mp_obj_full_type_t mld_mfcc_type;

static uint32_t mld_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static NORETURN void mld_bad_spec(void) {
    mp_raise_ValueError(MP_ERROR_TEXT("not an MFCC spec from microlearn.mp_dsp.export_mfcc"));
}

// Header words: magic, n_fft, n_mels, n_mfcc, power, window (ML_WINDOW_*, -1: values in
// the spec), periodic, ortho, lifter, amin (f32), top_db (f32, < 0: none), n_weights; then
// start[n_mels], length[n_mels] (uint16), weights[n_weights], window[n_fft] if custom
// (float32), all little-endian.
static mp_obj_t mld_mfcc_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                  const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_buffer_info_t bi;
    mp_get_buffer_raise(args[0], &bi, MP_BUFFER_READ);
    const uint8_t *src = (const uint8_t *)bi.buf;
    uint32_t h[MLD_SPEC_WORDS];
    if (bi.len < 4u * MLD_SPEC_WORDS) {
        mld_bad_spec();
    }
    for (size_t i = 0; i < MLD_SPEC_WORDS; i++) {
        h[i] = mld_u32(src + 4 * i);
    }
    const uint32_t n_fft = h[1], n_mels = h[2], n_mfcc = h[3], n_weights = h[11];
    const int32_t window = (int32_t)h[5];
    if (h[0] != MLD_SPEC_MAGIC || n_fft < ML_RFFT_MIN_N || n_fft > ML_RFFT_MAX_N ||
        n_mels < 1u || n_mels > 4096u || n_mfcc > n_mels || n_weights > n_mels * (n_fft + 1u) ||
        window < -1 || window > ML_WINDOW_BLACKMAN || h[8] > 4096u) {
        mld_bad_spec();
    }
    const size_t n_win = window < 0 ? n_fft : 0u;
    const size_t table = 4u * n_mels + 4u * n_weights + 4u * n_win;
    if (bi.len != 4u * MLD_SPEC_WORDS + table) {
        mld_bad_spec();
    }
    // object, fft (n_fft twiddles), window, DCT matrix, scratch, then the spec's tables
    const size_t head = (sizeof(mld_mfcc_t) + 7u) & ~(size_t)7u;
    const size_t fft_bytes = (offsetof(ml_rfft_f32_t, twiddle) +
                              (size_t)ML_RFFT_F32_TWIDDLES(n_fft) * sizeof(float) + 7u) &
                             ~(size_t)7u;
    const size_t floats = n_fft + (size_t)n_mfcc * n_mels +
                          (size_t)ML_MFCC_SCRATCH(n_fft, n_mels);
    uint8_t *mem = (uint8_t *)mld_alloc(head + fft_bytes + floats * sizeof(float) + table);
    mld_mfcc_t *self = (mld_mfcc_t *)(void *)mem;
    self->base.type = type;
    self->n_fft = (int32_t)n_fft;
    self->n_mels = (int32_t)n_mels;
    self->n_mfcc = (int32_t)n_mfcc;
    ml_rfft_f32_t *fft = (ml_rfft_f32_t *)(void *)(mem + head);
    float *win = (float *)(void *)(mem + head + fft_bytes);
    float *matrix = win + n_fft;
    self->scratch = matrix + (size_t)n_mfcc * n_mels;
    uint8_t *tables = (uint8_t *)(self->scratch + ML_MFCC_SCRATCH(n_fft, n_mels));
    for (size_t i = 0; i < table; i++) {
        tables[i] = src[4u * MLD_SPEC_WORDS + i];
    }
    const uint16_t *start = (const uint16_t *)(void *)tables;
    const uint16_t *length = start + n_mels;
    const float *weights = (const float *)(void *)(tables + 4u * n_mels);
    uint32_t total = 0;
    for (size_t j = 0; j < n_mels; j++) {
        total += length[j];
    }
    if (total > n_weights) {
        mld_bad_spec();
    }
    if (window < 0) {
        const float *values = weights + n_weights;
        for (size_t i = 0; i < n_fft; i++) {
            win[i] = values[i];
        }
    } else {
        mld_check(ml_window_f32(window, (int32_t)n_fft, h[6] != 0u, win));
    }
    float amin, top_db;
    const uint32_t a_bits = h[9], t_bits = h[10];
    amin = ml_f32_from_bits(a_bits);
    top_db = ml_f32_from_bits(t_bits);
    mld_check(ml_rfft_f32_init(fft, (int32_t)n_fft));
    mld_check(ml_mel_f32_init(&self->mel, (int32_t)n_mels, (int32_t)n_fft / 2 + 1, start,
                              length, weights));
    mld_check(ml_melspec_f32_init(&self->mfcc.melspec, fft, win, &self->mel, (int32_t)h[4]));
    if (n_mfcc > 0u) {
        mld_check(ml_dct2_f32_init(&self->dct, (int32_t)n_mels, (int32_t)n_mfcc, h[7] != 0u,
                                   (int32_t)h[8], matrix));
        mld_check(ml_mfcc_f32_init(&self->mfcc, fft, win, &self->mel, (int32_t)h[4],
                                   &self->dct, amin, top_db));
    }
    return MP_OBJ_FROM_PTR(self);
}

// melspec(frame, out): frame n_fft samples (only read), out >= n_mels
static mp_obj_t mld_mfcc_melspec(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_mfcc_t *self = MP_OBJ_TO_PTR(self_obj);
    const float *x = mld_f32(x_obj, self->n_fft, 1, 0, NULL);
    float *out = mld_f32(out_obj, self->n_mels, 0, 1, NULL);
    ml_melspec_f32(&self->mfcc.melspec, x, self->scratch, out);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_mfcc_melspec_obj, mld_mfcc_melspec);

// mfcc(frame, out): out >= n_mfcc
static mp_obj_t mld_mfcc_mfcc(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_mfcc_t *self = MP_OBJ_TO_PTR(self_obj);
    if (self->n_mfcc == 0) {
        mp_raise_TypeError(MP_ERROR_TEXT("this spec has no MFCC (n_mfcc=0): use melspec()"));
    }
    const float *x = mld_f32(x_obj, self->n_fft, 1, 0, NULL);
    float *out = mld_f32(out_obj, self->n_mfcc, 0, 1, NULL);
    ml_mfcc_f32(&self->mfcc, x, self->scratch, out);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_mfcc_mfcc_obj, mld_mfcc_mfcc);

// ------------------------------------------------------------------------------------------
// Frames(frame, hop): streaming framing into the caller's array('f') frame

typedef struct _mld_frames_t {
    mp_obj_base_t base;
    mp_obj_t frame;  // the caller's array: its buffer is looked up at every push
    int32_t ready;
    ml_frames_f32_t frames;
} mld_frames_t;

mp_obj_full_type_t mld_frames_type;

static mp_obj_t mld_frames_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    int32_t n;
    float *buf = mld_f32(args[0], 1, 0, 1, &n);
    mld_frames_t *self = (mld_frames_t *)mld_alloc(sizeof(mld_frames_t));
    self->base.type = type;
    self->frame = args[0];
    self->ready = 0;
    mld_check(ml_frames_f32_init(&self->frames, n, mld_int(args[1], 1, 0x7FFFFFFF), buf));
    return MP_OBJ_FROM_PTR(self);
}

// push(x, pos) -> new pos: takes samples x[pos:] until the frame is complete (then
// ready() is True and frame holds x's samples [i hop, i hop + len(frame)) of the stream)
static mp_obj_t mld_frames_push(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t pos_obj) {
    mld_frames_t *self = MP_OBJ_TO_PTR(self_obj);
    self->frames.buffer = mld_f32(self->frame, self->frames.frame_length, 1, 1, NULL);
    int32_t n;
    const float *x = mld_f32(x_obj, 0, 0, 0, &n);
    const int32_t pos = mld_int(pos_obj, 0, n);
    int32_t used = 0;
    self->ready = ml_frames_f32_push(&self->frames, x + pos, n - pos, &used);
    return MP_OBJ_NEW_SMALL_INT(pos + used);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_frames_push_obj, mld_frames_push);

static mp_obj_t mld_frames_is_ready(mp_obj_t self_obj) {
    return mp_obj_new_bool(((mld_frames_t *)MP_OBJ_TO_PTR(self_obj))->ready);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_frames_is_ready_obj, mld_frames_is_ready);

static mp_obj_t mld_frames_reset(mp_obj_t self_obj) {
    mld_frames_t *self = MP_OBJ_TO_PTR(self_obj);
    ml_frames_f32_reset(&self->frames);
    self->ready = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_frames_reset_obj, mld_frames_reset);

// ------------------------------------------------------------------------------------------
// SOS(coeffs): biquad cascade with state; SoundLevel(fs, coeffs, tau, ref)

typedef struct _mld_sos_t {
    mp_obj_base_t base;
    ml_biquad_f32_t bq;
    ml_sound_level_f32_t level;  // SoundLevel only
    float fs, tau, ref;
    // coeffs [5 k], state [2 k]
} mld_sos_t;

mp_obj_full_type_t mld_sos_type;
mp_obj_full_type_t mld_level_type;

static int mld_is_level(const mld_sos_t *self) {
    return (const void *)self->base.type == (const void *)&mld_level_type;
}

// object with a copy of the coefficients (None or an empty array: no sections)
static mld_sos_t *mld_sos_new(const mp_obj_type_t *type, mp_obj_t coeffs_obj) {
    int32_t n = 0;
    const float *c = NULL;
    if (coeffs_obj != mp_const_none) {
        c = mld_f32(coeffs_obj, 0, 0, 0, &n);
    }
    if (n % 5 != 0 || n > 5 * 64 || ((const void *)type == (const void *)&mld_sos_type && n == 0)) {
        mp_raise_ValueError(MP_ERROR_TEXT("coeffs: b0 b1 b2 a1 a2 of 1 to 64 sections"));
    }
    const int32_t k = n / 5;
    mld_sos_t *self = (mld_sos_t *)mld_alloc(sizeof(mld_sos_t) +
                                              (size_t)(7 * k) * sizeof(float));
    float *mine = (float *)(void *)(self + 1);
    self->base.type = type;
    for (int32_t i = 0; i < n; i++) {
        mine[i] = c[i];
    }
    self->bq.n_stages = 0;
    self->bq.coeffs = NULL;
    self->bq.state = NULL;
    if (k > 0) {
        mld_check(ml_biquad_f32_init(&self->bq, k, mine, mine + 5 * k));
    }
    return self;
}

static mp_obj_t mld_sos_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                 const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    return MP_OBJ_FROM_PTR(mld_sos_new(type, args[0]));
}

static float mld_tau(mp_obj_t o) {
    if (mp_obj_is_str(o)) {
        if (mld_is(o, "fast")) {
            return ML_LEVEL_TAU_FAST;
        }
        if (mld_is(o, "slow")) {
            return ML_LEVEL_TAU_SLOW;
        }
        mp_raise_ValueError(MP_ERROR_TEXT("tau: 'fast', 'slow' or seconds"));
    }
    return mld_float(o);
}

static void mld_level_reset(mld_sos_t *self) {
    mld_check(ml_sound_level_f32_init(&self->level, self->bq.n_stages, self->bq.coeffs,
                                      self->bq.state, self->fs, self->tau, self->ref));
}

static mp_obj_t mld_level_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                   const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 4, false);
    const float fs = mld_float(args[0]);
    const float tau = n_args > 2 ? mld_tau(args[2]) : ML_LEVEL_TAU_FAST;
    const float ref = n_args > 3 ? mld_float(args[3]) : 1.0f;
    mld_sos_t *self = mld_sos_new(type, args[1]);
    self->fs = fs;
    self->tau = tau;
    self->ref = ref;
    mld_level_reset(self);
    return MP_OBJ_FROM_PTR(self);
}

// process(x, y): y (>= len(x)) may be x
static mp_obj_t mld_sos_process(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t y_obj) {
    mld_sos_t *self = MP_OBJ_TO_PTR(self_obj);
    int32_t n;
    const float *x = mld_f32(x_obj, 0, 0, 0, &n);
    float *y = mld_f32(y_obj, n, 0, 1, NULL);
    if (mld_is_level(self)) {
        mld_check(ml_sound_level_f32(&self->level, x, y, n));
    } else {
        mld_check(ml_biquad_f32(&self->bq, x, y, n));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_sos_process_obj, mld_sos_process);

static mp_obj_t mld_sos_reset(mp_obj_t self_obj) {
    mld_sos_t *self = MP_OBJ_TO_PTR(self_obj);
    if (self->bq.n_stages > 0) {
        ml_biquad_f32_reset(&self->bq);
    }
    if (mld_is_level(self)) {
        mld_level_reset(self);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_sos_reset_obj, mld_sos_reset);

// dbfs(x[, full_scale]) -> float
static mp_obj_t mld_dbfs(size_t n_args, const mp_obj_t *args) {
    int32_t n;
    const float *x = mld_f32(args[0], 1, 0, 0, &n);
    const float fsc = n_args > 1 ? mld_float(args[1]) : 1.0f;
    if (!(fsc > 0.0f)) {
        mld_value_error();
    }
    return mp_obj_new_float_from_f(ml_level_dbfs(x, n, fsc));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mld_dbfs_obj, 1, 2, mld_dbfs);

// leq(x[, ref]) -> float: 10 log10(mean(x^2) / ref^2) of the (already weighted) block
static mp_obj_t mld_leq(size_t n_args, const mp_obj_t *args) {
    int32_t n;
    const float *x = mld_f32(args[0], 1, 0, 0, &n);
    const float ref = n_args > 1 ? mld_float(args[1]) : 1.0f;
    ml_leq_f32_t q;
    if (!(ref > 0.0f)) {
        mld_value_error();
    }
    ml_leq_f32_reset(&q);
    mld_check(ml_leq_f32_update(&q, x, n));
    return mp_obj_new_float_from_f(ml_leq_f32_db(&q, ref * ref));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mld_leq_obj, 1, 2, mld_leq);

// ------------------------------------------------------------------------------------------
// window_features(x, ids, out): out[k] = feature FEATURES[ids[k]] of the window x

#define MLD_MAX_IDS 32

static mp_obj_t mld_window_features(mp_obj_t x_obj, mp_obj_t ids_obj, mp_obj_t out_obj) {
    int32_t n;
    const float *x = mld_f32(x_obj, 1, 0, 0, &n);
    const mld_arr_t ids = mld_arr(ids_obj, 'B', 0, 0, 0);
    float *out = mld_f32(out_obj, ids.n, 0, 1, NULL);
    int32_t id[MLD_MAX_IDS];
    if (ids.n > MLD_MAX_IDS) {
        mld_value_error();
    }
    for (int32_t k = 0; k < ids.n; k++) {
        id[k] = ((const uint8_t *)ids.p)[k];
    }
    mld_check(ml_features_f32(x, n, id, ids.n, out));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_window_features_obj, mld_window_features);

// ------------------------------------------------------------------------------------------
// stream filters over model outputs (ml_post.h): one type, six constructors

enum { MLD_MEDIAN, MLD_AVERAGE, MLD_EXP, MLD_HYST, MLD_EVENTS, MLD_MAJORITY };

typedef struct _mld_post_t {
    mp_obj_base_t base;
    int32_t kind;
    int32_t initial;  // Hysteresis: state before the first input
    union {
        ml_median_f32_t median;
        ml_moving_average_f32_t average;
        ml_exp_smooth_f32_t exp;
        ml_hysteresis_f32_t hyst;
        ml_events_t events;
        ml_majority_i32_t majority;
    } u;
    // ring buffers (median: 2 size floats, average: size floats, majority: size + n_classes
    // int32)
} mld_post_t;

mp_obj_full_type_t mld_post_type;

static mld_post_t *mld_post_new(int32_t kind, size_t extra_words) {
    mld_post_t *self = (mld_post_t *)mld_alloc(sizeof(mld_post_t) + 4u * extra_words);
    self->base.type = (mp_obj_type_t *)&mld_post_type;
    self->kind = kind;
    self->initial = 0;
    return self;
}

static void mld_post_init(mld_post_t *self) {
    float *buf = (float *)(void *)(self + 1);
    switch (self->kind) {
        case MLD_MEDIAN: {
            const int32_t s = self->u.median.size;
            mld_check(ml_median_f32_init(&self->u.median, s, buf, buf + s));
            break;
        }
        case MLD_AVERAGE:
            mld_check(ml_moving_average_f32_init(&self->u.average, self->u.average.size, buf));
            break;
        case MLD_EXP:
            mld_check(ml_exp_smooth_f32_init(&self->u.exp, self->u.exp.alpha));
            break;
        case MLD_HYST:
            mld_check(ml_hysteresis_f32_init(&self->u.hyst, self->u.hyst.low, self->u.hyst.high,
                                             self->initial));
            break;
        case MLD_EVENTS:
            mld_check(ml_events_init(&self->u.events, self->u.events.min_duration,
                                     self->u.events.min_gap));
            break;
        default: {
            const int32_t s = self->u.majority.size;
            int32_t *ring = (int32_t *)(void *)buf;
            mld_check(ml_majority_i32_init(&self->u.majority, s, self->u.majority.n_classes,
                                           ring, ring + s));
            break;
        }
    }
}

#define MLD_MAX_SIZE 65536

static mp_obj_t mld_median(mp_obj_t size_obj) {
    const int32_t s = mld_int(size_obj, 1, MLD_MAX_SIZE);
    mld_post_t *self = mld_post_new(MLD_MEDIAN, 2u * (size_t)s);
    self->u.median.size = s;
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_median_obj, mld_median);

static mp_obj_t mld_average(mp_obj_t size_obj) {
    const int32_t s = mld_int(size_obj, 1, MLD_MAX_SIZE);
    mld_post_t *self = mld_post_new(MLD_AVERAGE, (size_t)s);
    self->u.average.size = s;
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_average_obj, mld_average);

static mp_obj_t mld_exp(mp_obj_t alpha_obj) {
    mld_post_t *self = mld_post_new(MLD_EXP, 0);
    self->u.exp.alpha = mld_float(alpha_obj);
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_exp_obj, mld_exp);

static mp_obj_t mld_hyst(size_t n_args, const mp_obj_t *args) {
    mld_post_t *self = mld_post_new(MLD_HYST, 0);
    self->u.hyst.low = mld_float(args[0]);
    self->u.hyst.high = mld_float(args[1]);
    self->initial = n_args > 2 ? (int32_t)mp_obj_is_true(args[2]) : 0;
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mld_hyst_obj, 2, 3, mld_hyst);

static mp_obj_t mld_events(mp_obj_t duration_obj, mp_obj_t gap_obj) {
    mld_post_t *self = mld_post_new(MLD_EVENTS, 0);
    self->u.events.min_duration = mld_int(duration_obj, 1, 0x7FFFFFFF);
    self->u.events.min_gap = mld_int(gap_obj, 1, 0x7FFFFFFF);
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mld_events_obj, mld_events);

static mp_obj_t mld_majority(mp_obj_t size_obj, mp_obj_t classes_obj) {
    const int32_t s = mld_int(size_obj, 1, MLD_MAX_SIZE);
    const int32_t k = mld_int(classes_obj, 1, MLD_MAX_SIZE);
    mld_post_t *self = mld_post_new(MLD_MAJORITY, (size_t)s + (size_t)k);
    self->u.majority.size = s;
    self->u.majority.n_classes = k;
    mld_post_init(self);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mld_majority_obj, mld_majority);

// one step; float kinds return through *f (the int result is then unused)
static int32_t mld_post_step(mld_post_t *self, float v, int32_t iv, float *f) {
    switch (self->kind) {
        case MLD_MEDIAN: *f = ml_median_f32_update(&self->u.median, v); return 0;
        case MLD_AVERAGE: *f = ml_moving_average_f32_update(&self->u.average, v); return 0;
        case MLD_EXP: *f = ml_exp_smooth_f32_update(&self->u.exp, v); return 0;
        case MLD_HYST: return ml_hysteresis_f32_update(&self->u.hyst, v);
        case MLD_EVENTS: return ml_events_update(&self->u.events, v != 0.0f);
        default: {
            const int32_t r = ml_majority_i32_update(&self->u.majority, iv);
            if (r < 0) {
                mp_raise_ValueError(MP_ERROR_TEXT("label must be in [0, n_classes)"));
            }
            return r;
        }
    }
}

// update(v) -> float (Median, MovingAverage, ExpSmooth: allocates the float object) or
// int (Hysteresis 0/1, Events 0 none / 1 onset / 2 offset, Majority the class)
static mp_obj_t mld_post_update(mp_obj_t self_obj, mp_obj_t v_obj) {
    mld_post_t *self = MP_OBJ_TO_PTR(self_obj);
    float f = 0.0f;
    if (self->kind == MLD_MAJORITY) {
        const int32_t r = mld_post_step(self, 0.0f, mld_int(v_obj, 0, 0x7FFFFFFF), &f);
        return MP_OBJ_NEW_SMALL_INT(r);
    }
    const float v = self->kind == MLD_EVENTS ? (float)mp_obj_is_true(v_obj) : mld_float(v_obj);
    const int32_t r = mld_post_step(self, v, 0, &f);
    return self->kind <= MLD_EXP ? mp_obj_new_float_from_f(f) : MP_OBJ_NEW_SMALL_INT(r);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mld_post_update_obj, mld_post_update);

// process(x, out): every x[i] through update into out[i] (out >= len(x), may be x).
// Median / MovingAverage / ExpSmooth: array('f') in and out; Hysteresis: x 'f'; Events:
// x any array (nonzero: active); Majority: x integer labels; out of these three: any of
// b B h H i I f (bytearray too).
static mp_obj_t mld_post_process(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mld_post_t *self = MP_OBJ_TO_PTR(self_obj);
    const int floats = self->kind <= MLD_EXP;
    const mld_arr_t x = mld_arr(x_obj, self->kind <= MLD_HYST ? 'f' : 0, 0, 0, 0);
    const mld_arr_t out = mld_arr(out_obj, floats ? 'f' : 0, x.n, 0, 1);
    if (self->kind == MLD_MAJORITY && x.tc == 'f') {
        mp_raise_TypeError(MP_ERROR_TEXT("labels must be an integer array"));
    }
    for (int32_t i = 0; i < x.n; i++) {
        float f = 0.0f;
        const int32_t r = mld_post_step(self, mld_get(&x, i),
                                        self->kind == MLD_MAJORITY ? mld_geti(&x, i) : 0, &f);
        if (floats) {
            ((float *)out.p)[i] = f;
        } else {
            mld_seti(&out, i, r);
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mld_post_process_obj, mld_post_process);

static mp_obj_t mld_post_reset(mp_obj_t self_obj) {
    mld_post_init(MP_OBJ_TO_PTR(self_obj));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_post_reset_obj, mld_post_reset);

// Events: the current / last event's first step, one past the last event's last step
static mp_obj_t mld_post_onset(mp_obj_t self_obj) {
    mld_post_t *self = MP_OBJ_TO_PTR(self_obj);
    return MP_OBJ_NEW_SMALL_INT(self->kind == MLD_EVENTS ? self->u.events.onset : -1);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_post_onset_obj, mld_post_onset);

static mp_obj_t mld_post_offset(mp_obj_t self_obj) {
    mld_post_t *self = MP_OBJ_TO_PTR(self_obj);
    return MP_OBJ_NEW_SMALL_INT(self->kind == MLD_EVENTS ? self->u.events.offset : -1);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mld_post_offset_obj, mld_post_offset);

// ------------------------------------------------------------------------------------------
// module

mp_map_elem_t mld_rfft_table[4];
static MP_DEFINE_CONST_DICT(mld_rfft_dict, mld_rfft_table);
mp_map_elem_t mld_mfcc_table[2];
static MP_DEFINE_CONST_DICT(mld_mfcc_dict, mld_mfcc_table);
mp_map_elem_t mld_sos_table[2];
static MP_DEFINE_CONST_DICT(mld_sos_dict, mld_sos_table);
mp_map_elem_t mld_frames_table[3];
static MP_DEFINE_CONST_DICT(mld_frames_dict, mld_frames_table);
mp_map_elem_t mld_post_table[5];
static MP_DEFINE_CONST_DICT(mld_post_dict, mld_post_table);

// (the qstr names are spelled out: MicroPython's build collects MP_QSTR_ tokens from the
// source text)
#define MLD_ENTRY(QSTR, OBJ) ((mp_map_elem_t){ MP_OBJ_NEW_QSTR(QSTR), MP_OBJ_FROM_PTR(&(OBJ)) })

// a type with a locals dict and, unless NULL, a constructor (the slots are set by hand:
// MP_OBJ_TYPE_SET_SLOT converts a function pointer to void *, which ISO C does not allow)
static void mld_type(mp_obj_full_type_t *t, qstr name, mp_make_new_fun_t make_new,
                     const mp_obj_dict_t *dict) {
    union {
        mp_make_new_fun_t f;
        const void *p;
    } fn;
    size_t slot = 0;
    t->base.type = &mp_type_type;
    t->flags = MP_TYPE_FLAG_NONE;
    t->name = (uint16_t)name;
    if (make_new != NULL) {
        fn.f = make_new;
        t->slots[slot] = fn.p;
        t->slot_index_make_new = (uint8_t)++slot;
    }
    t->slots[slot] = dict;
    t->slot_index_locals_dict = (uint8_t)++slot;
}

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    (void)n_args;
    (void)n_kw;
    (void)args;

    mld_rfft_table[0] = MLD_ENTRY(MP_QSTR_rfft, mld_rfft_rfft_obj);
    mld_rfft_table[1] = MLD_ENTRY(MP_QSTR_power, mld_rfft_power_obj);
    mld_rfft_table[2] = MLD_ENTRY(MP_QSTR_magnitude, mld_rfft_magnitude_obj);
    mld_rfft_table[3] = MLD_ENTRY(MP_QSTR_spectral, mld_rfft_spectral_obj);
    mld_type(&mld_rfft_type, MP_QSTR_RFFT, mld_rfft_make_new, &mld_rfft_dict);

    mld_mfcc_table[0] = MLD_ENTRY(MP_QSTR_melspec, mld_mfcc_melspec_obj);
    mld_mfcc_table[1] = MLD_ENTRY(MP_QSTR_mfcc, mld_mfcc_mfcc_obj);
    mld_type(&mld_mfcc_type, MP_QSTR_MFCC, mld_mfcc_make_new, &mld_mfcc_dict);

    mld_frames_table[0] = MLD_ENTRY(MP_QSTR_push, mld_frames_push_obj);
    mld_frames_table[1] = MLD_ENTRY(MP_QSTR_ready, mld_frames_is_ready_obj);
    mld_frames_table[2] = MLD_ENTRY(MP_QSTR_reset, mld_frames_reset_obj);
    mld_type(&mld_frames_type, MP_QSTR_Frames, mld_frames_make_new, &mld_frames_dict);

    mld_sos_table[0] = MLD_ENTRY(MP_QSTR_process, mld_sos_process_obj);
    mld_sos_table[1] = MLD_ENTRY(MP_QSTR_reset, mld_sos_reset_obj);
    mld_type(&mld_sos_type, MP_QSTR_SOS, mld_sos_make_new, &mld_sos_dict);
    mld_type(&mld_level_type, MP_QSTR_SoundLevel, mld_level_make_new, &mld_sos_dict);

    mld_post_table[0] = MLD_ENTRY(MP_QSTR_update, mld_post_update_obj);
    mld_post_table[1] = MLD_ENTRY(MP_QSTR_process, mld_post_process_obj);
    mld_post_table[2] = MLD_ENTRY(MP_QSTR_reset, mld_post_reset_obj);
    mld_post_table[3] = MLD_ENTRY(MP_QSTR_onset, mld_post_onset_obj);
    mld_post_table[4] = MLD_ENTRY(MP_QSTR_offset, mld_post_offset_obj);
    mld_type(&mld_post_type, MP_QSTR_Stream, NULL, &mld_post_dict);

    mp_store_global(MP_QSTR_RFFT, MP_OBJ_FROM_PTR(&mld_rfft_type));
    mp_store_global(MP_QSTR_MFCC, MP_OBJ_FROM_PTR(&mld_mfcc_type));
    mp_store_global(MP_QSTR_Frames, MP_OBJ_FROM_PTR(&mld_frames_type));
    mp_store_global(MP_QSTR_SOS, MP_OBJ_FROM_PTR(&mld_sos_type));
    mp_store_global(MP_QSTR_SoundLevel, MP_OBJ_FROM_PTR(&mld_level_type));
    mp_store_global(MP_QSTR_window, MP_OBJ_FROM_PTR(&mld_window_obj));
    mp_store_global(MP_QSTR_dbfs, MP_OBJ_FROM_PTR(&mld_dbfs_obj));
    mp_store_global(MP_QSTR_leq, MP_OBJ_FROM_PTR(&mld_leq_obj));
    mp_store_global(MP_QSTR_window_features, MP_OBJ_FROM_PTR(&mld_window_features_obj));
    mp_store_global(MP_QSTR_Median, MP_OBJ_FROM_PTR(&mld_median_obj));
    mp_store_global(MP_QSTR_MovingAverage, MP_OBJ_FROM_PTR(&mld_average_obj));
    mp_store_global(MP_QSTR_ExpSmooth, MP_OBJ_FROM_PTR(&mld_exp_obj));
    mp_store_global(MP_QSTR_Hysteresis, MP_OBJ_FROM_PTR(&mld_hyst_obj));
    mp_store_global(MP_QSTR_Events, MP_OBJ_FROM_PTR(&mld_events_obj));
    mp_store_global(MP_QSTR_Majority, MP_OBJ_FROM_PTR(&mld_majority_obj));
    {   // FEATURES[id]: the names of window_features' ids (ml_features.h ML_FEAT_*)
        mp_obj_t names[ML_FEAT_COUNT] = {
            MP_OBJ_NEW_QSTR(MP_QSTR_mean), MP_OBJ_NEW_QSTR(MP_QSTR_std),
            MP_OBJ_NEW_QSTR(MP_QSTR_var), MP_OBJ_NEW_QSTR(MP_QSTR_min),
            MP_OBJ_NEW_QSTR(MP_QSTR_max), MP_OBJ_NEW_QSTR(MP_QSTR_rms),
            MP_OBJ_NEW_QSTR(MP_QSTR_ptp), MP_OBJ_NEW_QSTR(MP_QSTR_zero_crossings),
            MP_OBJ_NEW_QSTR(MP_QSTR_mean_crossings), MP_OBJ_NEW_QSTR(MP_QSTR_skew),
            MP_OBJ_NEW_QSTR(MP_QSTR_kurtosis), MP_OBJ_NEW_QSTR(MP_QSTR_energy),
        };
        mp_store_global(MP_QSTR_FEATURES, mp_obj_new_tuple(ML_FEAT_COUNT, names));
    }

    MP_DYNRUNTIME_INIT_EXIT
}
