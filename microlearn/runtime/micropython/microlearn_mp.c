// microlearn_mp: MicroPython native module (dynruntime) running microlearn model files.
//
//   import array, microlearn_mp as ml
//   model = ml.load("model.mlb")       # path (read into one heap block of the file's size),
//                                      # or a buffer (bytes: used in place; other buffers are
//                                      # copied, so later changes cannot reach it)
//   model = ml.load_at(address, size)  # a file in memory-mapped flash: read in place
//   x = array.array("f", features)
//   model.predict(x)                   # class index (classifier) or +1/-1 (outlier detector)
//   model.predict_proba(x, out)        # fills array("f") out (len >= n_outputs)
//   model.decision_function(x, out)    # len >= n_decision (1 for outlier detectors)
//   model.score_samples(x, out)        # out[0]
//   model.regress(x, out)              # regressor
//   model.transform(x, out)            # transformer
//   model.n_features(), model.n_outputs(), model.n_steps(), model.task(), model.is_classifier()
//   model.input_quantization()         # (scale, zero_point) of an int8 net, else None
//
// Integer entry (int8 nets, ml_model_run_int): predict / predict_proba / regress also take
// x = array('b') of n_features int8 values already quantized as round(v / scale) +
// zero_point, or array('h') of int16 feature values (quantized inside like floats); other
// models raise TypeError for them.
//
// The file is validated by the C loader (ml_model.h: every family's section loader) and
// used in place. Heap held by a model: its file (or nothing with load_at) and one block for
// the model struct (plus the scratch when a model needs more than MLMP_STACK_FLOATS floats;
// less is on the C stack of each call). Every method allocates nothing; a method the model
// does not have raises TypeError. Built from the same C runtime as the generated headers.
#include "py/dynruntime.h"
#if defined(MLMP_FAMILIES)
// written by `microlearn micropython build --families ... / --for model.mlb`:
// #define ML_MODEL_FAMILIES(X) X(1, trees) ... (only the engines this module carries)
#include "mlmp_families.h"
#endif
// Native modules link no libc: the int8 nets kernels (ml_nets_int8.h: pad, concatenation
// copies; SIMD loads; the arena reset of a model file's forward pass) call memmove /
// memcpy / memset, provided here under the runtime's names.
#include <string.h>
static void *mlmp_memmove(void *dst, const void *src, size_t n) {
    volatile unsigned char *d = (volatile unsigned char *)dst; // volatile: never turned
    const unsigned char *s = (const unsigned char *)src;      // back into a memmove call
    if (d < s) {
        for (size_t i = 0; i < n; i++) {
            d[i] = s[i];
        }
    } else {
        for (size_t i = n; i > 0; i--) {
            d[i - 1] = s[i - 1];
        }
    }
    return dst;
}
static void *mlmp_memset(void *dst, int c, size_t n) {
    volatile unsigned char *d = (volatile unsigned char *)dst; // volatile: not a memset call
    for (size_t i = 0; i < n; i++) {
        d[i] = (unsigned char)c;
    }
    return dst;
}
#define memmove mlmp_memmove
#define memcpy mlmp_memmove
#define memset mlmp_memset
#include "ml_model.h"

typedef struct _mlmp_model_t {
    mp_obj_base_t base;
    const void *keep; // the file's object or heap buffer: the GC scans this block, so the
                      // file stays alive while the model is used
    float *scratch;   // ml_model_scratch_floats() floats, in this block after steps[n_steps-1];
                      // NULL: at most MLMP_STACK_FLOATS, on the C stack of each call
    ml_model_t model; // only steps[0 .. n_steps-1] are allocated
} mlmp_model_t;

// a model needing at most this much scratch gets it on the C stack of each call (no heap)
#define MLMP_STACK_FLOATS 32

mp_obj_full_type_t mlmp_model_type;

static NORETURN void mlmp_raise_load_error(int32_t code) {
    switch (code) {
        case ML_ERR_VERSION:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: unsupported format version"));
        case ML_ERR_UNSUPPORTED:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: model family or method not supported"));
        default:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: corrupt, truncated or not a model"));
    }
}

static NORETURN void mlmp_raise_memory(void) {
    mp_raise_msg((mp_obj_type_t *)mp_load_global(MP_QSTR_MemoryError),
                 MP_ERROR_TEXT("not enough heap for the model"));
}

// obj.name(a0, a1)[:n args]
static mp_obj_t mlmp_call(mp_obj_t obj, qstr name, size_t n, mp_obj_t a0, mp_obj_t a1) {
    mp_obj_t dest[4];
    mp_load_method(obj, name, dest);
    dest[2] = a0;
    dest[3] = a1;
    return dest[1] == MP_OBJ_NULL ? mp_call_function_n_kw(dest[0], n, 0, &dest[2])
                                  : mp_call_function_n_kw(dest[0], n + 1u, 0, &dest[1]);
}

// The file at `path` read straight into one heap block of its size (heap blocks are 8-byte
// aligned; no bytes object, no copy): the model then holds the file's bytes and no more.
static void *mlmp_read_file(mp_obj_t path, size_t *len) {
    const mp_obj_t zero = MP_OBJ_NEW_SMALL_INT(0);
    mp_obj_t args[2] = { path, MP_OBJ_NEW_QSTR(MP_QSTR_rb) };
    mp_obj_t f = mp_call_function_n_kw(mp_load_global(MP_QSTR_open), 2, 0, args);
    const mp_int_t n = mp_obj_get_int(mlmp_call(f, MP_QSTR_seek, 2, zero, MP_OBJ_NEW_SMALL_INT(2)));
    mlmp_call(f, MP_QSTR_seek, 1, zero, zero);
    void *buf = m_malloc(n > 0 ? (size_t)n : 1u);
    if (buf == NULL) {
        mlmp_raise_memory();
    }
    // readinto a temporary bytearray over the block (garbage afterwards)
    const mp_obj_t got = mlmp_call(f, MP_QSTR_readinto, 1,
                                   mp_obj_new_bytearray_by_ref(n > 0 ? (size_t)n : 0u, buf), zero);
    mlmp_call(f, MP_QSTR_close, 0, zero, zero);
    if (n < 0 || got == mp_const_none || mp_obj_get_int(got) != n) {
        mp_raise_ValueError(MP_ERROR_TEXT("model blob: cannot read the whole file"));
    }
    *len = (size_t)n;
    return buf;
}

// index < 0: the whole file; else only section `index` (a step of a pipeline whose steps
// belong to different family modules: `micropython build --split`). `keep`: what must stay
// alive while the model is used (the file's object or heap block; NULL for load_at).
static mp_obj_t mlmp_new_model(const void *keep, const void *data, size_t size, mp_int_t index) {
    uint32_t version = 0, n_steps = 0, total = 0;
    int32_t status = ml_blob_check(data, size, &version, &n_steps, &total);
    if (status != ML_OK) {
        mlmp_raise_load_error(status);
    }
    if (index >= 0) {
        n_steps = 1u;
    }
    if (n_steps > (uint32_t)ML_MODEL_MAX_STEPS) {
        mlmp_raise_load_error(ML_ERR_UNSUPPORTED);
    }
    // one heap block: the model struct with room for n_steps steps only, then the scratch
    const size_t bytes = sizeof(mlmp_model_t) -
                         (size_t)(ML_MODEL_MAX_STEPS - (int32_t)n_steps) * sizeof(ml_model_step_t);
    mlmp_model_t *self = (mlmp_model_t *)m_malloc(bytes);
    size_t have = bytes;
    int32_t n = 0;
    for (;;) {
        if (self == NULL) {
            mlmp_raise_memory();
        }
        status = index >= 0 ? ml_model_load_step(&self->model, data, size, (uint32_t)index)
                            : ml_model_load(&self->model, data, size);
        if (status != ML_OK) {
            mlmp_raise_load_error(status);
        }
        n = ml_model_scratch_floats(&self->model);
        if ((uint32_t)n > (uint32_t)0x3FFFFFFF / sizeof(float)) {
            mlmp_raise_memory();
        }
        const size_t need = bytes + (n > MLMP_STACK_FLOATS ? (size_t)n * sizeof(float) : 0u);
        if (need <= have) {
            break;
        }
        // grow the block by the scratch; if it moved, load again (same file, same checks)
        mlmp_model_t *grown = (mlmp_model_t *)m_realloc(self, need);
        have = need;
        if (grown == self) {
            break;
        }
        self = grown;
    }
    self->base.type = (mp_obj_type_t *)&mlmp_model_type;
    self->keep = keep;
    self->scratch = n > MLMP_STACK_FLOATS ? (float *)(void *)((uint8_t *)self + bytes) : NULL;
    return MP_OBJ_FROM_PTR(self);
}

// load_at(address, size) -> Model: a file in memory-mapped flash (or any memory that stays
// unchanged while the model is used), read in place. The caller vouches for the address;
// the file itself is validated like any other.
// load_at(address, size[, index])
static mp_obj_t mlmp_load_at(size_t n_args, const mp_obj_t *args) {
    uintptr_t addr = (uintptr_t)mp_obj_get_int_truncated(args[0]);
    mp_int_t size = mp_obj_get_int(args[1]);
    mp_int_t index = n_args > 2 ? mp_obj_get_int(args[2]) : -1;
    if (size < 0 || (addr & 7u) != 0u) {
        mp_raise_ValueError(MP_ERROR_TEXT("load_at: address must be 8-byte aligned, size >= 0"));
    }
    return mlmp_new_model(NULL, (const void *)addr, (size_t)size, index);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mlmp_load_at_obj, 2, 3, mlmp_load_at);

// load(path_or_buffer[, index]) -> Model (index: only that section, see mlmp_new_model)
static mp_obj_t mlmp_load(size_t n_args, const mp_obj_t *args) {
    mp_obj_t src = args[0];
    mp_int_t index = n_args > 1 ? mp_obj_get_int(args[1]) : -1;
    if (mp_obj_is_str(src)) {
        size_t len = 0;
        const void *file = mlmp_read_file(src, &len);
        return mlmp_new_model(file, file, len, index);
    }
    mp_buffer_info_t bi;
    mp_get_buffer_raise(src, &bi, MP_BUFFER_READ);
    // bytes cannot change: read in place when aligned. Anything else (bytearray, array,
    // memoryview) could be changed after the checks: copy it.
    if (mp_obj_get_type(src) == &mp_type_bytes && ((uintptr_t)bi.buf & 7u) == 0u) {
        return mlmp_new_model(MP_OBJ_TO_PTR(src), bi.buf, bi.len, index);
    }
    // heap blocks are at least 8-byte aligned (float64 tables of some families)
    uint8_t *copy = (uint8_t *)m_malloc(bi.len > 0u ? bi.len : 1u);
    if (copy == NULL) {
        mlmp_raise_memory();
    }
    const uint8_t *src_bytes = (const uint8_t *)bi.buf;
    for (size_t i = 0; i < bi.len; i++) {
        copy[i] = src_bytes[i];
    }
    return mlmp_new_model(copy, copy, bi.len, index);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mlmp_load_obj, 1, 2, mlmp_load);

// inlined into predict() (the call that runs most); the other methods call mlmp_features
static inline const float *mlmp_features_inline(mlmp_model_t *self, mp_obj_t x_obj) {
    mp_buffer_info_t bi;
    // not a buffer (list, tuple, ...): ValueError like a wrong buffer type (as the fallback)
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || bi.typecode != 'f' ||
        bi.len != (size_t)self->model.info.n_features * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
    }
    return (const float *)bi.buf;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static const float *mlmp_features(mlmp_model_t *self, mp_obj_t x_obj) {
    return mlmp_features_inline(self, x_obj);
}

static float *mlmp_out(mp_obj_t out_obj, int32_t width) {
    mp_buffer_info_t bi;
    if (!mp_get_buffer(out_obj, &bi, MP_BUFFER_WRITE) || bi.typecode != 'f' ||
        bi.len < (size_t)width * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("out must be array('f') of at least the output width"));
    }
    return (float *)bi.buf;
}

static NORETURN void mlmp_no_method(void) {
    mp_raise_TypeError(MP_ERROR_TEXT("this model has no such method"));
}

// x as the integer entry's input: 1 with *x8 or *x16 set when x is array('b') / array('h')
// (TypeError when the model has no integer entry, ValueError for a wrong length); 0 for
// any other x (the float path checks it).
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int mlmp_int_input(mlmp_model_t *self, mp_obj_t x_obj, const int8_t **x8,
                          const int16_t **x16) {
    mp_buffer_info_t bi;
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || (bi.typecode != 'b' && bi.typecode != 'h')) {
        return 0;
    }
    float scale;
    int32_t zp;
    if (ml_model_input_quantization(&self->model, &scale, &zp) != ML_OK) {
        mp_raise_TypeError(MP_ERROR_TEXT("array('b')/array('h') input is for int8 nets with an "
                                         "integer entry; this model takes array('f')"));
    }
    const size_t n = (size_t)self->model.info.n_features;
    if (bi.len != n * (bi.typecode == 'b' ? 1u : 2u)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must have n_features values"));
    }
    *x8 = bi.typecode == 'b' ? (const int8_t *)bi.buf : NULL;
    *x16 = bi.typecode == 'h' ? (const int16_t *)bi.buf : NULL;
    return 1;
}

// predict / predict_proba / regress of the integer entry (out NULL: predict)
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static mp_obj_t mlmp_run_int(mlmp_model_t *self, const int8_t *x8, const int16_t *x16,
                             mp_obj_t out_obj) {
    float local[MLMP_STACK_FLOATS];
    float *scratch = self->scratch != NULL ? self->scratch : local;
    int32_t cls = 0;
    float *out = out_obj != MP_OBJ_NULL ? mlmp_out(out_obj, self->model.info.n_outputs) : NULL;
    const int32_t r = ml_model_run_int(&self->model, x8, x16, out,
                                       out == NULL ? &cls : NULL, scratch);
    if (r != ML_OK) {
        mlmp_raise_load_error(r);
    }
    return out == NULL ? MP_OBJ_NEW_SMALL_INT(cls) : mp_const_none;
}

// x of the methods other than predict: the floats of array('f'), or NULL with *x8 / *x16
// set for the integer entry (array('b') / array('h') of an int8 net); else raises
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static const float *mlmp_input(mlmp_model_t *self, mp_obj_t x_obj, const int8_t **x8,
                               const int16_t **x16) {
    mp_buffer_info_t bi;
    if (mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) && bi.typecode == 'f' &&
        bi.len == (size_t)self->model.info.n_features * sizeof(float)) {
        return (const float *)bi.buf;
    }
    if (mlmp_int_input(self, x_obj, x8, x16)) {
        return NULL;
    }
    return mlmp_features(self, x_obj); // raises the ValueError
}

// input_quantization() -> (scale, zero_point) of an int8 net's integer entry, or None
static mp_obj_t mlmp_input_quantization(mp_obj_t self_obj) {
    mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);
    float scale;
    int32_t zp;
    if (ml_model_input_quantization(&self->model, &scale, &zp) != ML_OK) {
        return mp_const_none;
    }
    mp_obj_t items[2] = { mp_obj_new_float_from_f(scale), MP_OBJ_NEW_SMALL_INT(zp) };
    return mp_obj_new_tuple(2, items);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_input_quantization_obj, mlmp_input_quantization);

// predict(x) for x other than array('f') of n_features: array('b') / array('h') of an int8
// net (the integer entry), else the ValueError of mlmp_features
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static mp_obj_t mlmp_predict_other(mlmp_model_t *self, mp_obj_t x_obj) {
    const int8_t *x8;
    const int16_t *x16;
    if (mlmp_int_input(self, x_obj, &x8, &x16)) {
        return mlmp_run_int(self, x8, x16, MP_OBJ_NULL);
    }
    (void)mlmp_features(self, x_obj); // raises: x is not a valid array('f')
    mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
}

// predict(x) -> class index (classifier) or +1/-1 (outlier detector)
static mp_obj_t mlmp_predict(mp_obj_t self_obj, mp_obj_t x_obj) {
    mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);
    const int32_t task = self->model.info.task;
    if (task != ML_TASK_CLASSIFIER && task != ML_TASK_OUTLIER_DETECTOR) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict() is for classifiers and outlier detectors; "
                                         "use regress(x, out) / transform(x, out)"));
    }
    mp_buffer_info_t bi;
    // not a buffer (list, tuple, ...): ValueError like a wrong buffer type (as the fallback)
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || bi.typecode != 'f' ||
        bi.len != (size_t)self->model.info.n_features * sizeof(float)) {
        return mlmp_predict_other(self, x_obj); // the integer entry, or the ValueError
    }
    const float *x = (const float *)bi.buf;
    float local[MLMP_STACK_FLOATS];
    float *scratch = self->scratch != NULL ? self->scratch : local;
    // one step (the common case): straight to the family's predict; the model, x and the
    // scratch are known valid here
    const int32_t r = self->model.n_steps == 1
                          ? ml_model__predict(&self->model.steps[0], x, NULL, scratch)
                          : ml_model_predict(&self->model, x, scratch);
    if (task == ML_TASK_CLASSIFIER ? r < 0 : (r != 1 && r != -1)) {
        mlmp_raise_load_error(r < 0 ? r : ML_ERR_MODEL);
    }
    return MP_OBJ_NEW_SMALL_INT(r);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_predict_obj, mlmp_predict);

#define MLMP_METHOD(NAME, OK, WIDTH)                                                     \
    static mp_obj_t mlmp_##NAME(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {   \
        mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);                                    \
        const ml_info_t *info = &self->model.info;                                       \
        if (!(OK)) {                                                                     \
            mlmp_no_method();                                                            \
        }                                                                                \
        const int8_t *x8 = NULL;                                                         \
        const int16_t *x16 = NULL;                                                       \
        const float *x = mlmp_input(self, x_obj, &x8, &x16);                             \
        if (x == NULL) {                                                                 \
            return mlmp_run_int(self, x8, x16, out_obj);                                 \
        }                                                                                \
        float local[MLMP_STACK_FLOATS];                                                  \
        float *scratch = self->scratch != NULL ? self->scratch : local;                  \
        if (ml_model_##NAME(&self->model, x, mlmp_out(out_obj, (WIDTH)), scratch)        \
            != ML_OK) {                                                                  \
            mlmp_no_method();                                                            \
        }                                                                                \
        return mp_const_none;                                                            \
    }                                                                                    \
    static MP_DEFINE_CONST_FUN_OBJ_3(mlmp_##NAME##_obj, mlmp_##NAME);

MLMP_METHOD(predict_proba, info->has_proba, info->n_outputs)
MLMP_METHOD(decision_function, info->n_decision > 0, info->n_decision)
MLMP_METHOD(score_samples, info->has_score_samples, 1)
MLMP_METHOD(regress, info->task == ML_TASK_REGRESSOR, info->n_outputs)
MLMP_METHOD(transform, info->task == ML_TASK_TRANSFORMER, info->n_outputs)

static mp_obj_t mlmp_n_features(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->model.info.n_features);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_features_obj, mlmp_n_features);
static mp_obj_t mlmp_n_outputs(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->model.info.n_outputs);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_outputs_obj, mlmp_n_outputs);
static mp_obj_t mlmp_n_steps(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->model.n_steps);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_steps_obj, mlmp_n_steps);
static mp_obj_t mlmp_task(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->model.info.task);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_task_obj, mlmp_task);
static mp_obj_t mlmp_is_classifier(mp_obj_t self_obj) {
    return mp_obj_new_bool(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->model.info.task ==
                           ML_TASK_CLASSIFIER);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_is_classifier_obj, mlmp_is_classifier);

mp_map_elem_t mlmp_model_locals_dict_table[12];
static MP_DEFINE_CONST_DICT(mlmp_model_locals_dict, mlmp_model_locals_dict_table);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mlmp_model_type.base.type = (void *)&mp_type_type;
    mlmp_model_type.flags = MP_TYPE_FLAG_NONE;
    mlmp_model_type.name = MP_QSTR_Model;
    mlmp_model_locals_dict_table[0] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_predict), MP_OBJ_FROM_PTR(&mlmp_predict_obj) };
    mlmp_model_locals_dict_table[1] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_predict_proba), MP_OBJ_FROM_PTR(&mlmp_predict_proba_obj) };
    mlmp_model_locals_dict_table[2] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_regress), MP_OBJ_FROM_PTR(&mlmp_regress_obj) };
    mlmp_model_locals_dict_table[3] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_features), MP_OBJ_FROM_PTR(&mlmp_n_features_obj) };
    mlmp_model_locals_dict_table[4] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_outputs), MP_OBJ_FROM_PTR(&mlmp_n_outputs_obj) };
    mlmp_model_locals_dict_table[5] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_steps), MP_OBJ_FROM_PTR(&mlmp_n_steps_obj) };
    mlmp_model_locals_dict_table[6] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_is_classifier), MP_OBJ_FROM_PTR(&mlmp_is_classifier_obj) };
    mlmp_model_locals_dict_table[7] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_decision_function), MP_OBJ_FROM_PTR(&mlmp_decision_function_obj) };
    mlmp_model_locals_dict_table[8] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_score_samples), MP_OBJ_FROM_PTR(&mlmp_score_samples_obj) };
    mlmp_model_locals_dict_table[9] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_transform), MP_OBJ_FROM_PTR(&mlmp_transform_obj) };
    mlmp_model_locals_dict_table[10] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_task), MP_OBJ_FROM_PTR(&mlmp_task_obj) };
    mlmp_model_locals_dict_table[11] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_input_quantization), MP_OBJ_FROM_PTR(&mlmp_input_quantization_obj) };
    MP_OBJ_TYPE_SET_SLOT(&mlmp_model_type, locals_dict, (void *)&mlmp_model_locals_dict, 0);

    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&mlmp_model_type));
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mlmp_load_obj));
    mp_store_global(MP_QSTR_load_at, MP_OBJ_FROM_PTR(&mlmp_load_at_obj));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(ML_BLOB_VERSION));

    MP_DYNRUNTIME_INIT_EXIT
}
