/* cleave: open-addressing string map (FNV-1a, linear probing, load factor <= 1/2). */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *key; /* NULL: empty slot */
  int val;
} slot;

struct cl_strmap {
  slot *slots;
  size_t cap; /* power of two */
  size_t size;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

cl_strmap *cl_strmap_new(void) {
  cl_strmap *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->cap = 64;
  m->slots = calloc(m->cap, sizeof *m->slots);
  if (!m->slots) {
    free(m);
    return NULL;
  }
  return m;
}

void cl_strmap_free(cl_strmap **pm) {
  if (!pm || !*pm) return;
  cl_strmap *m = *pm;
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
  free(m->slots);
  free(m);
  *pm = NULL;
}

static slot *find_slot(slot *slots, size_t cap, const char *key) {
  size_t i = hash_str(key) & (cap - 1);
  while (slots[i].key && strcmp(slots[i].key, key) != 0) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static int grow(cl_strmap *m) {
  size_t cap = m->cap * 2;
  slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) *find_slot(slots, cap, m->slots[i].key) = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

int cl_strmap_put(cl_strmap *m, const char *key, int val) {
  if ((m->size + 1) * 2 > m->cap && grow(m) != 0) return -1;
  slot *s = find_slot(m->slots, m->cap, key);
  if (!s->key) {
    s->key = strdup(key);
    if (!s->key) return -1;
    m->size++;
  }
  s->val = val;
  return 0;
}

int cl_strmap_get(const cl_strmap *m, const char *key) {
  const slot *s = find_slot(m->slots, m->cap, key);
  return s->key ? s->val : -1;
}

size_t cl_strmap_size(const cl_strmap *m) { return m->size; }
