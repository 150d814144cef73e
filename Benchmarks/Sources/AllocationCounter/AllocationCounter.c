// Interposes glibc's allocation entry points to count heap allocations.
// An executable's definition of malloc takes precedence over libc's for every
// shared library (ELF symbol interposition), so Swift runtime allocations are
// counted too. posix_memalign/aligned_alloc (over-aligned types) are not counted.
#include <stdatomic.h>
#include <stddef.h>
#include "AllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);

static _Atomic long allocation_count = 0;

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

long allocation_counter_count(void) {
    return atomic_load_explicit(&allocation_count, memory_order_relaxed);
}
