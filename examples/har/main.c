/*
 * Human activity recognition on a microcontroller: the device application of
 * examples/har/har.py, as plain C99.
 *
 * Per window of 128 samples x 9 channels (2.56 s at 50 Hz, a new window every 1.28 s):
 *   har_predict()            window features + random forest (the generated har_model.h:
 *                            microlearn.convert(pipeline).save("har_model.h", name="har"))
 *   ml_majority_i32_update() majority vote over the last HAR_VOTE windows (ml_post.h)
 *
 * This firmware runs on emulated Cortex-M4F (QEMU mps2-an386) with microlearn's target
 * start-up code (runtime/target/startup.c). It reads the recorded input through
 * semihosting from the host file "har_in.bin" (float32 little endian, one window after
 * the other, each channel-major: body_acc x y z, body_gyro x y z, total_acc x y z, 128
 * samples each) and prints one line per window to the semihosting console:
 *     "<window> <class of the window> <class after the majority vote>\n"
 * then "done <windows>\n". On a real board, fill `window` from the IMU's sample buffer
 * instead and act on `vote`.
 *
 * bench_start() / bench_stop() mark the work of one window, so that QEMU's
 * instruction-counting plugin (microlearn.targets.run_qemu) measures it.
 *
 * Build: see har.py (arm-none-eabi-gcc -std=c99 -Wall -Wextra -Wpedantic -Wconversion
 * -Wdouble-promotion -Werror -Os -ffp-contract=off -mcpu=cortex-m4 -mfloat-abi=hard
 * -mfpu=fpv4-sp-d16, with -DHAR_VOTE=<n>).
 */
#include <stdint.h>

#include "har_model.h" /* the pipeline: har_predict, har_N_FEATURES, har_N_OUTPUTS */
#include "ml_post.h"   /* ml_majority_i32 */
#include "mlh_semihost.h"

#ifndef HAR_VOTE
#define HAR_VOTE 5 /* windows in the majority vote */
#endif

/* semihosting operations used here (ARM semihosting specification) */
#define HAR_SYS_OPEN 0x01u
#define HAR_SYS_CLOSE 0x02u
#define HAR_SYS_WRITE0 0x04u
#define HAR_SYS_READ 0x06u
#define HAR_OPEN_MODE_RB 1u /* "rb" */

#if defined(__GNUC__) && !defined(__clang__)
#define HAR_MARK __attribute__((noipa, noinline, used))
#else
#define HAR_MARK __attribute__((noinline, used))
#endif

/* markers around the work of one window (the instruction counter starts and stops here) */
HAR_MARK void bench_start(void);
HAR_MARK void bench_stop(void);
void bench_start(void)
{
    __asm__ volatile("" ::: "memory");
}
void bench_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

static void put(const char *s)
{
    (void)mlh_semihost_call(HAR_SYS_WRITE0, s);
}

/* decimal digits of v (>= 0) at the end of buf; returns the first character */
static char *utoa_end(char *end, uint32_t v)
{
    *end = '\0';
    do {
        *--end = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    return end;
}

static void put_line(uint32_t i, int32_t cls, int32_t vote)
{
    char line[48];
    char num[12];
    uint32_t n = 0;
    const uint32_t fields[3] = {i, (uint32_t)cls, (uint32_t)vote};
    for (uint32_t f = 0; f < 3u; f++) {
        const char *d = utoa_end(num + sizeof num - 1u, fields[f]);
        while (*d != '\0') {
            line[n++] = *d++;
        }
        line[n++] = f < 2u ? ' ' : '\n';
    }
    line[n] = '\0';
    put(line);
}

/* read exactly `size` bytes from an open semihosting file: 1 done, 0 end of file */
static int read_block(int32_t fd, void *buf, uint32_t size)
{
    uint32_t block[3];
    block[0] = (uint32_t)fd;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = size;
    /* SYS_READ returns the number of bytes NOT read */
    return mlh_semihost_call(HAR_SYS_READ, block) == 0;
}

static float window[har_N_FEATURES];
static int32_t vote_ring[HAR_VOTE];
static int32_t vote_counts[har_N_OUTPUTS];

int main(void)
{
    static const char name[] = "har_in.bin";
    uint32_t open_block[3];
    open_block[0] = (uint32_t)(uintptr_t)name;
    open_block[1] = HAR_OPEN_MODE_RB;
    open_block[2] = (uint32_t)(sizeof name - 1u);
    const int32_t fd = mlh_semihost_call(HAR_SYS_OPEN, open_block);
    if (fd < 0) {
        put("error: cannot open har_in.bin\n");
        return MLH_EXIT_OPEN_FAILED;
    }

    ml_majority_i32_t vote;
    if (ml_majority_i32_init(&vote, HAR_VOTE, har_N_OUTPUTS, vote_ring, vote_counts) != ML_OK) {
        return 1;
    }
    uint32_t n = 0;
    while (read_block(fd, window, (uint32_t)sizeof window)) {
        bench_start();
        const int32_t cls = har_predict(window, har_N_FEATURES);
        const int32_t voted = cls < 0 ? cls : ml_majority_i32_update(&vote, cls);
        bench_stop();
        if (voted < 0) {
            put("error: the model returned an error code\n");
            return 1;
        }
        put_line(n++, cls, voted);
    }
    (void)mlh_semihost_call(HAR_SYS_CLOSE, &fd);

    char num[12];
    put("done ");
    put(utoa_end(num + sizeof num - 1u, n));
    put("\n");
    return 0;
}
