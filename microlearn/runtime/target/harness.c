/*
 * microlearn target harness: runs a generated model on every row of a data set inside
 * QEMU and writes the results to a host file through semihosting.
 *
 * Built by microlearn.targets with (all on the command line):
 *   MLH_PREFIX         the model's C prefix (a C identifier, e.g. model)
 *   MLH_N_FEATURES     features per row       (checked against PREFIX_N_FEATURES)
 *   MLH_N_OUTPUTS      classes or targets     (checked against PREFIX_N_OUTPUTS)
 *   MLH_TASK           0 classifier, 1 regressor, 2 outlier detector, 3 transformer
 *                      (checked against PREFIX_TASK)
 *   MLH_VALUES         classifiers / outlier detectors: suffix of the function whose
 *                      outputs are recorded (_predict_proba or _decision_function)
 *   MLH_N_VALUES       its number of outputs (regressors/transformers: MLH_N_OUTPUTS)
 *   MLH_WITH_PROBA     1: classifiers / outlier detectors also run MLH_VALUES on every row
 *   MLH_STUB           build the same harness without the model: mlh_run() and
 *                      mlh_run_proba() return 0. Its sizes are subtracted from those of
 *                      the real build, so that flash/RAM figures are the model's own cost.
 *   MLH_HOST           compile only the model wrappers (host footprint, no main())
 *
 * Per row: copy the row (float32 bit patterns in flash, rows.c) to RAM, paint the stack
 * below main()'s frame, call bench_start(); mlh_run(); bench_stop(); (the instruction
 * counting plugin counts between the markers), measure the deepest stack word that was
 * written, then (classifiers) call mlh_run_proba() outside the counted region.
 *
 * Output file "mlh_out.bin" (little endian, u32 words):
 *   header: "MLR1" n_rows n_features n_values task with_values
 *   rows:   ret ret_values stack_bytes out[n_values]     (stack 0xFFFFFFFF: overflow)
 *   footer: "MLRE"
 * out[] is the regressor's outputs or the classifier's probabilities (bit patterns);
 * it is filled with 0xFF bytes (a NaN) before each call, so unwritten outputs show.
 */
#include <stdint.h>
#include <string.h>

#if !defined(MLH_PREFIX) || !defined(MLH_N_FEATURES) || !defined(MLH_N_OUTPUTS) || \
    !defined(MLH_TASK) || !defined(MLH_N_VALUES)
#error "define MLH_PREFIX, MLH_N_FEATURES, MLH_N_OUTPUTS, MLH_TASK and MLH_N_VALUES"
#endif
#ifndef MLH_WITH_PROBA
#define MLH_WITH_PROBA 0
#endif
/* predict() returns a class index (classifier) or +1/-1 (outlier detector) */
#define MLH_IS_CLASSIFIER (MLH_TASK == 0 || MLH_TASK == 2)
#if !defined(MLH_VALUES)
#undef MLH_WITH_PROBA
#define MLH_WITH_PROBA 0
#endif
#define MLH_N_REC (MLH_N_VALUES > 0 ? MLH_N_VALUES : 1)

#define MLH_CAT_(a, b) a##b
#define MLH_CAT(a, b) MLH_CAT_(a, b)
#define MLH_FN(suffix) MLH_CAT(MLH_PREFIX, suffix)

#ifndef MLH_STUB
#include "model.h"
#if MLH_FN(_N_FEATURES) != MLH_N_FEATURES
#error "model.h: PREFIX_N_FEATURES differs from the n_features given to measure()"
#endif
#if MLH_FN(_N_OUTPUTS) != MLH_N_OUTPUTS
#error "model.h: PREFIX_N_OUTPUTS differs from the n_outputs given to measure()"
#endif
#if MLH_FN(_TASK) != MLH_TASK
#error "model.h: PREFIX_TASK differs from the kind given to measure()"
#endif
#endif

/* Functions the optimiser must treat as opaque: never inlined, cloned or analysed
 * across the call, so the harness code around them is the same with and without model. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 /* noipa: GCC 8 */
#define MLH_OPAQUE __attribute__((noipa, noinline, used))
#else
#define MLH_OPAQUE __attribute__((noinline, used))
#endif

MLH_OPAQUE int32_t mlh_run(const float *x, float *out);
MLH_OPAQUE int32_t mlh_run_proba(const float *x, float *out);

/* The measured call: predict() for classifiers, regress() for regressors. */
int32_t mlh_run(const float *x, float *out)
{
#if defined(MLH_STUB)
    (void)x;
    (void)out;
    return 0;
#elif MLH_IS_CLASSIFIER
    (void)out;
    return MLH_FN(_predict)(x, MLH_N_FEATURES);
#elif MLH_TASK == 3
    return MLH_FN(_transform)(x, MLH_N_FEATURES, out, MLH_N_OUTPUTS);
#else
    return MLH_FN(_regress)(x, MLH_N_FEATURES, out, MLH_N_OUTPUTS);
#endif
}

#if MLH_IS_CLASSIFIER && MLH_WITH_PROBA
int32_t mlh_run_proba(const float *x, float *out)
{
#if defined(MLH_STUB)
    (void)x;
    (void)out;
    return 0;
#else
    return MLH_FN(MLH_VALUES)(x, MLH_N_FEATURES, out, MLH_N_VALUES);
#endif
}
#endif

#ifndef MLH_HOST

#include "mlh_semihost.h"

/* rows.c: n_rows * MLH_N_FEATURES float32 bit patterns, row-major */
extern const uint32_t mlh_rows[];
extern const uint32_t mlh_n_rows;
/* linker script: lowest address the stack may grow down to (end of .bss + margin) */
extern uint32_t __mlh_stack_limit;

/* markers: the instruction-counting QEMU plugin counts between their first instructions */
MLH_OPAQUE void bench_start(void);
MLH_OPAQUE void bench_stop(void);
void bench_start(void) { __asm__ volatile(""); }
void bench_stop(void) { __asm__ volatile(""); }

#define MLH_PAINT 0xA5C3A5C3u
#define MLH_STACK_OVERFLOW 0xFFFFFFFFu
/* The painted window: a frame may leave a local array unwritten (a buffer only some
 * paths use), so the lowest written word can lie far below a gap of painted words. The
 * window starts at 64 KB and is widened while anything was written in its lower half,
 * so a gap shorter than half the window cannot hide deeper writes (a 256-byte first
 * window did: an int8 MLP measured 248 B instead of 508 B). */
#define MLH_FIRST_WINDOW 65536u

static uint32_t mlh_buf[256];
static uint32_t mlh_buf_len;
static int32_t mlh_handle = -1;

static void mlh_flush(void)
{
    uint32_t block[3];
    if (mlh_buf_len == 0u) {
        return;
    }
    block[0] = (uint32_t)mlh_handle;
    block[1] = (uint32_t)(uintptr_t)mlh_buf;
    block[2] = mlh_buf_len * 4u;
    if (mlh_semihost_call(MLH_SYS_WRITE, block) != 0) { /* returns the bytes NOT written */
        mlh_exit(MLH_EXIT_WRITE_FAILED);
    }
    mlh_buf_len = 0u;
}

static void mlh_put(uint32_t word)
{
    if (mlh_buf_len == sizeof mlh_buf / sizeof mlh_buf[0]) {
        mlh_flush();
    }
    mlh_buf[mlh_buf_len++] = word;
}

static void mlh_open(const char *name, uint32_t name_len)
{
    uint32_t block[3];
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = MLH_OPEN_MODE_WB;
    block[2] = name_len;
    mlh_handle = mlh_semihost_call(MLH_SYS_OPEN, block);
    if (mlh_handle < 0) {
        mlh_exit(MLH_EXIT_OPEN_FAILED);
    }
}

static void mlh_close(void)
{
    uint32_t block[1];
    mlh_flush();
    block[0] = (uint32_t)mlh_handle;
    (void)mlh_semihost_call(MLH_SYS_CLOSE, block);
}

/* current stack pointer (word aligned); must be inlined into main() */
static inline __attribute__((always_inline)) uintptr_t mlh_sp(void)
{
    uintptr_t sp;
#if defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#else
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
    return sp & ~(uintptr_t)3u;
}

/* volatile: no call to memset, no reordering around the measured call */
static inline __attribute__((always_inline)) void mlh_paint(volatile uint32_t *lo,
                                                           volatile uint32_t *hi)
{
    while (lo < hi) {
        *lo++ = MLH_PAINT;
    }
}

/* bytes from the lowest overwritten word up to hi (0: nothing was written) */
static inline __attribute__((always_inline)) uint32_t mlh_scan(volatile uint32_t *lo,
                                                              volatile uint32_t *hi)
{
    volatile uint32_t *p = lo;
    while (p < hi && *p == MLH_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)hi - (uintptr_t)p);
}

int main(void)
{
    static float row[MLH_N_FEATURES];
    static float out[MLH_N_REC > MLH_N_OUTPUTS ? MLH_N_REC : MLH_N_OUTPUTS];
    static const char out_name[] = "mlh_out.bin";
    /* the stack below main()'s frame is what mlh_run() and everything it calls can use */
    volatile uint32_t *const top = (volatile uint32_t *)mlh_sp();
    const uintptr_t limit = (uintptr_t)&__mlh_stack_limit;
    const uint32_t max_window = (uint32_t)(((uintptr_t)top - limit) & ~(uintptr_t)3u);
    uint32_t window = MLH_FIRST_WINDOW < max_window ? MLH_FIRST_WINDOW : max_window;
    uint32_t i, j;

    mlh_open(out_name, (uint32_t)(sizeof out_name - 1u));
    mlh_put(0x31524C4Du); /* "MLR1" */
    mlh_put(mlh_n_rows);
    mlh_put((uint32_t)MLH_N_FEATURES);
    mlh_put((uint32_t)MLH_N_VALUES);
    mlh_put((uint32_t)MLH_TASK);
    mlh_put((uint32_t)(MLH_IS_CLASSIFIER && MLH_WITH_PROBA));

    /* region 0: the markers alone, subtracted from every measured region */
    bench_start();
    bench_stop();

    for (i = 0u; i < mlh_n_rows; i++) {
        int32_t ret, ret_proba = 0;
        uint32_t used, word;

        memcpy(row, &mlh_rows[i * (uint32_t)MLH_N_FEATURES], sizeof row);
        memset(out, 0xFF, sizeof out);
        mlh_paint(top - window / 4u, top);
        bench_start();
        ret = mlh_run(row, out);
        bench_stop();
        used = mlh_scan(top - window / 4u, top);
        /* a word in the window's lower half was overwritten: widen the window and call
         * again (outside the counted region; the model is a pure function of its inputs) */
        while (used >= window / 2u && window < max_window) {
            window = window * 4u < max_window ? window * 4u : max_window;
            mlh_paint(top - window / 4u, top);
            memset(out, 0xFF, sizeof out);
            ret = mlh_run(row, out);
            used = mlh_scan(top - window / 4u, top);
        }
        if (used >= max_window) {
            used = MLH_STACK_OVERFLOW;
        }
#if MLH_IS_CLASSIFIER && MLH_WITH_PROBA
        memset(out, 0xFF, sizeof out);
        ret_proba = mlh_run_proba(row, out);
#endif
        mlh_put((uint32_t)ret);
        mlh_put((uint32_t)ret_proba);
        mlh_put(used);
        for (j = 0u; j < (uint32_t)MLH_N_VALUES; j++) {
            memcpy(&word, &out[j], sizeof word);
            mlh_put(word);
        }
    }
    mlh_put(0x45524C4Du); /* "MLRE" */
    mlh_close();
    return MLH_EXIT_OK;
}

#endif /* MLH_HOST */
