/* libFuzzer target for the model-file loaders (ml_blob.h container + ml_model.h
 * dispatcher + every family's section loader). The input is a model file. For most
 * inputs the harness rewrites the size and CRC-32 fields so that mutations reach the
 * structural validation, not just the checksum (all but those whose byte 7 - the high
 * byte of the section count, 0 in real files - is odd); when the loader accepts the
 * file, it runs every method on a few inputs (a validated file must be safe to run).
 * Build: clang -fsanitize=fuzzer,address,undefined -I<runtime>. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ml_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t *buf = (uint64_t *)malloc((size / 8 + 1) * 8); /* 8-byte aligned copy */
    static ml_model_t m;
    if (buf == NULL) {
        return 0;
    }
    uint8_t *b = (uint8_t *)buf;
    memcpy(b, data, size);
    if (size >= ML_BLOB_HEADER_BYTES && (data[7] & 1u) == 0u) {
        const uint32_t n = (uint32_t)size;
        b[8] = (uint8_t)n; b[9] = (uint8_t)(n >> 8); b[10] = (uint8_t)(n >> 16); b[11] = (uint8_t)(n >> 24);
        const uint32_t crc = ml_crc32(b + ML_BLOB_HEADER_BYTES, size - ML_BLOB_HEADER_BYTES);
        b[12] = (uint8_t)crc; b[13] = (uint8_t)(crc >> 8); b[14] = (uint8_t)(crc >> 16); b[15] = (uint8_t)(crc >> 24);
    }
    /* each section alone (the per-family MicroPython modules' path) */
    for (uint32_t k = 0; k < 3u; k++) {
        static ml_model_t one;
        if (ml_model_load_step(&one, b, size, k) == ML_OK && one.info.n_features <= 4096 &&
            one.info.n_outputs <= 4096 && ml_model_scratch_floats(&one) <= 65536) {
            float *x = (float *)calloc((size_t)one.info.n_features, sizeof(float));
            float *out = (float *)calloc((size_t)one.info.n_outputs +
                                         (size_t)one.info.n_decision + 1u, sizeof(float));
            float *scratch = (float *)calloc((size_t)ml_model_scratch_floats(&one) + 1u,
                                             sizeof(float));
            if (x != NULL && out != NULL && scratch != NULL) {
                (void)ml_model_predict(&one, x, scratch);
                (void)ml_model_predict_proba(&one, x, out, scratch);
                (void)ml_model_transform(&one, x, out, scratch);
                (void)ml_model_regress(&one, x, out, scratch);
            }
            free(x);
            free(out);
            free(scratch);
        }
    }
    if (ml_model_load(&m, b, size) == ML_OK && m.info.n_features <= 4096 &&
        m.info.n_outputs <= 4096 && ml_model_scratch_floats(&m) <= 65536) {
        float *x = (float *)calloc((size_t)m.info.n_features, sizeof(float));
        float *out = (float *)calloc((size_t)m.info.n_outputs + (size_t)m.info.n_decision + 1u,
                                     sizeof(float));
        float *scratch = (float *)calloc((size_t)ml_model_scratch_floats(&m) + 1u, sizeof(float));
        if (x != NULL && out != NULL && scratch != NULL) {
            const float probes[4] = {0.0f, 1e30f, -1e30f, NAN};
            for (int k = 0; k < 4; k++) {
                for (int32_t i = 0; i < m.info.n_features; i++) {
                    x[i] = probes[k];
                }
                (void)ml_model_predict(&m, x, scratch);
                (void)ml_model_predict_proba(&m, x, out, scratch);
                (void)ml_model_decision_function(&m, x, out, scratch);
                (void)ml_model_score_samples(&m, x, out, scratch);
                (void)ml_model_regress(&m, x, out, scratch);
                (void)ml_model_transform(&m, x, out, scratch);
            }
        }
        free(x);
        free(out);
        free(scratch);
    }
    free(buf);
    return 0;
}
