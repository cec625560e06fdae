/* Hand-written fixture following the generated-header contract: one feature, one
 * output. Its frame holds a 4 KB buffer that only a rare path writes (x == -12345),
 * and below it the call of a function whose own frame writes 200 floats: the deepest
 * written word lies more than 4 KB + 800 B below the caller, under an unwritten gap (a
 * stack measurement that stops at the first painted word it finds reports less).
 * out = x * 199 (float32). */
#ifndef GAP_MODEL_H
#define GAP_MODEL_H
#include <math.h>
#include <stdint.h>

#define gap_N_FEATURES 1
#define gap_N_OUTPUTS 1
#define gap_TASK 1

static __attribute__((noinline)) float gap__deep(float x)
{
    volatile float buf[200];
    int32_t i;
    for (i = 0; i < 200; i++) {
        buf[i] = x * (float)i;
    }
    return buf[199];
}

static __attribute__((noinline)) float gap__run(float x, int32_t rare)
{
    volatile uint8_t unused[4096];
    float y = gap__deep(x);
    if (rare) {
        int32_t i;
        for (i = 0; i < 4096; i++) {
            unused[i] = (uint8_t)i;
        }
        y += (float)unused[4095];
    }
    return y;
}

static inline int32_t gap_regress(const float *features, int32_t n_features, float *out,
                                  int32_t n_out)
{
    if (n_features != gap_N_FEATURES || n_out != gap_N_OUTPUTS) {
        return -1;
    }
    out[0] = gap__run(features[0], features[0] == -12345.0f);
    return 0;
}

static inline float gap_regress1(const float *features, int32_t n_features)
{
    float y;
    return gap_regress(features, n_features, &y, 1) == 0 ? y : NAN;
}
#endif
