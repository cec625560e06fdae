/*
 * microlearn target harness: what an application firmware needs on an emulated MCU
 * (QEMU with semihosting), beside the model headers. Used by the device applications in
 * examples/ (har, image, sed, anomaly): they read a recording from a host file, print
 * their decisions to the semihosting console and write results to host files.
 *
 *   bench_start() / bench_stop()   markers for QEMU's instruction-counting plugin
 *                                  (microlearn.targets.run_qemu(count_instructions=True)
 *                                  counts the instructions between them)
 *   mlh_open(name, mode)           open a host file: MLH_OPEN_MODE_RB / MLH_OPEN_MODE_WB
 *   mlh_read(fd, buf, len)         bytes read (fewer than len at the end of the file)
 *   mlh_write(fd, buf, len)        all of buf, or exit with MLH_EXIT_WRITE_FAILED
 *   mlh_close(fd)
 *   mlh_puts(s)                    a string on the console
 *   mlh_put_int(prefix, v)         prefix, then v in decimal
 *
 * Include this header in exactly one .c file of a firmware: it defines bench_start and
 * bench_stop. Link with runtime/target/startup.c (mlh_semihost_call, mlh_exit). On a real
 * board, replace the file reads by the sensor driver and the prints by a UART.
 */
#ifndef MLH_APP_H
#define MLH_APP_H

#include <stdint.h>

#include "mlh_semihost.h"

#define MLH_SYS_WRITE0 0x04u
#define MLH_SYS_READ 0x06u
#define MLH_OPEN_MODE_RB 1u /* "rb" */

#if defined(__GNUC__) && !defined(__clang__)
#define MLH_APP_MARK __attribute__((noipa, noinline, used))
#else
#define MLH_APP_MARK __attribute__((noinline, used))
#endif

/* the instruction counter starts at bench_start's first instruction, stops at bench_stop's */
MLH_APP_MARK void bench_start(void);
MLH_APP_MARK void bench_stop(void);
void bench_start(void)
{
    __asm__ volatile("" ::: "memory");
}
void bench_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

/* a host file's handle (>= 0), or -1 when it cannot be opened */
static inline int32_t mlh_open(const char *name, uint32_t mode)
{
    uint32_t block[3];
    uint32_t len = 0u;
    while (name[len] != '\0') {
        len++;
    }
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = mode;
    block[2] = len;
    return mlh_semihost_call(MLH_SYS_OPEN, block);
}

/* bytes read into buf: len, or fewer at the end of the file (0 there) */
static inline uint32_t mlh_read(int32_t fd, void *buf, uint32_t len)
{
    uint32_t block[3];
    block[0] = (uint32_t)fd;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = len;
    return len - (uint32_t)mlh_semihost_call(MLH_SYS_READ, block); /* returns bytes NOT read */
}

/* all len bytes of buf, or the firmware exits with MLH_EXIT_WRITE_FAILED */
static inline void mlh_write(int32_t fd, const void *buf, uint32_t len)
{
    uint32_t block[3];
    block[0] = (uint32_t)fd;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = len;
    if (mlh_semihost_call(MLH_SYS_WRITE, block) != 0) {
        mlh_exit(MLH_EXIT_WRITE_FAILED);
    }
}

static inline void mlh_close(int32_t fd)
{
    uint32_t block[1];
    block[0] = (uint32_t)fd;
    (void)mlh_semihost_call(MLH_SYS_CLOSE, block);
}

static inline void mlh_puts(const char *s)
{
    (void)mlh_semihost_call(MLH_SYS_WRITE0, s);
}

/* prefix followed by the decimal value of v */
static inline void mlh_put_int(const char *prefix, int32_t v)
{
    char buf[16];
    uint32_t i = (uint32_t)sizeof buf - 1u;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (char)(u % 10u));
        u /= 10u;
    } while (u != 0u);
    if (v < 0) {
        buf[--i] = '-';
    }
    mlh_puts(prefix);
    mlh_puts(&buf[i]);
}

#endif /* MLH_APP_H */
