/* Two different generated models in two translation units of one program. */
#include "model_a.h"
int32_t call_a(const float *x);
int32_t call_a(const float *x) { return model_a_predict(x, model_a_N_FEATURES); }
