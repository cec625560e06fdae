/* The platform samples' application (see app.h). model.h and rows.h come from
 * examples/platforms/train.py. */
#include <stdio.h>

#include "app.h"
#include "model.h"
#include "rows.h"

int sample_run(void)
{
    int i;
    printf("microlearn sample: %d features -> %d classes\n", iris_N_FEATURES, iris_N_OUTPUTS);
    for (i = 0; i < SAMPLE_N_ROWS; i++) {
        float proba[iris_N_OUTPUTS];
        int32_t k = iris_predict(sample_rows[i], iris_N_FEATURES);
        int32_t status = iris_predict_proba(sample_rows[i], iris_N_FEATURES, proba,
                                            iris_N_OUTPUTS);
        if (k < 0 || status != ML_OK) {
            printf("row %d: error %d\n", i, (int)(k < 0 ? k : status));
            return k < 0 ? (int)k : (int)status;
        }
        /* printf has no float conversion without promotion: print per-mille as an int */
        printf("row %d: %s p=%d/1000\n", i, iris_class_label(k),
               (int)(proba[k] * 1000.0f + 0.5f));
    }
    return SAMPLE_N_ROWS;
}
