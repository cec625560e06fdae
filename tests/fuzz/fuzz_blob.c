/* libFuzzer target for the model blob loader (ml_blob.h).
 * The input is a blob. The harness rewrites the size and CRC-32 fields so that
 * mutations reach the structural validation, not just the checksum; then, when
 * the loader accepts the blob, it runs the engine on a few inputs (a validated
 * blob must be safe to run). Build: clang -fsanitize=fuzzer,address,undefined. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ml_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t *buf = (uint32_t *)malloc((size / 4 + 1) * 4); /* 4-byte aligned copy */
    if (buf == NULL) {
        return 0;
    }
    uint8_t *b = (uint8_t *)buf;
    memcpy(b, data, size);
    if (size >= ML_BLOB_HEADER_BYTES && (data[0] & 1u) == 0u) {
        /* half of the inputs get a consistent size + checksum */
        const uint32_t n = (uint32_t)size;
        b[8] = (uint8_t)n; b[9] = (uint8_t)(n >> 8); b[10] = (uint8_t)(n >> 16); b[11] = (uint8_t)(n >> 24);
        const uint32_t crc = ml_crc32(b + ML_BLOB_HEADER_BYTES, size - ML_BLOB_HEADER_BYTES);
        b[12] = (uint8_t)crc; b[13] = (uint8_t)(crc >> 8); b[14] = (uint8_t)(crc >> 16); b[15] = (uint8_t)(crc >> 24);
        b[0] = 'M';
    }
    ml_trees_t m;
    if (ml_trees_from_blob(&m, b, size) == ML_OK && m.n_features <= 4096 && m.n_outputs <= 4096) {
        float *x = (float *)calloc((size_t)m.n_features, sizeof(float));
        float *out = (float *)calloc((size_t)m.n_outputs, sizeof(float));
        if (x != NULL && out != NULL) {
            const float probes[4] = {0.0f, 1e30f, -1e30f, NAN};
            for (int k = 0; k < 4; k++) {
                for (int32_t i = 0; i < m.n_features; i++) {
                    x[i] = probes[k];
                }
                (void)ml_trees_run(&m, x, out);
            }
        }
        free(x);
        free(out);
    }
    free(buf);
    return 0;
}
