/* Standalone check of a saved model header (no Python binding involved).
 * Build: cc -DPREFIX=<name> -DHEADER='"<name>.h"' check_model.c
 * Usage: check_model X.bin expected.bin tol
 *   X.bin: int32 n_rows, int32 n_features, float32 rows
 *   expected.bin (classifier): int32 class[n_rows], float32 proba[n_rows][N_OUTPUTS]
 *   expected.bin (regressor):  float32 out[n_rows][N_OUTPUTS]
 * Checks the outputs and the error codes; prints a summary; exit 0 when all agree. */
#include <stdio.h>
#include <stdlib.h>
#include HEADER

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define M(x) CAT(PREFIX, x)

static void *read_all(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)*size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s X.bin expected.bin tol\n", argv[0]);
        return 2;
    }
    long xs = 0, es = 0;
    int32_t *xh = (int32_t *)read_all(argv[1], &xs);
    char *exp = (char *)read_all(argv[2], &es);
    const float tol = strtof(argv[3], NULL);
    if (xh == NULL || exp == NULL) {
        fprintf(stderr, "cannot read inputs\n");
        return 2;
    }
    const int32_t n_rows = xh[0], nf = xh[1];
    const float *X = (const float *)(xh + 2);
    int failures = 0;
    float out[M(N_OUTPUTS)];
    float worst = 0.0f;
#if M(TASK) == ML_TASK_CLASSIFIER
    const int32_t *cls = (const int32_t *)exp;
    const float *proba = (const float *)(exp + 4 * (size_t)n_rows);
    for (int32_t i = 0; i < n_rows; i++) {
        const float *x = X + (size_t)i * (size_t)nf;
        if (M(predict)(x, nf) != cls[i]) {
            failures++;
        }
        if (M(predict_proba)(x, nf, out, M(N_OUTPUTS)) != ML_OK) {
            failures++;
        }
        for (int32_t k = 0; k < M(N_OUTPUTS); k++) {
            float d = out[k] - proba[(size_t)i * M(N_OUTPUTS) + (size_t)k];
            d = d < 0 ? -d : d;
            worst = d > worst ? d : worst;
        }
    }
    /* error paths */
    if (M(predict)(NULL, nf) != ML_ERR_NULL) failures++;
    if (M(predict)(X, nf + 1) != ML_ERR_N_FEATURES) failures++;
    if (M(predict_proba)(X, nf, NULL, M(N_OUTPUTS)) != ML_ERR_NULL) failures++;
    if (M(predict_proba)(X, nf, out, M(N_OUTPUTS) - 1) != ML_ERR_N_OUT) failures++;
#else
    const float *ref = (const float *)exp;
    for (int32_t i = 0; i < n_rows; i++) {
        const float *x = X + (size_t)i * (size_t)nf;
        if (M(regress)(x, nf, out, M(N_OUTPUTS)) != ML_OK) {
            failures++;
        }
        for (int32_t k = 0; k < M(N_OUTPUTS); k++) {
            float d = out[k] - ref[(size_t)i * M(N_OUTPUTS) + (size_t)k];
            d = d < 0 ? -d : d;
            worst = d > worst ? d : worst;
        }
#if M(N_OUTPUTS) == 1
        if (M(regress1)(x, nf) != out[0]) failures++;
#endif
    }
    if (M(regress)(NULL, nf, out, M(N_OUTPUTS)) != ML_ERR_NULL) failures++;
    if (M(regress)(X, nf - 1, out, M(N_OUTPUTS)) != ML_ERR_N_FEATURES) failures++;
    if (M(regress)(X, nf, out, 0) != ML_ERR_N_OUT) failures++;
#if M(N_OUTPUTS) == 1
    {
        const float bad = M(regress1)(X, nf + 1);
        if (bad == bad) failures++; /* must be NaN */
    }
#endif
#endif
    if (worst > tol) {
        failures++;
    }
    printf("rows=%d failures=%d max_abs_diff=%g\n", (int)n_rows, failures, (double)worst);
    free(xh);
    free(exp);
    return failures == 0 ? 0 : 1;
}
