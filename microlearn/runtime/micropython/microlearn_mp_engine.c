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
//
// Speed (issue 9: at most 1,550 instructions per predict of the digits forest on Cortex-M4F
// with compact files; MicroPython's own method call is ~260 of them): compact files walk in
// mlmp_walk, specialized for the layout; on Armv7E-M with an FPU (M4F, M7) the walk, the
// zeroing of the sums and the argmax are inline assembly (MLMP_ASM_WALK), elsewhere C. An
// x of type array.array is read without the buffer protocol (mlmp_x).
#include "py/dynruntime.h"
#include "py/objarray.h"
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
    const mp_obj_type_t *x_type; // array.array, once an x of it passed mp_get_buffer
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
    self->x_type = NULL;
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

// Armv7E-M with an FPU (Cortex-M4F / M7): the compact walk, the zeroing of the sums and
// the argmax in assembly (GCC 12's code compares and subtracts the child code separately,
// spills table bases around the leaf code and if-converts the argmax: ~200 instructions
// more per predict of the forest). Same comparisons (vcmpe: x <= t goes left,
// unordered is a NaN) and the same answers as the C walk; the tests run both.
#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_ARCH_7EM__) && \
    defined(__ARM_FP) && !ML_TREES_INT_COMPARE
#define MLMP_ASM_WALK 1
#if MLMP_FB == 1
#define MLMP_ASM_FEATURE "ldrb %[r], [%[feature], %[n]]\n\t"
#elif MLMP_FB == 2
#define MLMP_ASM_FEATURE "ldrh %[r], [%[feature], %[n], lsl #1]\n\t"
#else
#define MLMP_ASM_FEATURE "ldr %[r], [%[feature], %[n], lsl #2]\n\t"
#endif
#if MLMP_T8
#define MLMP_ASM_THRESHOLD                        \
    "ldrb %[r], [%[tindex], %[n]]\n\t"            \
    "add %[r], %[tvalues], %[r], lsl #2\n\t"      \
    "vldr s15, [%[r]]\n\t"
#define MLMP_ASM_THRESHOLD_VARS uintptr_t ti_, tv_;
#define MLMP_ASM_THRESHOLD_LOAD "ldrd %[tindex], %[tvalues], [%[t], %[o_threshold]]\n\t"
#define MLMP_ASM_THRESHOLD_OUT [tindex] "=&r"(ti_), [tvalues] "=&r"(tv_)
#define MLMP_ASM_THRESHOLD_OFFSET [o_threshold] "i"(offsetof(ml_trees_t, threshold_index))
#else
#define MLMP_ASM_THRESHOLD                        \
    "add %[r], %[threshold], %[n], lsl #2\n\t"    \
    "vldr s15, [%[r]]\n\t"
#define MLMP_ASM_THRESHOLD_VARS uintptr_t th_;
#define MLMP_ASM_THRESHOLD_LOAD "ldr %[threshold], [%[t], %[o_threshold]]\n\t"
#define MLMP_ASM_THRESHOLD_OUT [threshold] "=&r"(th_)
#define MLMP_ASM_THRESHOLD_OFFSET [o_threshold] "i"(offsetof(ml_trees_t, threshold))
#endif
#else
#define MLMP_ASM_WALK 0
#endif

#if MLMP_CB == 0
#if MLMP_FB == 1
typedef uint8_t mlmp_feature_t;
#elif MLMP_FB == 2
typedef uint16_t mlmp_feature_t;
#else
typedef uint32_t mlmp_feature_t;
#endif

// The compact walk (child_bytes 0), specialized for this engine's layout: the feature and
// threshold widths are compile-time constants and every table base is in a register. A
// child code c is leaf c when c <= skip (= leaf ids - 1), else the node c - skip further
// on (the file's rule; ml_trees.h's ML_TREES_DEFINE_ROUTE_REL8, same comparisons and NaN
// routing): per node two byte loads and two float loads, one comparison, one byte load
// of the child code, one compare-and-branch and one add.
#if MLMP_ASM_WALK
static void mlmp_walk(const ml_trees_t *t, const float *x, float *acc) {
    const int32_t *root = (const int32_t *)t->roots;
    // The trees root .. roots_end in assembly, which loads the tables from t (no spills);
    // leaf codes stay r = c - skip and acc is offset by skip while it runs (no add for the
    // leaf id). Pure leaves (id < leaf_base) add 1 to their class there; it stops (r >= 0)
    // for the rest: r = 0, an impure leaf n; r = 1, a NaN input at node n (here, in C:
    // ml_trees_nan_goes_left); n >= 0 on entry resumes the walk at node n of the tree.
    int32_t n = -1;
    for (;;) {
        int32_t r;
        const uint8_t *l8;
        const uint8_t *r8;
        int32_t sk;
        uintptr_t f_, end_, top_;
        MLMP_ASM_THRESHOLD_VARS
        __asm__ volatile(
            "ldrd %[left], %[right], [%[t], %[o_left]]\n\t"
            "ldr %[feature], [%[t], %[o_feature]]\n\t"
            MLMP_ASM_THRESHOLD_LOAD
            "ldrd %[leaf_top], %[skip], [%[t], %[o_rows]]\n\t" // n_leaf_rows, leaf_base
            "add %[skip], %[skip], %[leaf_top]\n\t"
            "sub %[skip], %[skip], #1\n\t" // leaf ids - 1
            "rsb %[leaf_top], %[leaf_top], #1\n\t" // leaf_base - skip
            "ldr %[roots_end], [%[t], %[o_trees]]\n\t"
            "ldr %[r], [%[t], %[o_roots]]\n\t"
            "add %[roots_end], %[r], %[roots_end], lsl #2\n\t"
            "add %[acc], %[acc], %[skip], lsl #2\n\t"
            "vmov.f32 s13, #1.0\n\t"
            "cmp %[n], #0\n\t"
            "bge 2f\n\t"
            "b 5f\n"
            "1:\n\t"
            "ldrb %[r], [%[left], %[n]]\n\t" // x <= t: the left child
            "subs %[r], %[r], %[skip]\n\t"
            "ble 6f\n\t"
            "add %[n], %[n], %[r]\n"
            "2:\n\t" // node n
            MLMP_ASM_FEATURE
            "add %[r], %[x], %[r], lsl #2\n\t"
            "vldr s14, [%[r]]\n\t"
            MLMP_ASM_THRESHOLD
            "vcmpe.f32 s14, s15\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "bls 1b\n\t"
            "bvs 9f\n\t" // unordered: a NaN input
            "ldrb %[r], [%[right], %[n]]\n\t" // x > t: the right child
            "subs %[r], %[r], %[skip]\n\t"
            "add %[n], %[n], %[r]\n\t"
            "bgt 2b\n"
            "6:\n\t" // a leaf code: leaf r + skip
            "cmp %[r], %[leaf_top]\n\t"
            "bge 10f\n\t"
            "add %[r], %[acc], %[r], lsl #2\n\t" // pure: acc[r + skip] += 1
            "vldr s14, [%[r]]\n\t"
            "vadd.f32 s14, s14, s13\n\t"
            "vstr s14, [%[r]]\n"
            "5:\n\t" // the next tree
            "cmp %[root], %[roots_end]\n\t"
            "beq 8f\n\t"
            "ldr %[n], [%[root]], #4\n\t"
            "cmp %[n], #0\n\t"
            "bge 2b\n\t"
            "mvn %[r], %[n]\n\t" // a tree that is one leaf
            "sub %[r], %[r], %[skip]\n\t"
            "b 6b\n"
            "9:\n\t"
            "movs %[r], #1\n\t"
            "b 11f\n"
            "10:\n\t"
            "add %[n], %[r], %[skip]\n\t"
            "movs %[r], #0\n\t"
            "b 11f\n"
            "8:\n\t"
            "mov %[r], #-1\n"
            "11:\n\t"
            "sub %[acc], %[acc], %[skip], lsl #2\n"
            : [r] "=&r"(r), [n] "+r"(n), [root] "+r"(root), [acc] "+r"(acc),
              [left] "=&r"(l8), [right] "=&r"(r8), [skip] "=&r"(sk), [feature] "=&r"(f_),
              [roots_end] "=&r"(end_), [leaf_top] "=&r"(top_), MLMP_ASM_THRESHOLD_OUT
            : [t] "r"(t), [x] "r"(x), [o_left] "i"(offsetof(ml_trees_t, left)),
              [o_feature] "i"(offsetof(ml_trees_t, feature)),
              [o_rows] "i"(offsetof(ml_trees_t, n_leaf_rows)),
              [o_trees] "i"(offsetof(ml_trees_t, n_trees)),
              [o_roots] "i"(offsetof(ml_trees_t, roots)), MLMP_ASM_THRESHOLD_OFFSET
            : "s13", "s14", "s15", "cc", "memory");
        if (r < 0) {
            break;
        }
        int32_t c = n; // r == 0: an impure leaf
        if (r > 0) { // a NaN input at node n
            c = ml_trees_nan_goes_left(t, n) ? (int32_t)l8[n] : (int32_t)r8[n];
            if (c > sk) {
                n += c - sk; // resume there
                continue;
            }
        }
        n = -1;
        ml_trees_add_leaf(t, acc, c);
    }
}
#else
static void mlmp_walk(const ml_trees_t *t, const float *x, float *acc) {
    const mlmp_feature_t *const feature = (const mlmp_feature_t *)t->feature;
#if MLMP_T8
    const uint8_t *const tindex = t->threshold_index;
    const float *const tvalues = t->threshold_values;
#define MLMP_THRESHOLD(n) tvalues[tindex[n]]
#else
    const float *const threshold = t->threshold;
#define MLMP_THRESHOLD(n) threshold[n]
#endif
    const uint8_t *const left = (const uint8_t *)t->left;
    const uint8_t *const right = (const uint8_t *)t->right;
    const int32_t skip = t->leaf_base + t->n_leaf_rows - 1;
    const int32_t *root = (const int32_t *)t->roots;
    const int32_t *const roots_end = root + t->n_trees;
    for (; root != roots_end; root++) {
        int32_t n = *root;
        int32_t c = ~n; // a tree that is one leaf: its root code is ~leaf
        if (n >= 0) {
            for (;;) {
                const float v = x[feature[n]];
                const float th = MLMP_THRESHOLD(n);
                ML_TREES_BRANCH(t, n, v, th, (int32_t)left[n], (int32_t)right[n], c);
                if (c <= skip) {
                    break;
                }
                n += c - skip;
            }
        }
        if (ML_LIKELY(c < t->leaf_base)) {
            acc[c] += 1.0f; // a pure leaf: one class
        } else {
            ml_trees_add_leaf(t, acc, c);
        }
    }
#undef MLMP_THRESHOLD
}
#endif
#define MLMP_WALK mlmp_walk
#else
#define MLMP_WALK MLMP_SUM
#endif

// x's values: x must be array('f') of n_features values. An array.array of 'f' (the type
// of the x that last passed mp_get_buffer as one) is read directly: the buffer protocol
// call costs more than the walk of a few trees. A memoryview (same struct, its items
// offset; 'f' | RW typecode) or any other object takes mp_get_buffer.
static const float *mlmp_x(mlmp_tree_model_t *self, mp_obj_t x_obj) {
    const mp_obj_array_t *a = (const mp_obj_array_t *)MP_OBJ_TO_PTR(x_obj);
    if (mp_obj_is_obj(x_obj) && a->base.type == self->x_type && a->typecode == 'f' &&
        a->len == (size_t)self->t.n_features) {
        return (const float *)a->items;
    }
    mp_buffer_info_t bi;
    if (!mp_get_buffer(x_obj, &bi, MP_BUFFER_READ) || bi.typecode != 'f' ||
        bi.len != (size_t)self->t.n_features * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("x must be array('f') of n_features values"));
    }
    if (mp_obj_is_obj(x_obj) && a->base.type->name == MP_QSTR_array && a->typecode == 'f' &&
        a->items == bi.buf && a->len * sizeof(float) == bi.len) {
        self->x_type = a->base.type;
    }
    return (const float *)bi.buf;
}

// acc[:n_outputs] = the sum of the trees' leaf rows for x; one copy of the walk for every
// method
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mlmp_sum(mlmp_tree_model_t *self, mp_obj_t x_obj, float *acc) {
    const float *x = mlmp_x(self, x_obj);
    const ml_trees_t *t = &self->t;
    float *p = acc;
#if MLMP_ASM_WALK
    uint32_t k = (uint32_t)t->n_outputs >> 1;
    const uint32_t zero = 0u;
    if (k != 0u) {
        __asm__("1:\n\t"
                "strd %[zero], %[zero], [%[p]], #8\n\t" // two floats a store
                "subs %[k], %[k], #1\n\t"
                "bne 1b\n"
                : [p] "+r"(p), [k] "+r"(k)
                : [zero] "r"(zero)
                : "cc", "memory");
    }
#else
    for (uint32_t k = (uint32_t)t->n_outputs >> 1; k != 0u; k--) { // two per store
        p[0] = 0.0f;
        p[1] = 0.0f;
        p += 2;
    }
#endif
    if (((uint32_t)t->n_outputs & 1u) != 0u) {
        *p = 0.0f;
    }
    MLMP_WALK(t, x, acc);
}

// The first maximum of v[0..n-1], as ml_argmax_f32 (a NaN never wins; a NaN v[0] stays).
// Without an FPU (ML_TREES_INT_COMPARE) on the float's order-preserving integer keys: the
// same answer without libgcc's float comparisons (512 B of module code on armv6m). Sums
// of leaf rows from +0.0 are never -0.0 (whose key is below +0.0's).
#if defined(__GNUC__)
#define MLMP_BRANCH() __asm__ volatile("") // (no if-conversion: keep the branch)
#else
#define MLMP_BRANCH() (void)0
#endif
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
#elif MLMP_ASM_WALK
    // two values a step, the maximum so far in s15 (bgt after vcmpe is false when either is
    // NaN); a new maximum is rare: a branch
    const float *best = v;
    const float *p = v + 1;
    uint32_t pairs = (uint32_t)(n - 1) >> 1;
    const uint32_t odd = (uint32_t)(n - 1) & 1u;
    __asm__("vldr s15, [%[best]]\n\t"
            "cmp %[pairs], #0\n\t"
            "beq 3f\n"
            "1:\n\t"
            "vldmia %[p]!, {s13, s14}\n\t"
            "vcmpe.f32 s13, s15\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "bgt 4f\n"
            "5:\n\t"
            "vcmpe.f32 s14, s15\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "bgt 6f\n"
            "7:\n\t"
            "subs %[pairs], %[pairs], #1\n\t"
            "bne 1b\n\t"
            "b 3f\n"
            "4:\n\t"
            "vmov.f32 s15, s13\n\t"
            "sub %[best], %[p], #8\n\t"
            "b 5b\n"
            "6:\n\t"
            "vmov.f32 s15, s14\n\t"
            "sub %[best], %[p], #4\n\t"
            "b 7b\n"
            "3:\n\t"
            "cmp %[odd], #0\n\t"
            "beq 8f\n\t"
            "vldr s13, [%[p]]\n\t"
            "vcmpe.f32 s13, s15\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "it gt\n\t"
            "movgt %[best], %[p]\n"
            "8:\n"
            : [best] "+r"(best), [p] "+r"(p), [pairs] "+r"(pairs)
            : [odd] "r"(odd)
            : "s13", "s14", "s15", "cc", "memory");
    return (int32_t)(best - v);
#else
    // (the maximum so far in a register: *p > vb is false for a NaN either side; a new
    // maximum is rare: a branch, not a conditional block run for every value)
    const float *best = v;
    float vb = v[0];
    const float *p = v + 1;
    for (uint32_t k = (uint32_t)(n - 1) >> 1; k != 0u; k--) { // two values a step
        const float a = *p++;
        const float b = *p++;
        if (a > vb) {
            vb = a;
            best = p - 2;
            MLMP_BRANCH();
        }
        if (b > vb) {
            vb = b;
            best = p - 1;
            MLMP_BRANCH();
        }
    }
    if (((uint32_t)(n - 1) & 1u) != 0u && *p > vb) {
        best = p;
    }
    return (int32_t)(best - v);
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
    // (more outputs than fit on the C stack: the n_outputs floats after the struct)
    float *acc = t->n_outputs > MLMP_STACK_FLOATS ? (float *)(void *)(self + 1) : local;
    mlmp_sum(self, x_obj, acc);
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
    mlmp_sum(self, x_obj, out);
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
