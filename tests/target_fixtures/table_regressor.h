/* Hand-written fixture following the generated-header contract: one feature, one
 * output looked up in a 256-entry table (1 KB of constants: a model whose flash cost
 * is known to be at least 1024 bytes). out = table[clamp(floor(x), 0, 255)]. */
#ifndef TBL_MODEL_H
#define TBL_MODEL_H
#include <math.h>
#include <stdint.h>

#define tbl_N_FEATURES 1
#define tbl_N_OUTPUTS 1
#define tbl_TASK 1

#define TBL_E(i) ((float)(i) * 0.25f - 3.0f)
#define TBL_E4(i) TBL_E(i), TBL_E((i) + 1), TBL_E((i) + 2), TBL_E((i) + 3)
#define TBL_E16(i) TBL_E4(i), TBL_E4((i) + 4), TBL_E4((i) + 8), TBL_E4((i) + 12)
#define TBL_E64(i) TBL_E16(i), TBL_E16((i) + 16), TBL_E16((i) + 32), TBL_E16((i) + 48)
static const float tbl_table[256] = {TBL_E64(0), TBL_E64(64), TBL_E64(128), TBL_E64(192)};

static inline int32_t tbl_regress(const float *features, int32_t n_features, float *out,
                                  int32_t n_out)
{
    float x;
    int32_t i = 0;
    if (n_features != tbl_N_FEATURES) {
        return -1;
    }
    if (n_out != tbl_N_OUTPUTS) {
        return -2;
    }
    x = features[0];
    if (x >= 255.0f) {
        i = 255;
    } else if (x >= 1.0f) {
        i = (int32_t)x;
    }
    out[0] = tbl_table[i];
    return 0;
}

static inline float tbl_regress1(const float *features, int32_t n_features)
{
    float y;
    return tbl_regress(features, n_features, &y, 1) == 0 ? y : NAN;
}
#endif
