/* Including a model header without using it must not warn (-Werror). */
#include "model.h"
int main(void) { return 0; }
