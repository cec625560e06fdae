/* WebAssembly entry points of one generated model (model.h, symbols prefixed "model").
 * The page writes a row of float32 features into linear memory at __heap_base and calls
 * these; nothing is allocated and nothing global is written. */
#include "model.h"

#if defined(__wasm__)
#define DEMO_EXPORT(name) __attribute__((export_name(name)))
#else
#define DEMO_EXPORT(name) /* a host build (checks only): ordinary functions */
#endif

DEMO_EXPORT("n_features") int32_t demo_n_features(void);
DEMO_EXPORT("n_outputs") int32_t demo_n_outputs(void);
DEMO_EXPORT("predict") int32_t demo_predict(const float *x);

int32_t demo_n_features(void)
{
    return model_N_FEATURES;
}

int32_t demo_n_outputs(void)
{
    return model_N_OUTPUTS;
}

/* The class index, or a negative ML_ERR_* code. */
int32_t demo_predict(const float *x)
{
    return model_predict(x, model_N_FEATURES);
}

#ifdef DEMO_HAS_PROBA
DEMO_EXPORT("predict_proba") int32_t demo_predict_proba(const float *x, float *out);

/* model_N_OUTPUTS probabilities into out; ML_OK or a negative ML_ERR_* code. */
int32_t demo_predict_proba(const float *x, float *out)
{
    return model_predict_proba(x, model_N_FEATURES, out, model_N_OUTPUTS);
}
#endif
