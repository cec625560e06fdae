// Included by mlfixture.c from its own directory: checks that build_natmod keeps the
// sources' directory on the include path.
#ifndef MLFIXTURE_UTIL_H
#define MLFIXTURE_UTIL_H
#include <stddef.h>
#include <stdint.h>
static inline uint32_t mlfixture_byte_sum(const uint8_t *p, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) {
        s += p[i];
    }
    return s;
}
#endif
