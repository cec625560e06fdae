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
#include "mlh_app.h"     /* semihosting I/O, bench markers */

#define IMG_N_PIXELS image_N_FEATURES /* one channel: a pixel is a feature */

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
    const int32_t fd = mlh_open("image_in.bin", MLH_OPEN_MODE_RB);
    if (fd < 0) {
        mlh_puts("error: cannot open image_in.bin\n");
        return MLH_EXIT_OPEN_FAILED;
    }

    uint32_t n = 0;
    while (mlh_read(fd, frame, (uint32_t)sizeof frame) == (uint32_t)sizeof frame) {
        bench_start();
        frame_to_input(frame, input);
        const int32_t cls = image_predict(input, image_N_FEATURES);
        bench_stop();
        if (cls < 0) {
            mlh_puts("error: the model returned an error code\n");
            return 1;
        }
        mlh_put_int("", (int32_t)n++);
        mlh_put_int(" ", cls);
        mlh_puts("\n");
    }
    mlh_close(fd);
    mlh_put_int("done ", (int32_t)n);
    mlh_puts("\n");
    return 0;
}
