// Test fixture for tests/test_micropython_build.py: a tiny MicroPython native module.
//   add(a, b)       -> int a + b
//   checksum(buf)   -> int sum of the bytes of any buffer (works without float objects)
//   sum_milli(x)    -> int round(1000 * sum of array('f') x) + len(x) // 8: float arithmetic
//                      and an unsigned division inside C, int result, so it works on every arch
//                      (on armv6m / armv7m it needs libgcc's soft-float and division helpers;
//                      no float division: libgcc's ARMv6-M one cannot be linked by mpy_ld)
//   dot(x, y)       -> float dot product of two array('f') (only where floats exist)
#include "py/dynruntime.h"
#include "mlfixture_util.h"

static mp_obj_t add(mp_obj_t a_obj, mp_obj_t b_obj) {
    return mp_obj_new_int(mp_obj_get_int(a_obj) + mp_obj_get_int(b_obj));
}
static MP_DEFINE_CONST_FUN_OBJ_2(add_obj, add);

static mp_obj_t checksum(mp_obj_t buf_obj) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(buf_obj, &b, MP_BUFFER_READ);
    return mp_obj_new_int(mlfixture_byte_sum(b.buf, b.len));
}
static MP_DEFINE_CONST_FUN_OBJ_1(checksum_obj, checksum);

static mp_obj_t sum_milli(mp_obj_t x_obj) {
    mp_buffer_info_t bx;
    mp_get_buffer_raise(x_obj, &bx, MP_BUFFER_READ);
    if (bx.typecode != 'f') {
        mp_raise_ValueError(MP_ERROR_TEXT("need an array('f')"));
    }
    const float *x = bx.buf;
    unsigned n = bx.len / sizeof(float);
    float s = 0.0f;
    for (unsigned i = 0; i < n; i++) {
        s += x[i];
    }
    float m = 1000.0f * s;
    int r = (int)(m < 0.0f ? m - 0.5f : m + 0.5f);
    volatile unsigned eight = 8;   // volatile: a real (library) unsigned division
    return mp_obj_new_int(r + (int)(n / eight));
}
static MP_DEFINE_CONST_FUN_OBJ_1(sum_milli_obj, sum_milli);

#if MICROPY_FLOAT_IMPL != MICROPY_FLOAT_IMPL_NONE
static mp_obj_t dot(mp_obj_t x_obj, mp_obj_t y_obj) {
    mp_buffer_info_t bx, by;
    mp_get_buffer_raise(x_obj, &bx, MP_BUFFER_READ);
    mp_get_buffer_raise(y_obj, &by, MP_BUFFER_READ);
    if (bx.typecode != 'f' || by.typecode != 'f' || bx.len != by.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("need two array('f') of equal length"));
    }
    const float *x = bx.buf, *y = by.buf;
    size_t n = bx.len / sizeof(float);
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) {
        s += x[i] * y[i];
    }
    return mp_obj_new_float(s);
}
static MP_DEFINE_CONST_FUN_OBJ_2(dot_obj, dot);
#endif

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_add, MP_OBJ_FROM_PTR(&add_obj));
    mp_store_global(MP_QSTR_checksum, MP_OBJ_FROM_PTR(&checksum_obj));
    mp_store_global(MP_QSTR_sum_milli, MP_OBJ_FROM_PTR(&sum_milli_obj));
    #if MICROPY_FLOAT_IMPL != MICROPY_FLOAT_IMPL_NONE
    mp_store_global(MP_QSTR_dot, MP_OBJ_FROM_PTR(&dot_obj));
    #endif
    MP_DYNRUNTIME_INIT_EXIT
}
