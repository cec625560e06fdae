/*
 * Image classification on a microcontroller: the device application of
 * examples/image/image.py, as plain C99.
 *
 * Per camera frame (uint8 grayscale, row-major, IMG_N_PIXELS = the model's input size,
 * e.g. 24 x 24): the pixels are converted to the model's float input with a plain cast,
 * x[i] = (float)frame[i] (0..255; the net's first op, a Keras Rescaling(1/255) layer,
 * scales them), then image_predict() (the generated image_model.h:
 * microlearn.convert(net, quantize="int8", calibration=X_train).save("image_model.h",
 * name="image")) returns the class. For the int8 net the generated code quantizes the
 * input with the scale and zero point calibrated on the training frames (0..255: scale 1,
 * zero point -128), i.e. q = pixel - 128 exactly, then runs integer kernels only.
 *
 * This firmware runs on emulated Cortex-M4F (QEMU mps2-an386) with microlearn's target
 * start-up code (runtime/target/startup.c). It reads the recorded frames through
 * semihosting from the host file "image_in.bin" (one frame after the other, IMG_N_PIXELS
 * bytes each) and prints one line per frame to the semihosting console:
 *     "<frame> <class>\n"
 * then "done <frames>\n". On a real board, point `frame` at the camera's frame buffer
 * (or a downscaled copy of it) instead.
 *
 * bench_start() / bench_stop() mark the work of one frame (conversion + inference), so
 * that QEMU's instruction-counting plugin (microlearn.targets.run_qemu) measures it.
 *
 * Build: see image.py (arm-none-eabi-gcc -std=c99 -Wall -Wextra -Wpedantic -Wconversion
 * -Wdouble-promotion -Werror -Os -ffp-contract=off -mcpu=cortex-m4 -mfloat-abi=hard
 * -mfpu=fpv4-sp-d16).
 */
#include <stdint.h>

#include "image_model.h" /* the net: image_predict, image_N_FEATURES, image_N_OUTPUTS */
#include "mlh_semihost.h"

#define IMG_N_PIXELS image_N_FEATURES /* one channel: a pixel is a feature */

/* semihosting operations used here (ARM semihosting specification) */
#define IMG_SYS_OPEN 0x01u
#define IMG_SYS_CLOSE 0x02u
#define IMG_SYS_WRITE0 0x04u
#define IMG_SYS_READ 0x06u
#define IMG_OPEN_MODE_RB 1u /* "rb" */

#if defined(__GNUC__) && !defined(__clang__)
#define IMG_MARK __attribute__((noipa, noinline, used))
#else
#define IMG_MARK __attribute__((noinline, used))
#endif

/* markers around the work of one frame (the instruction counter starts and stops here) */
IMG_MARK void bench_start(void);
IMG_MARK void bench_stop(void);
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
    (void)mlh_semihost_call(IMG_SYS_WRITE0, s);
}

/* decimal digits of v at the end of buf; returns the first character */
static char *utoa_end(char *end, uint32_t v)
{
    *end = '\0';
    do {
        *--end = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    return end;
}

static void put_line(uint32_t i, int32_t cls)
{
    char line[32];
    char num[12];
    uint32_t n = 0;
    const uint32_t fields[2] = {i, (uint32_t)cls};
    for (uint32_t f = 0; f < 2u; f++) {
        const char *d = utoa_end(num + sizeof num - 1u, fields[f]);
        while (*d != '\0') {
            line[n++] = *d++;
        }
        line[n++] = f < 1u ? ' ' : '\n';
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
    return mlh_semihost_call(IMG_SYS_READ, block) == 0;
}

/* the camera frame (what a driver's DMA fills) and the model's float input */
static uint8_t frame[IMG_N_PIXELS];
static float input[IMG_N_PIXELS];

/* the frame -> model input conversion: pixel values 0..255 as floats */
static void frame_to_input(const uint8_t *pixels, float *x)
{
    for (uint32_t i = 0; i < (uint32_t)IMG_N_PIXELS; i++) {
        x[i] = (float)pixels[i];
    }
}

int main(void)
{
    static const char name[] = "image_in.bin";
    uint32_t open_block[3];
    open_block[0] = (uint32_t)(uintptr_t)name;
    open_block[1] = IMG_OPEN_MODE_RB;
    open_block[2] = (uint32_t)(sizeof name - 1u);
    const int32_t fd = mlh_semihost_call(IMG_SYS_OPEN, open_block);
    if (fd < 0) {
        put("error: cannot open image_in.bin\n");
        return MLH_EXIT_OPEN_FAILED;
    }

    uint32_t n = 0;
    while (read_block(fd, frame, (uint32_t)sizeof frame)) {
        bench_start();
        frame_to_input(frame, input);
        const int32_t cls = image_predict(input, image_N_FEATURES);
        bench_stop();
        if (cls < 0) {
            put("error: the model returned an error code\n");
            return 1;
        }
        put_line(n++, cls);
    }
    (void)mlh_semihost_call(IMG_SYS_CLOSE, &fd);

    char num[12];
    put("done ");
    put(utoa_end(num + sizeof num - 1u, n));
    put("\n");
    return 0;
}
