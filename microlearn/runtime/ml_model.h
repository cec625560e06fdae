/* ml_model.h - microlearn C runtime: load and run any model file (all families).
 *
 *   #include "ml_model.h"
 *   ml_model_t model;                 // ~ML_MODEL_MAX_STEPS family structs; no pointers owned
 *   if (ml_model_load(&model, blob, blob_size) != ML_OK) { ... corrupt / unsupported ... }
 *   float scratch[...];               // ml_model_scratch_floats(&model) floats
 *   int32_t cls = ml_model_predict(&model, x, scratch);
 *   ml_model_predict_proba(&model, x, out, scratch);   // and decision_function,
 *                                       // score_samples, regress, transform
 *   ml_model_run_int(&model, x8, NULL, out, &cls, scratch); // int8 nets: integer input
 *                                       // (ml_model_input_quantization: scale, zero point)
 *
 * A pipeline is several sections: every step but the last is a transformer whose
 * outputs feed the next step (checked at load: widths must chain). The blob is used in
 * place (see ml_blob.h). Flash cost: the engines of every family listed below are
 * compiled in (unused ones are dropped with -ffunction-sections -Wl,--gc-sections only
 * when never referenced: to keep a firmware small, define ML_MODEL_FAMILIES yourself to
 * list only the families it needs, before including this header).
 *
 * Adding a family: include its header and add X(<section id>, <name>) to the list.
 */
#ifndef ML_MODEL_H
#define ML_MODEL_H

#include "ml_blob.h"
#include "ml_trees.h"
#include "ml_linear.h"
#include "ml_svm.h"
#include "ml_naive_bayes.h"
#include "ml_mixture.h"
#include "ml_neighbors.h"
#include "ml_preprocessing.h"
#include "ml_nets.h"
#include "ml_dsp.h"

#ifndef ML_MODEL_FAMILIES
#define ML_MODEL_FAMILIES(X) X(1, trees) X(2, linear) X(3, svm) X(4, naive_bayes) X(5, mixture) X(6, neighbors) X(7, preprocessing) X(8, nets) X(9, dsp)
#endif

#ifndef ML_MODEL_MAX_STEPS
#define ML_MODEL_MAX_STEPS 8
#endif

typedef struct ml_model_step {
    uint32_t family;
    ml_info_t info;
    union {
#define ML_MODEL__MEMBER(ID, FAM) ml_##FAM##_t FAM;
        ML_MODEL_FAMILIES(ML_MODEL__MEMBER)
#undef ML_MODEL__MEMBER
    } u;
} ml_model_step_t;

typedef struct ml_model {
    int32_t n_steps;
    ml_info_t info;          /* of the whole model: the last step's, with the first's inputs */
    int32_t width;           /* widest intermediate output of steps 0..n_steps-2 */
    int32_t step_scratch;    /* most scratch any step needs */
    ml_model_step_t steps[ML_MODEL_MAX_STEPS];
} ml_model_t;

/* Load a model file of `size` bytes (8-byte aligned: some families keep float64 tables) in
 * place. ML_OK, or ML_ERR_NULL,
 * ML_ERR_MODEL (corrupt, truncated, inconsistent), ML_ERR_VERSION, ML_ERR_ALIGN or
 * ML_ERR_UNSUPPORTED (a family this build does not include, or too many steps). */
static inline int32_t ml_model_load(ml_model_t *m, const void *data, size_t size)
{
    uint32_t version = 0, ns = 0, total = 0;
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    m->n_steps = 0;
    int32_t status = ml_blob_check(data, size, &version, &ns, &total);
    if (status != ML_OK) {
        return status;
    }
    if (ns > (uint32_t)ML_MODEL_MAX_STEPS) {
        return ML_ERR_UNSUPPORTED;
    }
    m->width = 0;
    m->step_scratch = 0;
    for (uint32_t i = 0; i < ns; i++) {
        ml_blob_section_t s;
        ml_model_step_t *st = &m->steps[i];
        status = ml_blob_section(data, version, total, i, &s);
        if (status != ML_OK) {
            return status;
        }
        const uint8_t *sec = (const uint8_t *)data + s.offset;
        st->family = s.family;
        switch (s.family) {
#define ML_MODEL__LOAD(ID, FAM)                                                     \
        case ID:                                                                    \
            /* a version-1 file: one trees section with its header at byte 16 */     \
            status = (ID == 1 && s.header != 0u)                                    \
                         ? ml_trees__parse((ml_trees_t *)(void *)&st->u.FAM, sec,   \
                                           s.size, s.header)                        \
                         : ml_##FAM##_from_section(&st->u.FAM, sec, s.size);        \
            if (status == ML_OK) {                                                  \
                ml_##FAM##_info(&st->u.FAM, &st->info);                             \
            }                                                                       \
            break;
        ML_MODEL_FAMILIES(ML_MODEL__LOAD)
#undef ML_MODEL__LOAD
        default:
            return ML_ERR_UNSUPPORTED;
        }
        if (status != ML_OK) {
            return status;
        }
        /* the section table and the family agree; the steps chain */
        if ((uint32_t)st->info.task != s.task || (uint32_t)st->info.n_features != s.n_features ||
            (i + 1u < ns && st->info.task != ML_TASK_TRANSFORMER) ||
            (i > 0u && m->steps[i - 1u].info.n_outputs != st->info.n_features) ||
            st->info.scratch_floats < 0 || st->info.n_outputs <= 0) {
            return ML_ERR_MODEL;
        }
        if (i + 1u < ns && st->info.n_outputs > m->width) {
            m->width = st->info.n_outputs;
        }
        if (st->info.scratch_floats > m->step_scratch) {
            m->step_scratch = st->info.scratch_floats;
        }
    }
    m->info = m->steps[ns - 1u].info;
    m->info.n_features = m->steps[0].info.n_features;
    if ((int64_t)m->step_scratch + 2 * (int64_t)m->width > 0x7FFFFFFF) {
        return ML_ERR_MODEL;
    }
    m->n_steps = (int32_t)ns;
    return ML_OK;
}

/* Load only section `index` of a model file as a one-step model (the container is still
 * checked whole: magic, version, size, CRC-32, section table). Used where each family has
 * its own module (MicroPython --split builds): a pipeline whose steps belong to different
 * families is loaded step by step and chained by the caller. Same return codes as
 * ml_model_load; ML_ERR_MODEL when index is out of range. */
static inline int32_t ml_model_load_step(ml_model_t *m, const void *data, size_t size,
                                         uint32_t index)
{
    uint32_t version = 0, ns = 0, total = 0;
    ml_blob_section_t s = {0u, 0u, 0u, 0u, 0u, 0u};
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    m->n_steps = 0;
    int32_t status = ml_blob_check(data, size, &version, &ns, &total);
    if (status != ML_OK) {
        return status;
    }
    if (index >= ns) {
        return ML_ERR_MODEL;
    }
    for (uint32_t i = 0; i <= index; i++) { /* entries are validated in order */
        status = ml_blob_section(data, version, total, i, &s);
        if (status != ML_OK) {
            return status;
        }
    }
    if (index + 1u < ns && s.task != (uint32_t)ML_TASK_TRANSFORMER) {
        return ML_ERR_MODEL;
    }
    const uint8_t *sec = (const uint8_t *)data + s.offset;
    ml_model_step_t *st = &m->steps[0];
    st->family = s.family;
    switch (s.family) {
#define ML_MODEL__LOAD1(ID, FAM)                                                    \
    case ID:                                                                        \
        status = (ID == 1 && s.header != 0u)                                        \
                     ? ml_trees__parse((ml_trees_t *)(void *)&st->u.FAM, sec,       \
                                       s.size, s.header)                            \
                     : ml_##FAM##_from_section(&st->u.FAM, sec, s.size);            \
        if (status == ML_OK) {                                                      \
            ml_##FAM##_info(&st->u.FAM, &st->info);                                 \
        }                                                                           \
        break;
    ML_MODEL_FAMILIES(ML_MODEL__LOAD1)
#undef ML_MODEL__LOAD1
    default:
        return ML_ERR_UNSUPPORTED;
    }
    if (status != ML_OK) {
        return status;
    }
    if ((uint32_t)st->info.task != s.task || (uint32_t)st->info.n_features != s.n_features ||
        st->info.scratch_floats < 0 || st->info.n_outputs <= 0) {
        return ML_ERR_MODEL;
    }
    m->info = st->info;
    m->width = 0;
    m->step_scratch = st->info.scratch_floats;
    m->n_steps = 1;
    return ML_OK;
}

/* Floats of scratch every ml_model_* call needs (intermediate outputs of a pipeline's
 * steps and the families' own scratch). */
static inline int32_t ml_model_scratch_floats(const ml_model_t *m)
{
    return m->step_scratch + 2 * m->width;
}

/* The methods, per family. */
#define ML_MODEL__DISPATCH(METHOD)                                                  \
    static inline int32_t ml_model__##METHOD(const ml_model_step_t *st, const float *x, \
                                             float *out, float *scratch)            \
    {                                                                               \
        switch (st->family) {                                                       \
        ML_MODEL_FAMILIES(ML_MODEL__CASE_##METHOD)                                  \
        default:                                                                    \
            return ML_ERR_UNSUPPORTED;                                              \
        }                                                                           \
    }
#define ML_MODEL__CASE_predict_proba(ID, FAM) \
    case ID: return ml_##FAM##_predict_proba(&st->u.FAM, x, out, scratch);
#define ML_MODEL__CASE_decision_function(ID, FAM) \
    case ID: return ml_##FAM##_decision_function(&st->u.FAM, x, out, scratch);
#define ML_MODEL__CASE_score_samples(ID, FAM) \
    case ID: return ml_##FAM##_score_samples(&st->u.FAM, x, out, scratch);
#define ML_MODEL__CASE_regress(ID, FAM) \
    case ID: return ml_##FAM##_regress(&st->u.FAM, x, out, scratch);
#define ML_MODEL__CASE_transform(ID, FAM) \
    case ID: return ml_##FAM##_transform(&st->u.FAM, x, out, scratch);
#define ML_MODEL__CASE_predict(ID, FAM) \
    case ID: (void)out; return ml_##FAM##_predict(&st->u.FAM, x, scratch);
ML_MODEL__DISPATCH(predict_proba)
ML_MODEL__DISPATCH(decision_function)
ML_MODEL__DISPATCH(score_samples)
ML_MODEL__DISPATCH(regress)
ML_MODEL__DISPATCH(transform)
ML_MODEL__DISPATCH(predict)

/* Run steps 0..n-2 (transformers) on x; returns the input of the last step (x itself
 * for a single step) or NULL on error (*status set). */
static inline const float *ml_model__front(const ml_model_t *m, const float *x, float *scratch,
                                           int32_t *status)
{
    const float *in = x;
    float *bufs[2];
    bufs[0] = scratch + m->step_scratch;
    bufs[1] = bufs[0] + m->width;
    *status = ML_OK;
    for (int32_t i = 0; i + 1 < m->n_steps; i++) {
        float *o = bufs[i & 1];
        *status = ml_model__transform(&m->steps[i], in, o, scratch);
        if (*status != ML_OK) {
            return NULL;
        }
        in = o;
    }
    return in;
}

#define ML_MODEL__METHOD(METHOD)                                                    \
    static inline int32_t ml_model_##METHOD(const ml_model_t *m, const float *x,    \
                                            float *out, float *scratch)             \
    {                                                                               \
        int32_t status;                                                             \
        if (m == NULL || x == NULL || out == NULL || m->n_steps <= 0 ||             \
            (scratch == NULL && ml_model_scratch_floats(m) > 0)) {                  \
            return ML_ERR_NULL;                                                     \
        }                                                                           \
        const float *in = ml_model__front(m, x, scratch, &status);                  \
        if (in == NULL) {                                                           \
            return status;                                                          \
        }                                                                           \
        return ml_model__##METHOD(&m->steps[m->n_steps - 1], in, out, scratch);     \
    }
/* ml_model_predict_proba / _decision_function / _score_samples (1 value) / _regress /
 * _transform(m, x, out, scratch): ML_OK or a negative error code (ML_ERR_UNSUPPORTED:
 * the model has no such method). x: info.n_features floats; out: the method's width. */
ML_MODEL__METHOD(predict_proba)
ML_MODEL__METHOD(decision_function)
ML_MODEL__METHOD(score_samples)
ML_MODEL__METHOD(regress)
ML_MODEL__METHOD(transform)

/* Class index (classifier) or +1/-1 (outlier detector) of one sample. Errors: a
 * negative error code for classifiers; 0 for outlier detectors (-1 is an answer there). */
static inline int32_t ml_model_predict(const ml_model_t *m, const float *x, float *scratch)
{
    int32_t status;
    const float *in = x;
    if (m == NULL || x == NULL || m->n_steps <= 0 ||
        (scratch == NULL && ml_model_scratch_floats(m) > 0)) {
        return m != NULL && m->n_steps > 0 && m->info.task == ML_TASK_OUTLIER_DETECTOR
                   ? 0 : ML_ERR_NULL;
    }
    if (m->n_steps > 1) {
        in = ml_model__front(m, x, scratch, &status);
        if (in == NULL) {
            return m->info.task == ML_TASK_OUTLIER_DETECTOR ? 0 : status;
        }
    }
    status = ml_model__predict(&m->steps[m->n_steps - 1], in, NULL, scratch);
    if (m->info.task == ML_TASK_OUTLIER_DETECTOR && status != 1 && status != -1) {
        return 0;
    }
    return status;
}

/* --- integer entry: int8 neural nets (model-file family 8) whose first op quantizes the
 * float input. One sample of info.n_features int8 values already in the model's input
 * quantization (q = round(x / scale) + zero_point), or int16 feature values (quantized
 * inside exactly as the float entry would): bit-exact with the generated header's
 * NAME_*_i8 / NAME_*_i16 functions. Single-step models only. */
#define ML_MODEL__NETS_ID 8u
/* 1 when ML_MODEL_FAMILIES lists the nets family: without it the integer entry is folded
 * away by the compiler (no int8 kernels in builds for other families). */
#define ML_MODEL__IS_NETS(ID, FAM) + ((ID) == ML_MODEL__NETS_ID ? 1 : 0)
enum { ML_MODEL__HAS_NETS = 0 ML_MODEL_FAMILIES(ML_MODEL__IS_NETS) };
#undef ML_MODEL__IS_NETS

/* The int8 net of a one-step model with an integer entry, else NULL. */
static inline const ml_nets_t *ml_model__int_net(const ml_model_t *m)
{
#ifndef ML_NETS_NO_INT8
    float scale;
    int32_t zp;
    const ml_nets_t *n;
    if (!ML_MODEL__HAS_NETS || m == NULL || m->n_steps != 1 ||
        m->steps[0].family != ML_MODEL__NETS_ID) {
        return NULL;
    }
    /* the active union member (family 8 loads only when nets is compiled in) */
    n = (const ml_nets_t *)(const void *)&m->steps[0].u;
    if (n->ops != NULL || n->base == NULL || ml_rd_u32(n->base) != ML_NETS_SECTION_VERSION_2 ||
        ml_rd_u32(n->base + 44) != ML_NETS_DTYPE_INT8 ||
        ml_nets_q7_input_quant(n->base, &scale, &zp) != ML_OK) {
        return NULL;
    }
    return n;
#else
    (void)m;
    return NULL;
#endif
}

/* ML_OK and the input quantization (*scale, *zero_point: what the int8 entry expects) when
 * the model has an integer entry, else ML_ERR_UNSUPPORTED (a float model, a pipeline). */
static inline int32_t ml_model_input_quantization(const ml_model_t *m, float *scale,
                                                  int32_t *zero_point)
{
#ifndef ML_NETS_NO_INT8
    const ml_nets_t *n = ml_model__int_net(m);
    if (!ML_MODEL__HAS_NETS || n == NULL) {
        return ML_ERR_UNSUPPORTED;
    }
    if (scale == NULL || zero_point == NULL) {
        return ML_ERR_NULL;
    }
    return ml_nets_q7_input_quant(n->base, scale, zero_point);
#else
    (void)m;
    (void)scale;
    (void)zero_point;
    return ML_ERR_UNSUPPORTED;
#endif
}

/* Integer entry: x8 (int8, in the input quantization) or x16 (int16 features), the other
 * NULL. Writes the outputs (predict_proba of a classifier, regress of a regressor;
 * info.n_outputs floats) to out when out != NULL and the class index (classifiers) to *cls
 * when cls != NULL. scratch: ml_model_scratch_floats(m) floats. ML_OK, ML_ERR_NULL or
 * ML_ERR_UNSUPPORTED (no integer entry). */
static inline int32_t ml_model_run_int(const ml_model_t *m, const int8_t *x8,
                                       const int16_t *x16, float *out, int32_t *cls,
                                       float *scratch)
{
#ifndef ML_NETS_NO_INT8
    const ml_nets_t *n = ml_model__int_net(m);
    if (!ML_MODEL__HAS_NETS || n == NULL) {
        return ML_ERR_UNSUPPORTED;
    }
    if ((x8 == NULL) == (x16 == NULL) || scratch == NULL ||
        (cls != NULL && n->task != ML_TASK_CLASSIFIER)) {
        return ML_ERR_NULL;
    }
    {
        /* the class alone: from the final softmax's input when certain */
        int32_t c = -1;
        ml_nets_q7_forward_in(n->base, scratch, (const float *)0, x8, x16,
                              cls != NULL && out == NULL && n->n_final > 1 ? &c
                                                                          : (int32_t *)0);
        if (c >= 0) {
            *cls = c;
            return ML_OK;
        }
    }
    if (out != NULL) {
        ml_nets_outputs(n, scratch + n->out, out);
    }
    if (cls != NULL) {
        *cls = ml_nets_decide(n, scratch + n->out);
    }
    return ML_OK;
#else
    (void)m;
    (void)x8;
    (void)x16;
    (void)out;
    (void)cls;
    (void)scratch;
    return ML_ERR_UNSUPPORTED;
#endif
}

#endif /* ML_MODEL_H */
