// Bare-metal MicroPython for QEMU mps2 boards, used by microlearn to run MicroPython scripts
// and native .mpy modules on an emulated Cortex-M (see tests/support/mp_qemu.py).
//
// Command line (QEMU -append, read with semihosting SYS_GET_CMDLINE):
//     [--heap=BYTES] script.py
// stdout (print, sys.stdout, sys.stdout.buffer) goes to the host's stdout; stdin is not
// available. Files are read from / written to QEMU's working directory through newlib-rdimon
// semihosting: `import` of .py/.mpy files and the built-in open() (modes r, rb, w, wb, a, ab,
// with + for update) returning file objects with read/readinto/readline/write/seek/tell/close
// and context-manager support.
// Module `bench`: bench.start() / bench.stop() call marker functions whose addresses a QEMU
// TCG plugin watches to count the instructions executed in between.
// Exit status: the script's sys.exit() value, 0 at the end of the script, 1 for an uncaught
// exception (traceback on stdout), 2 for a bad command line, 3 for a fatal NLR error.
// --uart-repl (instead of a script): the REPL (friendly and raw, with raw-paste mode, as
// mpremote drives boards) runs on the CMSDK APB UART0, which QEMU connects to -serial (e.g.
// -serial pty); stdin and stdout are the UART then. Files still go through semihosting.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "py/stream.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"

#ifndef MICROPY_HEAP_DEFAULT
#define MICROPY_HEAP_DEFAULT (1024 * 1024)
#endif
#ifndef MICROPY_STACK_LIMIT
#define MICROPY_STACK_LIMIT (32 * 1024)
#endif

// GC heap area, reserved (not zeroed) by the linker script; --heap=N uses its first N bytes.
extern char __mp_heap_start[], __mp_heap_end[];

// --uart-repl: stdio on the CMSDK APB UART0 of the mps2 boards
#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)   // bit 0: TX full, bit 1: RX full
#define UART0_CTRL (*(volatile uint32_t *)0x40004008u)    // bit 0: TX enable, bit 1: RX enable
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)
static int uart_repl;

static void uart_write(const char *str, size_t len) {
    for (size_t i = 0; i < len; i++) {
        while (UART0_STATE & 1u) {
        }
        UART0_DATA = (unsigned char)str[i];
    }
}

// stdout: straight to the host's stdout through semihosting, unbuffered ("\n" is not turned
// into "\r\n", so the output is the same as the unix port's); the UART with --uart-repl
mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    if (uart_repl) {
        uart_write(str, len);
        return len;
    }
    return write(1, str, len);
}
void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    if (!uart_repl) {
        write(1, str, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {   // the REPL's terminal wants "\r\n"
        if (str[i] == '\n') {
            uart_write("\r", 1);
        }
        uart_write(str + i, 1);
    }
}
void mp_hal_stdout_tx_str(const char *str) {
    mp_hal_stdout_tx_strn(str, strlen(str));
}
// stdin: the UART with --uart-repl; else not available (QEMU runs with stdin from /dev/null)
// and reading it raises OSError(EIO)
int mp_hal_stdin_rx_chr(void) {
    if (!uart_repl) {
        mp_raise_OSError(MP_EIO);
    }
    while ((UART0_STATE & 2u) == 0u) {
    }
    return (int)(UART0_DATA & 0xffu);
}
uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = poll_flags & MP_STREAM_POLL_WR;
    if (uart_repl && (poll_flags & MP_STREAM_POLL_RD) && (UART0_STATE & 2u)) {
        ret |= MP_STREAM_POLL_RD;
    }
    return ret;
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    printf("FATAL: uncaught NLR %p\n", val);
    exit(3);
}

// ---------------------------------------------------------------------------------------------
// import support: semihosting has no stat(); a path is a directory if "<path>/." opens on the
// host (that fails with ENOTDIR for a file), a file if the path itself opens.
mp_import_stat_t mp_import_stat(const char *path) {
    char dir[MICROPY_ALLOC_PATH_MAX + 3];
    size_t len = strlen(path);
    if (len + 3 <= sizeof(dir)) {
        memcpy(dir, path, len);
        memcpy(dir + len, "/.", 3);
        int fd = open(dir, O_RDONLY);
        if (fd >= 0) {
            close(fd);
            return MP_IMPORT_STAT_DIR;
        }
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return MP_IMPORT_STAT_NO_EXIST;
    }
    close(fd);
    return MP_IMPORT_STAT_FILE;
}

// ---------------------------------------------------------------------------------------------
// built-in open(): file objects backed by semihosting file descriptors
typedef struct _sh_file_obj_t {
    mp_obj_base_t base;
    int fd;
} sh_file_obj_t;

static sh_file_obj_t *sh_file_get_open(mp_obj_t self_in) {
    sh_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->fd < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("I/O operation on closed file"));
    }
    return self;
}

static void sh_file_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    sh_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<io.%s %d>", mp_obj_get_type_str(self_in), self->fd);
}

static mp_uint_t sh_file_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode) {
    sh_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->fd < 0) {
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    int n = read(self->fd, buf, size);
    if (n < 0) {
        *errcode = errno ? errno : MP_EIO;
        return MP_STREAM_ERROR;
    }
    return n;
}

static mp_uint_t sh_file_write(mp_obj_t self_in, const void *buf, mp_uint_t size, int *errcode) {
    sh_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->fd < 0) {
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    int n = write(self->fd, buf, size);
    if (n < 0) {
        *errcode = errno ? errno : MP_EIO;
        return MP_STREAM_ERROR;
    }
    return n;
}

static mp_uint_t sh_file_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    sh_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        if (self->fd >= 0) {
            close(self->fd);
            self->fd = -1;
        }
        return 0;
    }
    if (self->fd < 0) {
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    switch (request) {
        case MP_STREAM_FLUSH:
            return 0;
        case MP_STREAM_SEEK: {
            struct mp_stream_seek_t *s = (struct mp_stream_seek_t *)arg;
            off_t off = lseek(self->fd, s->offset, s->whence);
            if (off < 0) {
                *errcode = errno ? errno : MP_EIO;
                return MP_STREAM_ERROR;
            }
            s->offset = off;
            return 0;
        }
        case MP_STREAM_GET_FILENO:
            return self->fd;
        default:
            *errcode = MP_EINVAL;
            return MP_STREAM_ERROR;
    }
}

// read([n]) for binary files: without n (or n < 0) read the rest of the file with a single
// allocation of exactly the remaining size (the generic stream readall grows a buffer in steps).
static mp_obj_t sh_file_read_meth(size_t n_args, const mp_obj_t *args) {
    if (n_args == 2 && mp_obj_get_int(args[1]) >= 0) {
        return mp_stream_read_obj.fun.var(n_args, args);
    }
    sh_file_obj_t *self = sh_file_get_open(args[0]);
    off_t pos = lseek(self->fd, 0, SEEK_CUR);
    off_t end = lseek(self->fd, 0, SEEK_END);
    if (pos < 0 || end < 0 || lseek(self->fd, pos, SEEK_SET) < 0) {
        mp_raise_OSError(errno ? errno : MP_EIO);
    }
    size_t remaining = end > pos ? (size_t)(end - pos) : 0;
    vstr_t vstr;
    vstr_init_len(&vstr, remaining);
    size_t got = 0;
    while (got < remaining) {
        int n = read(self->fd, vstr.buf + got, remaining - got);
        if (n < 0) {
            vstr_clear(&vstr);
            mp_raise_OSError(errno ? errno : MP_EIO);
        }
        if (n == 0) {
            break;
        }
        got += n;
    }
    vstr.len = got;
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(sh_file_read_obj, 1, 2, sh_file_read_meth);

#define SH_FILE_COMMON_LOCALS \
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_readlines), MP_ROM_PTR(&mp_stream_unbuffered_readlines_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&mp_stream_seek_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_tell), MP_ROM_PTR(&mp_stream_tell_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_flush), MP_ROM_PTR(&mp_stream_flush_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) }, \
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&mp_stream_close_obj) }, \
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) }, \
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mp_stream___exit___obj) },

static const mp_rom_map_elem_t sh_fileio_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&sh_file_read_obj) },
    SH_FILE_COMMON_LOCALS
};
static MP_DEFINE_CONST_DICT(sh_fileio_locals, sh_fileio_locals_table);

static const mp_rom_map_elem_t sh_textio_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    SH_FILE_COMMON_LOCALS
};
static MP_DEFINE_CONST_DICT(sh_textio_locals, sh_textio_locals_table);

static const mp_stream_p_t sh_fileio_stream_p = {
    .read = sh_file_read, .write = sh_file_write, .ioctl = sh_file_ioctl, .is_text = false,
};
static const mp_stream_p_t sh_textio_stream_p = {
    .read = sh_file_read, .write = sh_file_write, .ioctl = sh_file_ioctl, .is_text = true,
};

static MP_DEFINE_CONST_OBJ_TYPE(sh_fileio_type, MP_QSTR_FileIO, MP_TYPE_FLAG_ITER_IS_STREAM,
    print, sh_file_print, protocol, &sh_fileio_stream_p, locals_dict, &sh_fileio_locals);
static MP_DEFINE_CONST_OBJ_TYPE(sh_textio_type, MP_QSTR_TextIOWrapper, MP_TYPE_FLAG_ITER_IS_STREAM,
    print, sh_file_print, protocol, &sh_textio_stream_p, locals_dict, &sh_textio_locals);

mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    (void)kwargs;   // encoding=, buffering= etc. are accepted and ignored
    const char *path = mp_obj_str_get_str(args[0]);
    const char *mode = n_args > 1 ? mp_obj_str_get_str(args[1]) : "r";
    int flags = 0, rw = 0, plus = 0;
    const mp_obj_type_t *type = &sh_textio_type;
    for (const char *m = mode; *m; m++) {
        switch (*m) {
            case 'r': rw = 'r'; break;
            case 'w': rw = 'w'; flags |= O_CREAT | O_TRUNC; break;
            case 'a': rw = 'w'; flags |= O_CREAT | O_APPEND; break;
            case '+': plus = 1; break;
            case 'b': type = &sh_fileio_type; break;
            case 't': type = &sh_textio_type; break;
            default: mp_raise_ValueError(MP_ERROR_TEXT("invalid mode"));
        }
    }
    if (rw == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("invalid mode"));
    }
    flags |= plus ? O_RDWR : (rw == 'r' ? O_RDONLY : O_WRONLY);
    #ifdef O_BINARY
    if (type == &sh_fileio_type) {
        flags |= O_BINARY;
    }
    #endif
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        mp_raise_OSError(errno ? errno : MP_ENOENT);
    }
    sh_file_obj_t *o = mp_obj_malloc_with_finaliser(sh_file_obj_t, type);
    o->fd = fd;
    return MP_OBJ_FROM_PTR(o);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

// ---------------------------------------------------------------------------------------------
// bench.start()/bench.stop(): marker functions whose addresses the QEMU icount plugin watches
__attribute__((noipa, used)) void bench_start(void) {
    __asm__ volatile ("");
}
__attribute__((noipa, used)) void bench_stop(void) {
    __asm__ volatile ("");
}
static mp_obj_t bench_start_fn(void) {
    bench_start();
    return mp_const_none;
}
static mp_obj_t bench_stop_fn(void) {
    bench_stop();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(bench_start_obj, bench_start_fn);
static MP_DEFINE_CONST_FUN_OBJ_0(bench_stop_obj, bench_stop_fn);
static const mp_rom_map_elem_t bench_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_bench) },
    { MP_ROM_QSTR(MP_QSTR_start), MP_ROM_PTR(&bench_start_obj) },
    { MP_ROM_QSTR(MP_QSTR_stop), MP_ROM_PTR(&bench_stop_obj) },
};
static MP_DEFINE_CONST_DICT(bench_globals, bench_globals_table);
const mp_obj_module_t bench_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&bench_globals,
};
MP_REGISTER_MODULE(MP_QSTR_bench, bench_module);

// ---------------------------------------------------------------------------------------------
// semihosting SYS_GET_CMDLINE: "<kernel> <-append args>"; returns 0 on success
static int get_cmdline(char *buf, int len) {
    struct { char *buf; int len; } blk = { buf, len };
    register int r0 __asm__("r0") = 0x15;
    register void *r1 __asm__("r1") = &blk;
    __asm__ volatile ("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int main(void) {
    static char cmdline[512];
    const char *script = NULL;
    size_t heap_size = MICROPY_HEAP_DEFAULT;
    size_t heap_max = (size_t)(__mp_heap_end - __mp_heap_start);

    if (get_cmdline(cmdline, sizeof(cmdline)) != 0) {
        printf("FATAL: semihosting SYS_GET_CMDLINE failed\n");
        return 2;
    }
    char *save = NULL;
    char *tok = strtok_r(cmdline, " ", &save);   // the kernel file name
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (strncmp(tok, "--heap=", 7) == 0) {
            heap_size = strtoul(tok + 7, NULL, 0);
        } else if (strcmp(tok, "--uart-repl") == 0) {
            uart_repl = 1;
        } else if (tok[0] == '-') {
            printf("FATAL: unknown option %s\n", tok);
            return 2;
        } else {
            script = tok;
        }
    }
    if (script == NULL && !uart_repl) {
        printf("FATAL: no script given (usage: [--heap=BYTES] script.py | --uart-repl)\n");
        return 2;
    }
    if (heap_size < 4096 || heap_size > heap_max) {
        printf("FATAL: --heap=%u outside [4096, %u]\n", (unsigned)heap_size, (unsigned)heap_max);
        return 2;
    }

    int ret = 0;
    mp_stack_ctrl_init();
    mp_stack_set_limit(MICROPY_STACK_LIMIT);
    if (uart_repl) {
        UART0_BAUDDIV = 16u;
        UART0_CTRL = 3u;
        for (;;) {   // the REPL, forever: Ctrl-D in the friendly REPL (soft reset) starts over
            gc_init(__mp_heap_start, __mp_heap_start + heap_size);
            mp_init();
            readline_init0();
            for (;;) {
                if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                    if (pyexec_raw_repl() != 0) {
                        break;
                    }
                } else if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
            gc_sweep_all();
            mp_deinit();
            mp_hal_stdout_tx_str("MPY: soft reboot\r\n");
        }
    }
    gc_init(__mp_heap_start, __mp_heap_start + heap_size);
    mp_init();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex = mp_lexer_new_from_file(qstr_from_str(script));
        qstr source_name = lex->source_name;
        mp_parse_tree_t pt = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_obj_t f = mp_compile(&pt, source_name, false);
        mp_call_function_0(f);
        nlr_pop();
    } else {
        mp_obj_base_t *exc = nlr.ret_val;
        if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(exc->type), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
            mp_obj_t v = mp_obj_exception_get_value(MP_OBJ_FROM_PTR(exc));
            if (v == mp_const_none) {
                ret = 0;
            } else if (mp_obj_is_int(v)) {
                ret = mp_obj_get_int(v);
            } else {
                mp_obj_print(v, PRINT_STR);
                mp_print_str(&mp_plat_print, "\n");
                ret = 1;
            }
        } else {
            mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(exc));
            ret = 1;
        }
    }
    gc_sweep_all();   // run finalisers: close files left open by the script
    mp_deinit();
    return ret;
}
