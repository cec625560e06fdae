// microlearn_mp: MicroPython native module (dynruntime) running microlearn model files.
//
//   import array, microlearn_mp as ml
//   model = ml.load("model.mlb")       # path, or a buffer (bytes: used in place; other
//                                      # buffers are copied, so later changes cannot reach it)
//   model = ml.load_at(address, size)  # a file in memory-mapped flash: read in place
//   x = array.array("f", features)
//   model.predict(x)                   # class index (classifier) or +1/-1 (outlier detector)
//   model.predict_proba(x, out)        # fills array("f") out (len >= n_outputs)
//   model.decision_function(x, out)    # len >= n_decision (1 for outlier detectors)
//   model.score_samples(x, out)        # out[0]
//   model.regress(x, out)              # regressor
//   model.transform(x, out)            # transformer
//   model.n_features(), model.n_outputs(), model.n_steps(), model.task(), model.is_classifier()
//
// The file is validated by the C loader (ml_model.h: every family's section loader) and
// used in place. Every method allocates nothing; a method the model does not have raises
// TypeError. Built from the same C runtime as the generated headers.
#include "py/dynruntime.h"
#if defined(MLMP_FAMILIES)
// written by `microlearn micropython build --families ... / --for model.mlb`:
// #define ML_MODEL_FAMILIES(X) X(1, trees) ... (only the engines this module carries)
#include "mlmp_families.h"
#endif
#include "ml_model.h"

typedef struct _mlmp_model_t {
    mp_obj_base_t base;
    mp_obj_t buffer;  // keeps the file alive while the model is used
    float *scratch;   // ml_model_scratch_floats() floats
    ml_model_t model; // only steps[0 .. n_steps-1] are allocated
} mlmp_model_t;

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

// obj.name() with no arguments
static mp_obj_t mlmp_call0(mp_obj_t obj, qstr name) {
    mp_obj_t dest[2];
    mp_load_method(obj, name, dest);
    return dest[1] == MP_OBJ_NULL ? mp_call_function_n_kw(dest[0], 0, 0, NULL)
                                  : mp_call_function_n_kw(dest[0], 1, 0, &dest[1]);
}

static mp_obj_t mlmp_read_file(mp_obj_t path) {
    mp_obj_t args[2] = { path, MP_OBJ_NEW_QSTR(MP_QSTR_rb) };
    mp_obj_t f = mp_call_function_n_kw(mp_load_global(MP_QSTR_open), 2, 0, args);
    mp_obj_t data = mlmp_call0(f, MP_QSTR_read);
    mlmp_call0(f, MP_QSTR_close);
    return data;
}

// index < 0: the whole file; else only section `index` (a step of a pipeline whose steps
// belong to different family modules: `micropython build --split`)
static mp_obj_t mlmp_new_model(mp_obj_t buffer, const void *data, size_t size, mp_int_t index) {
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
    // the model struct with room for n_steps steps only
    const size_t bytes = sizeof(mlmp_model_t) -
                         (size_t)(ML_MODEL_MAX_STEPS - (int32_t)n_steps) * sizeof(ml_model_step_t);
    mlmp_model_t *self = (mlmp_model_t *)m_malloc(bytes);
    if (self == NULL) {
        mlmp_raise_memory();
    }
    self->base.type = (mp_obj_type_t *)&mlmp_model_type;
    self->buffer = buffer;
    self->scratch = NULL;
    status = index >= 0 ? ml_model_load_step(&self->model, data, size, (uint32_t)index)
                        : ml_model_load(&self->model, data, size);
    if (status != ML_OK) {
        mlmp_raise_load_error(status);
    }
    const int32_t n = ml_model_scratch_floats(&self->model);
    if (n > 0) {
        if ((uint32_t)n > (uint32_t)0x3FFFFFFF / sizeof(float)) {
            mlmp_raise_memory();
        }
        self->scratch = (float *)m_malloc((size_t)n * sizeof(float));
        if (self->scratch == NULL) {
            mlmp_raise_memory();
        }
    }
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
    return mlmp_new_model(mp_const_none, (const void *)addr, (size_t)size, index);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mlmp_load_at_obj, 2, 3, mlmp_load_at);

// load(path_or_buffer[, index]) -> Model (index: only that section, see mlmp_new_model)
static mp_obj_t mlmp_load(size_t n_args, const mp_obj_t *args) {
    mp_obj_t src = args[0];
    mp_int_t index = n_args > 1 ? mp_obj_get_int(args[1]) : -1;
    mp_obj_t buffer = mp_obj_is_str(src) ? mlmp_read_file(src) : src;
    mp_buffer_info_t bi;
    mp_get_buffer_raise(buffer, &bi, MP_BUFFER_READ);
    // bytes cannot change: read in place when aligned. Anything else (bytearray, array,
    // memoryview) could be changed after the checks: copy it.
    const int immutable = mp_obj_get_type(buffer) == &mp_type_bytes;
    if (!immutable || ((uintptr_t)bi.buf & 7u) != 0u) {
        // heap blocks are at least 8-byte aligned (float64 tables of some families)
        uint32_t *copy = (uint32_t *)m_malloc((bi.len + 7u) & ~(size_t)7u);
        if (copy == NULL) {
            mlmp_raise_memory();
        }
        const uint8_t *src_bytes = (const uint8_t *)bi.buf;
        for (size_t i = 0; i < bi.len; i++) {
            ((uint8_t *)copy)[i] = src_bytes[i];
        }
        buffer = mp_obj_new_bytearray_by_ref(bi.len, copy);
        bi.buf = copy;
    }
    return mlmp_new_model(buffer, bi.buf, bi.len, index);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mlmp_load_obj, 1, 2, mlmp_load);

static const float *mlmp_features(mlmp_model_t *self, mp_obj_t x_obj) {
    mp_buffer_info_t bi;
    // not a buffer (list, tuple, ...): ValueError like a wrong buffer type (as the fallback)
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || bi.typecode != 'f' ||
        bi.len != (size_t)self->model.info.n_features * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
    }
    return (const float *)bi.buf;
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

// predict(x) -> class index (classifier) or +1/-1 (outlier detector)
static mp_obj_t mlmp_predict(mp_obj_t self_obj, mp_obj_t x_obj) {
    mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);
    const int32_t task = self->model.info.task;
    if (task != ML_TASK_CLASSIFIER && task != ML_TASK_OUTLIER_DETECTOR) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict() is for classifiers and outlier detectors; "
                                         "use regress(x, out) / transform(x, out)"));
    }
    const float *x = mlmp_features(self, x_obj);
    // one step (the common case): straight to the family's predict; the model, x and the
    // scratch are known valid here
    const int32_t r = self->model.n_steps == 1
                          ? ml_model__predict(&self->model.steps[0], x, NULL, self->scratch)
                          : ml_model_predict(&self->model, x, self->scratch);
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
        const float *x = mlmp_features(self, x_obj);                                     \
        if (ml_model_##NAME(&self->model, x, mlmp_out(out_obj, (WIDTH)), self->scratch)  \
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

mp_map_elem_t mlmp_model_locals_dict_table[11];
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
    MP_OBJ_TYPE_SET_SLOT(&mlmp_model_type, locals_dict, (void *)&mlmp_model_locals_dict, 0);

    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&mlmp_model_type));
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mlmp_load_obj));
    mp_store_global(MP_QSTR_load_at, MP_OBJ_FROM_PTR(&mlmp_load_at_obj));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(ML_BLOB_VERSION));

    MP_DYNRUNTIME_INIT_EXIT
}
