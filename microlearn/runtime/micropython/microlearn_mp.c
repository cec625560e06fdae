// microlearn_mp: MicroPython native module (dynruntime) running microlearn model blobs.
//
//   import array, microlearn_mp as ml
//   model = ml.load("model.mlb")       # path, or any buffer (bytes, bytearray, memoryview)
//   model = ml.load_at(address, size)  # blob in memory-mapped flash: read in place, no copy
//   x = array.array("f", features)
//   model.predict(x)                   # classifier: class index (int)
//   model.predict_proba(x, out)        # classifier: fills array("f") out (len >= n_outputs)
//   model.regress(x, out)              # regressor: fills array("f") out
//   model.n_features(), model.n_outputs(), model.n_trees(), model.is_classifier()
//
// The blob is validated by the C loader (ml_blob.h) and used in place: a buffer that lives
// in flash (e.g. a memoryview of a flash partition) is read from there; a path is read once
// into a bytes object. predict / predict_proba / regress allocate nothing.
// Built from the same C runtime as the generated headers (microlearn/runtime/*.h).
#include "py/dynruntime.h"
#include "ml_blob.h"

typedef struct _mlmp_model_t {
    mp_obj_base_t base;
    mp_obj_t buffer;  // keeps the blob alive while the model is used
    float *scratch;   // n_outputs floats for predict()
    ml_trees_t trees;
} mlmp_model_t;

mp_obj_full_type_t mlmp_model_type;

static NORETURN void mlmp_raise_load_error(int32_t code) {
    switch (code) {
        case ML_ERR_VERSION:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: unsupported format version"));
        case ML_ERR_UNSUPPORTED:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: model family not supported"));
        default:
            mp_raise_ValueError(MP_ERROR_TEXT("model blob: corrupt, truncated or not a model"));
    }
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

static mp_obj_t mlmp_new_model(mp_obj_t buffer, const void *data, size_t size) {
    mlmp_model_t *self = m_new_obj(mlmp_model_t);
    self->base.type = (mp_obj_type_t *)&mlmp_model_type;
    self->buffer = buffer;
    self->scratch = NULL;
    int32_t status = ml_trees_from_blob(&self->trees, data, size);
    if (status != ML_OK) {
        mlmp_raise_load_error(status);
    }
    self->scratch = m_new(float, (size_t)self->trees.n_outputs);
    return MP_OBJ_FROM_PTR(self);
}

// load_at(address, size) -> Model: a blob in memory-mapped flash (or any memory that stays
// unchanged while the model is used), read in place. The caller vouches for the address;
// the blob itself is validated like any other.
static mp_obj_t mlmp_load_at(mp_obj_t addr_obj, mp_obj_t size_obj) {
    uintptr_t addr = (uintptr_t)mp_obj_get_int_truncated(addr_obj);
    mp_int_t size = mp_obj_get_int(size_obj);
    if (size < 0 || (addr & 3u) != 0u) {
        mp_raise_ValueError(MP_ERROR_TEXT("load_at: address must be 4-byte aligned, size >= 0"));
    }
    return mlmp_new_model(mp_const_none, (const void *)addr, (size_t)size);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_load_at_obj, mlmp_load_at);

// load(path_or_buffer) -> Model
static mp_obj_t mlmp_load(mp_obj_t src) {
    mp_obj_t buffer = mp_obj_is_str(src) ? mlmp_read_file(src) : src;
    mp_buffer_info_t bi;
    mp_get_buffer_raise(buffer, &bi, MP_BUFFER_READ);
    if (((uintptr_t)bi.buf & 3u) != 0u) {
        // tables are read in place as 32-bit words: copy to an aligned buffer
        uint32_t *copy = m_new(uint32_t, (bi.len + 3) / 4);
        const uint8_t *src_bytes = (const uint8_t *)bi.buf;
        for (size_t i = 0; i < bi.len; i++) {
            ((uint8_t *)copy)[i] = src_bytes[i];
        }
        buffer = mp_obj_new_bytearray_by_ref(bi.len, copy);
        bi.buf = copy;
    }
    return mlmp_new_model(buffer, bi.buf, bi.len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_load_obj, mlmp_load);

static const float *mlmp_features(mlmp_model_t *self, mp_obj_t x_obj) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(x_obj, &bi, MP_BUFFER_READ);
    if (bi.typecode != 'f' || bi.len != (size_t)self->trees.n_features * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
    }
    return (const float *)bi.buf;
}

static float *mlmp_out(mlmp_model_t *self, mp_obj_t out_obj) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(out_obj, &bi, MP_BUFFER_WRITE);
    if (bi.typecode != 'f' || bi.len < (size_t)self->trees.n_outputs * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("out must be array('f') of at least n_outputs values"));
    }
    return (float *)bi.buf;
}

// predict(x) -> class index (classifier)
static mp_obj_t mlmp_predict(mp_obj_t self_obj, mp_obj_t x_obj) {
    mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);
    if (!ml_trees_is_classifier(&self->trees)) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict() is for classifiers; use regress(x, out)"));
    }
    return MP_OBJ_NEW_SMALL_INT(ml_trees_predict(&self->trees, mlmp_features(self, x_obj),
                                                  self->scratch));
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_predict_obj, mlmp_predict);

// predict_proba(x, out) -> None (classifier); regress(x, out) -> None (regressor)
static mp_obj_t mlmp_run_into(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    mlmp_model_t *self = MP_OBJ_TO_PTR(self_obj);
    ml_trees_run(&self->trees, mlmp_features(self, x_obj), mlmp_out(self, out_obj));
    return mp_const_none;
}
static mp_obj_t mlmp_predict_proba(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    if (!ml_trees_is_classifier(&((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees)) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict_proba() is for classifiers"));
    }
    return mlmp_run_into(self_obj, x_obj, out_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mlmp_predict_proba_obj, mlmp_predict_proba);
static mp_obj_t mlmp_regress(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    if (ml_trees_is_classifier(&((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees)) {
        mp_raise_TypeError(MP_ERROR_TEXT("regress() is for regressors"));
    }
    return mlmp_run_into(self_obj, x_obj, out_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mlmp_regress_obj, mlmp_regress);

static mp_obj_t mlmp_n_features(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees.n_features);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_features_obj, mlmp_n_features);
static mp_obj_t mlmp_n_outputs(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees.n_outputs);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_outputs_obj, mlmp_n_outputs);
static mp_obj_t mlmp_n_trees(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees.n_trees);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_trees_obj, mlmp_n_trees);
static mp_obj_t mlmp_is_classifier(mp_obj_t self_obj) {
    return mp_obj_new_bool(ml_trees_is_classifier(&((mlmp_model_t *)MP_OBJ_TO_PTR(self_obj))->trees));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_is_classifier_obj, mlmp_is_classifier);

mp_map_elem_t mlmp_model_locals_dict_table[7];
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
    mlmp_model_locals_dict_table[5] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_trees), MP_OBJ_FROM_PTR(&mlmp_n_trees_obj) };
    mlmp_model_locals_dict_table[6] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_is_classifier), MP_OBJ_FROM_PTR(&mlmp_is_classifier_obj) };
    MP_OBJ_TYPE_SET_SLOT(&mlmp_model_type, locals_dict, (void *)&mlmp_model_locals_dict, 0);

    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&mlmp_model_type));
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mlmp_load_obj));
    mp_store_global(MP_QSTR_load_at, MP_OBJ_FROM_PTR(&mlmp_load_at_obj));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(ML_BLOB_VERSION));

    MP_DYNRUNTIME_INIT_EXIT
}
