#include <stdio.h>
#include "model_b.h"
#include "model_a.h"   /* both in one TU as well: the runtime guard keeps one copy */
int32_t call_a(const float *x);
int main(void)
{
    float x[model_a_N_FEATURES > model_b_N_FEATURES ? model_a_N_FEATURES : model_b_N_FEATURES] = {0};
    float out[model_b_N_OUTPUTS];
    const int32_t a = call_a(x);
    const int32_t a2 = model_a_predict(x, model_a_N_FEATURES);
    const int32_t b = model_b_regress(x, model_b_N_FEATURES, out, model_b_N_OUTPUTS);
    printf("%d %d %d %.9g\n", (int)a, (int)a2, (int)b, (double)out[0]);
    return (a >= 0 && a == a2 && b == 0) ? 0 : 1;
}
