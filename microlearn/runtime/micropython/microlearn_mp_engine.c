// The lean MicroPython build's engine (`microlearn micropython build --lean`): one small
// native module per node-table layout of a tree forest (MLMP_LAYOUT, e.g. u8_r8_t8: 1-byte
// feature indices, compact 1-byte relative child codes, 1-byte threshold indices), carrying
// the walk of that layout, the Model type and load / load_at; no file parsing, no CRC, no
// other layout. On bare-metal ports the code of a native module stays on the heap, so this
// is what a device holds. Built as microlearn_mp.mpy (the layout of the model the build is
// for, or u8_r8_t8) and as microlearn_mp_trees_<layout>.mpy for the other layouts:
//
//   import array, microlearn_mp as ml
//   model = ml.load("model.mlb")       # path (read into one heap block of its size), or a
//                                      # buffer (bytes: in place; others are copied)
//   model = ml.load_at(address, size)  # a file in memory-mapped flash, read in place
//   model.predict(x)                   # predict_proba / regress (x, out), n_features() ...
//
// A file is validated by microlearn_mp_check (the pure-Python loader of the fallback
// module, which checks every count, span, index and child code like the C loader); it is
// imported for the load only and removes itself from sys.modules, so the GC frees its
// code. It answers with the engine module of the file's layout and the validated header
// (table offsets from the start of the file), which that engine's _new() turns into a
// Model; a file no engine runs (a pipeline, another family, a boosted ensemble) is loaded
// by the full family modules (microlearn_mp_split.py, microlearn_mp_<family>.mpy).
// Model methods and errors are those of the full module, without decision_function /
// score_samples / transform (a forest has none: the full module raises TypeError for them,
// here they are absent: AttributeError; as scikit-learn's forests).
#include "py/dynruntime.h"
#define ML_TREES_BOOSTED 0
#include "ml_trees.h"
#include "ml_blob.h"
#include <stddef.h>

#define MLMP_CAT2(a, b) a##b
#define MLMP_CAT(a, b) MLMP_CAT2(a, b)
#define MLMP_SUM MLMP_CAT(ml_trees_sum_, MLMP_LAYOUT)

// MLMP_FB feature bytes, MLMP_CB child bytes (0: compact), MLMP_T8 1: threshold indices
#if !defined(MLMP_LAYOUT) || !defined(MLMP_FB) || !defined(MLMP_CB) || !defined(MLMP_T8)
#error "build with -DMLMP_LAYOUT=u8_r8_t8 -DMLMP_FB=1 -DMLMP_CB=0 -DMLMP_T8=1 (mp_module.py)"
#endif

// a model with at most this many outputs sums on the C stack; more: in its heap block
#define MLMP_STACK_FLOATS 32

typedef struct _mlmp_tree_model_t {
    mp_obj_base_t base;
    const void *keep; // the file's bytes in the heap (NULL: a file in flash); the GC scans
                      // this block, so they stay alive while the model is used
    float *scratch; // n_outputs floats after the struct, or NULL (on the C stack)
    ml_trees_t t;
} mlmp_tree_model_t;

mp_obj_full_type_t mlmp_tree_type;

enum {
    F_NF, F_NO, F_NT, F_NN, F_NR, F_BASE, F_INV, F_LEAVES, F_START, F_INDEX, F_FB, F_CB,
    F_FEATURE, F_THRESHOLD, F_TINDEX, F_TVALUES, F_LEFT, F_RIGHT, F_ROOTS, F_NAN, F_COUNT
};

// where each field goes in ml_trees_t: byte offset, and 0 a count, 1 a table (base +
// offset), 2 a table that may be absent (offset 0: NULL), 3 a float (its bits); written
// byte by byte (character access: no aliasing question for the walk's typed reads).
#define MLMP_FIELD(F, KIND) (uint16_t)(offsetof(ml_trees_t, F) * 4u + (KIND))
static const uint16_t mlmp_fields[F_COUNT] = {
    MLMP_FIELD(n_features, 0), MLMP_FIELD(n_outputs, 0), MLMP_FIELD(n_trees, 0),
    MLMP_FIELD(n_nodes, 0), MLMP_FIELD(n_leaf_rows, 0), MLMP_FIELD(leaf_base, 0),
    MLMP_FIELD(inv_n_trees, 3), MLMP_FIELD(leaf_values, 1), MLMP_FIELD(leaf_start, 2),
    MLMP_FIELD(leaf_index, 1), MLMP_FIELD(feature_bytes, 0), MLMP_FIELD(child_bytes, 0),
    MLMP_FIELD(feature, 1), MLMP_FIELD(threshold, 1), MLMP_FIELD(threshold_index, 1),
    MLMP_FIELD(threshold_values, 1), MLMP_FIELD(left, 1), MLMP_FIELD(right, 1),
    MLMP_FIELD(roots, 1), MLMP_FIELD(nan_left, 2),
};

// _new(buffer_or_address, fields) -> Model (fields: bytes of F_COUNT little-endian u32)
static mp_obj_t mlmp_new(mp_obj_t src, mp_obj_t fields_obj) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(fields_obj, &bi, MP_BUFFER_READ);
    const uint32_t *v = (const uint32_t *)bi.buf;
    const int short_fields = bi.len < 4u * F_COUNT;
    uintptr_t base;
    const void *keep = NULL;
    if (mp_obj_is_int(src)) {
        base = (uintptr_t)mp_obj_get_int_truncated(src);
    } else {
        mp_get_buffer_raise(src, &bi, MP_BUFFER_READ);
        keep = bi.buf;
        base = (uintptr_t)bi.buf;
    }
    if (short_fields || ((base | (uintptr_t)v) & 3u) != 0u || v[F_NO] == 0u ||
        v[F_NO] > 0xFFFFu || v[F_FB] != MLMP_FB || v[F_CB] != MLMP_CB ||
        (v[F_TINDEX] != 0u) != (MLMP_T8 != 0)) {
        mp_raise_ValueError(MP_ERROR_TEXT("model blob: not 4-byte aligned or another layout"));
    }
    const size_t extra = v[F_NO] > MLMP_STACK_FLOATS ? v[F_NO] * sizeof(float) : 0u;
    mlmp_tree_model_t *self = (mlmp_tree_model_t *)m_malloc(sizeof(mlmp_tree_model_t) + extra);
    if (self == NULL) {
        mp_raise_msg((mp_obj_type_t *)mp_load_global(MP_QSTR_MemoryError), NULL);
    }
    self->base.type = (mp_obj_type_t *)&mlmp_tree_type;
    self->keep = keep;
    self->scratch = extra != 0u ? (float *)(void *)(self + 1) : NULL;
    // (fields this engine never reads, e.g. the boosted ones, are not set)
    uint8_t *t = (uint8_t *)&self->t;
    for (size_t i = 0; i < F_COUNT; i++) {
        const uint32_t kind = mlmp_fields[i] & 3u;
        union {
            int32_t i;
            const void *p;
            uint8_t b[sizeof(void *) > 4 ? sizeof(void *) : 4];
        } val;
        size_t width = 4u;
        if (kind == 0u || kind == 3u) {
            val.i = (int32_t)v[i]; // a count, or the float's bits
        } else {
            val.p = kind == 2u && v[i] == 0u ? NULL : (const void *)(base + v[i]);
            width = sizeof(void *);
        }
        for (size_t j = 0; j < width; j++) {
            t[(mlmp_fields[i] >> 2) + j] = val.b[j];
        }
    }
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_new_obj, mlmp_new);

// load(path_or_buffer) / load_at(address, size) -> Model: microlearn_mp_check's (the
// loader, imported for the load; it drops itself so the GC frees its code)
static mp_obj_t mlmp_check(qstr method, size_t n, const mp_obj_t *args) {
    mp_obj_t name = MP_OBJ_NEW_QSTR(MP_QSTR_microlearn_mp_check);
    mp_obj_t mod = mp_call_function_n_kw(mp_load_global(MP_QSTR___import__), 1, 0, &name);
    return mp_call_function_n_kw(mp_load_attr(mod, method), n, 0, args);
}

static mp_obj_t mlmp_load(mp_obj_t src) {
    return mlmp_check(MP_QSTR_load, 1, &src);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_load_obj, mlmp_load);

static mp_obj_t mlmp_load_at(mp_obj_t addr, mp_obj_t size) {
    mp_obj_t args[2] = { addr, size };
    return mlmp_check(MP_QSTR_load_at, 2, args);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_load_at_obj, mlmp_load_at);

// _at(address, size) -> a bytearray over memory (what the loader reads of a file in flash)
static mp_obj_t mlmp_at(mp_obj_t addr, mp_obj_t size) {
    return mp_obj_new_bytearray_by_ref((size_t)mp_obj_get_int(size),
                                       (void *)(uintptr_t)mp_obj_get_int_truncated(addr));
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_at_obj, mlmp_at);

// _crc(buffer) -> CRC-32 (as zlib.crc32): the loader's checksum, in C
static mp_obj_t mlmp_crc(mp_obj_t buf) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(buf, &bi, MP_BUFFER_READ);
    return mp_obj_new_int_from_uint(ml_crc32((const uint8_t *)bi.buf, bi.len));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_crc_obj, mlmp_crc);

static NORETURN void mlmp_no_method(void) {
    mp_raise_TypeError(MP_ERROR_TEXT("this model has no such method"));
}

// acc[:n_outputs] = the sum of the trees' leaf rows for x (array('f') of n_features);
// one copy of the walk for every method
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mlmp_sum(const ml_trees_t *t, mp_obj_t x_obj, float *acc) {
    mp_buffer_info_t bi;
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || bi.typecode != 'f' ||
        bi.len != (size_t)t->n_features * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
    }
    ml_trees_clear(t, acc);
    MLMP_SUM(t, (const float *)bi.buf, acc);
}

// The first maximum of v[0..n-1], as ml_argmax_f32 (a NaN never wins; a NaN v[0] stays).
// Without an FPU (ML_TREES_INT_COMPARE) on the float's order-preserving integer keys: the
// same answer without libgcc's float comparisons (512 B of module code on armv6m). Sums
// of leaf rows from +0.0 are never -0.0 (whose key is below +0.0's).
static int32_t mlmp_argmax(const float *v, int32_t n) {
#if ML_TREES_INT_COMPARE
    int32_t best = 0;
    int32_t kb = ml_float_key(v[0]);
    if (ml_float_key_is_nan(kb)) {
        return 0;
    }
    for (int32_t i = 1; i < n; i++) {
        const int32_t k = ml_float_key(v[i]);
        if (!ml_float_key_is_nan(k) && k > kb) {
            best = i;
            kb = k;
        }
    }
    return best;
#else
    return ml_argmax_f32(v, n);
#endif
}

// predict(x) -> class index (classifiers): the first maximum of the sum of leaf rows
static mp_obj_t mlmp_predict(mp_obj_t self_obj, mp_obj_t x_obj) {
    mlmp_tree_model_t *self = MP_OBJ_TO_PTR(self_obj);
    const ml_trees_t *t = &self->t;
    if (t->leaf_base == 0) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict() is for classifiers; use regress(x, out)"));
    }
    float local[MLMP_STACK_FLOATS];
    float *acc = self->scratch != NULL ? self->scratch : local;
    mlmp_sum(t, x_obj, acc);
    return MP_OBJ_NEW_SMALL_INT(mlmp_argmax(acc, t->n_outputs));
}
static MP_DEFINE_CONST_FUN_OBJ_2(mlmp_predict_obj, mlmp_predict);

// out[:n_outputs] = mean of the trees' leaf rows (predict_proba: classifiers; regress)
static mp_obj_t mlmp_mean(mlmp_tree_model_t *self, mp_obj_t x_obj, mp_obj_t out_obj, int cls) {
    const ml_trees_t *t = &self->t;
    if ((t->leaf_base > 0) != cls) {
        mlmp_no_method();
    }
    mp_buffer_info_t bi;
    if (!mp_get_buffer(out_obj, &bi, MP_BUFFER_WRITE) || bi.typecode != 'f' ||
        bi.len < (size_t)t->n_outputs * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("out must be array('f') of at least the output width"));
    }
    float *out = (float *)bi.buf;
    mlmp_sum(t, x_obj, out);
    ml_trees_finish(t, out);
    return mp_const_none;
}

static mp_obj_t mlmp_predict_proba(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    return mlmp_mean(MP_OBJ_TO_PTR(self_obj), x_obj, out_obj, 1);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mlmp_predict_proba_obj, mlmp_predict_proba);

static mp_obj_t mlmp_regress(mp_obj_t self_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    return mlmp_mean(MP_OBJ_TO_PTR(self_obj), x_obj, out_obj, 0);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mlmp_regress_obj, mlmp_regress);

// n_features(), n_outputs(), n_steps(), task(), is_classifier()
static mp_obj_t mlmp_n_features(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_tree_model_t *)MP_OBJ_TO_PTR(self_obj))->t.n_features);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_features_obj, mlmp_n_features);
static mp_obj_t mlmp_n_outputs(mp_obj_t self_obj) {
    return MP_OBJ_NEW_SMALL_INT(((mlmp_tree_model_t *)MP_OBJ_TO_PTR(self_obj))->t.n_outputs);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_outputs_obj, mlmp_n_outputs);
static mp_obj_t mlmp_n_steps(mp_obj_t self_obj) {
    (void)self_obj;
    return MP_OBJ_NEW_SMALL_INT(1);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_n_steps_obj, mlmp_n_steps);
static mp_obj_t mlmp_task(mp_obj_t self_obj) {
    const int cls = ((mlmp_tree_model_t *)MP_OBJ_TO_PTR(self_obj))->t.leaf_base > 0;
    return MP_OBJ_NEW_SMALL_INT(cls ? ML_TASK_CLASSIFIER : ML_TASK_REGRESSOR);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_task_obj, mlmp_task);
static mp_obj_t mlmp_is_classifier(mp_obj_t self_obj) {
    return mp_obj_new_bool(((mlmp_tree_model_t *)MP_OBJ_TO_PTR(self_obj))->t.leaf_base > 0);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mlmp_is_classifier_obj, mlmp_is_classifier);

mp_map_elem_t mlmp_tree_locals_dict_table[8];
static MP_DEFINE_CONST_DICT(mlmp_tree_locals_dict, mlmp_tree_locals_dict_table);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mlmp_tree_type.base.type = (void *)&mp_type_type;
    mlmp_tree_type.flags = MP_TYPE_FLAG_NONE;
    mlmp_tree_type.name = MP_QSTR_Model;
    mp_map_elem_t *d = mlmp_tree_locals_dict_table;
    d[0] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_predict), MP_OBJ_FROM_PTR(&mlmp_predict_obj) };
    d[1] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_predict_proba), MP_OBJ_FROM_PTR(&mlmp_predict_proba_obj) };
    d[2] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_regress), MP_OBJ_FROM_PTR(&mlmp_regress_obj) };
    d[3] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_features), MP_OBJ_FROM_PTR(&mlmp_n_features_obj) };
    d[4] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_outputs), MP_OBJ_FROM_PTR(&mlmp_n_outputs_obj) };
    d[5] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_n_steps), MP_OBJ_FROM_PTR(&mlmp_n_steps_obj) };
    d[6] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_is_classifier), MP_OBJ_FROM_PTR(&mlmp_is_classifier_obj) };
    d[7] = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(MP_QSTR_task), MP_OBJ_FROM_PTR(&mlmp_task_obj) };
    MP_OBJ_TYPE_SET_SLOT(&mlmp_tree_type, locals_dict, (void *)&mlmp_tree_locals_dict, 0);

    mp_store_global(MP_QSTR__new, MP_OBJ_FROM_PTR(&mlmp_new_obj));
    mp_store_global(MP_QSTR__at, MP_OBJ_FROM_PTR(&mlmp_at_obj));
    mp_store_global(MP_QSTR__crc, MP_OBJ_FROM_PTR(&mlmp_crc_obj));
    mp_store_global(MP_QSTR__LAYOUT, MP_OBJ_NEW_SMALL_INT(MLMP_FB * 100 + MLMP_CB * 10 + MLMP_T8));
    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&mlmp_tree_type));
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mlmp_load_obj));
    mp_store_global(MP_QSTR_load_at, MP_OBJ_FROM_PTR(&mlmp_load_at_obj));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(2));

    MP_DYNRUNTIME_INIT_EXIT
}
