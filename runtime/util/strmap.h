/* cleave internal: a string -> int hash map (open addressing), for name lookups while loading.
 * Keys are copied; the map owns them. Not thread-safe. */
#ifndef CLEAVE_UTIL_STRMAP_H
#define CLEAVE_UTIL_STRMAP_H

#include <stddef.h>

typedef struct cl_strmap cl_strmap;

/* A new empty map, or NULL when out of memory. */
cl_strmap *cl_strmap_new(void);
/* Frees the map and its keys; sets *m to NULL. Safe on NULL. */
void cl_strmap_free(cl_strmap **m);
/* Inserts or replaces key -> val. Returns 0, or -1 when out of memory. */
int cl_strmap_put(cl_strmap *m, const char *key, int val);
/* The value of key, or -1 when absent. */
int cl_strmap_get(const cl_strmap *m, const char *key);
/* Number of keys. */
size_t cl_strmap_size(const cl_strmap *m);

#endif
