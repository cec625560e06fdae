// Bare-metal MicroPython port for QEMU mps2-an386 (Cortex-M4F) and mps2-an385 (code built for
// Cortex-M0), with newlib-rdimon semihosting for stdout and host file access (import .py /
// native .mpy, and the built-in open() for reading/writing files in the run directory).
#include <stdint.h>
#include <alloca.h>

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_ENABLE_COMPILER             (1)
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_HELPER_REPL                 (1)   // the --uart-repl REPL (pyexec, readline)
#define MICROPY_ENABLE_EXTERNAL_IMPORT      (1)
#define MICROPY_READER_POSIX                (1)   // open/read/close -> rdimon -> semihosting
#define MICROPY_PERSISTENT_CODE_LOAD        (1)   // load .mpy, including native (natmod) .mpy
#define MICROPY_EMIT_THUMB                  (1)   // sets the .mpy native arch (armv6m/armv7emsp)
#define MICROPY_EMIT_INLINE_THUMB           (0)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_FLOAT)   // soft-float on M0
#define MICROPY_PY_SYS_EXIT                 (1)
#define MICROPY_PY_SYS_STDFILES             (1)   // sys.stdout(.buffer).write; sys.stdin raises OSError
#define MICROPY_PY_SELECT                   (0)   // extmod/ is not part of the source tree
#define MICROPY_PY_UCTYPES                  (0)   // (extmod)
#define MICROPY_PY_BUILTINS_INPUT           (0)   // needs readline; no stdin here
#define MICROPY_PY_GC                       (1)   // gc.collect(), gc.mem_free(), gc.mem_alloc()
#define MICROPY_PY_MICROPYTHON_MEM_INFO     (1)   // micropython.mem_info(), stack_use()
#define MICROPY_PY_IO                       (1)   // builtin open() (see main.c)
#define MICROPY_ERROR_REPORTING             (MICROPY_ERROR_REPORTING_NORMAL)
#define MICROPY_MAKE_POINTER_CALLABLE(p)    ((void *)((uintptr_t)(p) | 1))

#define MICROPY_HW_BOARD_NAME "qemu-mps2"
#define MICROPY_HW_MCU_NAME   "cortex-m"
#define MP_STATE_PORT MP_STATE_VM

typedef int32_t mp_int_t;
typedef uint32_t mp_uint_t;
typedef long mp_off_t;
#define MP_SSIZE_MAX (0x7fffffff)
