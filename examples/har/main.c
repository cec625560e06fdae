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
#include "mlh_app.h"   /* semihosting I/O, bench markers */

#ifndef HAR_VOTE
#define HAR_VOTE 5 /* windows in the majority vote */
#endif

static void put_line(uint32_t i, int32_t cls, int32_t vote)
{
    mlh_put_int("", (int32_t)i);
    mlh_put_int(" ", cls);
    mlh_put_int(" ", vote);
    mlh_puts("\n");
}

static float window[har_N_FEATURES];
static int32_t vote_ring[HAR_VOTE];
static int32_t vote_counts[har_N_OUTPUTS];

int main(void)
{
    const int32_t fd = mlh_open("har_in.bin", MLH_OPEN_MODE_RB);
    if (fd < 0) {
        mlh_puts("error: cannot open har_in.bin\n");
        return MLH_EXIT_OPEN_FAILED;
    }

    ml_majority_i32_t vote;
    if (ml_majority_i32_init(&vote, HAR_VOTE, har_N_OUTPUTS, vote_ring, vote_counts) != ML_OK) {
        return 1;
    }
    uint32_t n = 0;
    while (mlh_read(fd, window, (uint32_t)sizeof window) == (uint32_t)sizeof window) {
        bench_start();
        const int32_t cls = har_predict(window, har_N_FEATURES);
        const int32_t voted = cls < 0 ? cls : ml_majority_i32_update(&vote, cls);
        bench_stop();
        if (voted < 0) {
            mlh_puts("error: the model returned an error code\n");
            return 1;
        }
        put_line(n++, cls, voted);
    }
    mlh_close(fd);
    mlh_put_int("done ", (int32_t)n);
    mlh_puts("\n");
    return 0;
}
