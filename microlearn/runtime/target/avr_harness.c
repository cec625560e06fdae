/*
 * microlearn AVR target harness: runs a generated model on rows fed by the simavr runner
 * (avr_sim.c, mode "io") and sends back the results; the AVR counterpart of harness.c,
 * whose model wrappers (mlh_run, mlh_run_proba) it uses, with the same MLH_* defines.
 *
 * I/O through general-purpose I/O registers the runner watches (ATmega328P):
 *   GPIOR2 (read)   next input byte: u32 n_rows, then n_rows * MLH_N_FEATURES float32
 *   GPIOR0 (write)  output bytes: the "MLR1" file of harness.c (u32 words, little endian)
 *   GPIOR1 (write)  1: start, 2: stop of a counted region (the runner logs its cycles)
 * The stack below main()'s frame, down to the end of .bss (__heap_start), is painted
 * before each measured call; the deepest byte overwritten gives the call's stack use.
 */
#define MLH_HOST /* harness.c: the model wrappers only */
#include "harness.c"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>

#define MLH_AVR_PAINT 0xC5u

extern uint8_t __heap_start;

MLH_OPAQUE void bench_start(void);
MLH_OPAQUE void bench_stop(void);
void bench_start(void) { GPIOR1 = 1u; }
void bench_stop(void) { GPIOR1 = 2u; }

static uint8_t mlh_in8(void) { return GPIOR2; }

static uint32_t mlh_in32(void)
{
    uint32_t w = 0u;
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        w |= (uint32_t)mlh_in8() << (8u * i);
    }
    return w;
}

static void mlh_put(uint32_t word)
{
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        GPIOR0 = (uint8_t)(word >> (8u * i));
    }
}

static inline __attribute__((always_inline)) void mlh_paint(volatile uint8_t *lo,
                                                           volatile uint8_t *hi)
{
    while (lo < hi) {
        *lo++ = MLH_AVR_PAINT;
    }
}

static inline __attribute__((always_inline)) uint32_t mlh_scan(volatile uint8_t *lo,
                                                              volatile uint8_t *hi)
{
    volatile uint8_t *p = lo;
    while (p < hi && *p == MLH_AVR_PAINT) {
        p++;
    }
    return (uint32_t)(hi - p);
}

int main(void)
{
    static float row[MLH_N_FEATURES];
    static float out[MLH_N_REC > MLH_N_OUTPUTS ? MLH_N_REC : MLH_N_OUTPUTS];
    /* SP points at the next free byte: everything below it may be used by the call */
    volatile uint8_t *const top = (volatile uint8_t *)SP;
    volatile uint8_t *const lo = &__heap_start + 8;
    uint32_t i, n_rows;
    uint16_t j; /* MLH_N_FEATURES may exceed 255 (raw-sample windows) */

    n_rows = mlh_in32();
    mlh_put(0x31524C4Du); /* "MLR1" */
    mlh_put(n_rows);
    mlh_put((uint32_t)MLH_N_FEATURES);
    mlh_put((uint32_t)MLH_N_VALUES);
    mlh_put((uint32_t)MLH_TASK);
    mlh_put((uint32_t)(MLH_IS_CLASSIFIER && MLH_WITH_PROBA));

    bench_start(); /* region 0: the markers alone, subtracted from every region */
    bench_stop();

    for (i = 0u; i < n_rows; i++) {
        int32_t ret, ret_proba = 0;
        uint32_t used, word;
        for (j = 0u; j < (uint16_t)MLH_N_FEATURES; j++) {
            word = mlh_in32();
            memcpy(&row[j], &word, sizeof word);
        }
        memset(out, 0xFF, sizeof out);
        mlh_paint(lo, top);
        bench_start();
        ret = mlh_run(row, out);
        bench_stop();
        used = mlh_scan(lo, top);
        if (used >= (uint32_t)(top - lo)) {
            used = 0xFFFFFFFFu; /* reached the painted floor: overflow into .bss */
        }
#if MLH_IS_CLASSIFIER && MLH_WITH_PROBA
        memset(out, 0xFF, sizeof out);
        ret_proba = mlh_run_proba(row, out);
#endif
        mlh_put((uint32_t)ret);
        mlh_put((uint32_t)ret_proba);
        mlh_put(used);
        for (j = 0u; j < (uint16_t)MLH_N_VALUES; j++) {
            memcpy(&word, &out[j], sizeof word);
            mlh_put(word);
        }
    }
    mlh_put(0x45524C4Du); /* "MLRE" */
    cli();
    sleep_enable();
    sleep_cpu(); /* sleeping with interrupts off ends the simulation */
    return 0;
}
