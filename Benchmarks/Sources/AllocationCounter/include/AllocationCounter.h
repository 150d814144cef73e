#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Number of malloc, calloc and realloc calls in this process so far.
long allocation_counter_count(void);

#endif
