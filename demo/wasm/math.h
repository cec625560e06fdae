/* <math.h> for the browser demo's freestanding WebAssembly build (no C library): the
 * runtime calls no libm function (ml_math.h has its own); generated models use only these
 * macros from <math.h>. */
#ifndef DEMO_MATH_H
#define DEMO_MATH_H
#define NAN (__builtin_nanf(""))
#define INFINITY (__builtin_inff())
#define HUGE_VALF (__builtin_huge_valf())
#define HUGE_VAL (__builtin_huge_val())
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)
#define fabsf(x) __builtin_fabsf(x)
#define fabs(x) __builtin_fabs(x)
#endif
