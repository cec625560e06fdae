/* <string.h> for the browser demo's freestanding WebAssembly build: the four functions
 * the compiler and the runtime may call, defined in libc.c. */
#ifndef DEMO_STRING_H
#define DEMO_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif
