/* Every runtime header in one translation unit, under the strict warning set. */
#include "ml_blob.h"
#include "ml_trees.h"
#include "ml_common.h"
int runtime_all_dummy(void);
int runtime_all_dummy(void) { return ML_OK; }
