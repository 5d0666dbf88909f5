/* cleave: greedy arena planning over buffer lifetimes. */
#include "exec/arena.h"

#include <stdlib.h>

/* Alignment for SIMD loads, plus slack: XNNPACK may read up to XNN_EXTRA_BYTES past a tensor. */
#define ARENA_ALIGN 64
#define ARENA_SLACK 64

static size_t padded(size_t size) {
  return (size + ARENA_SLACK + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static int by_size_desc(const void *a, const void *b, void *bufs) {
  const cl_arena_buf *base = bufs;
  size_t sa = base[*(const int *)a].size, sb = base[*(const int *)b].size;
  if (sa != sb) return sa < sb ? 1 : -1;
  return *(const int *)a - *(const int *)b;
}

static int by_offset(const void *a, const void *b, void *bufs) {
  size_t oa = ((cl_arena_buf *)bufs)[*(const int *)a].offset;
  size_t ob = ((cl_arena_buf *)bufs)[*(const int *)b].offset;
  return oa < ob ? -1 : oa > ob;
}

cl_status cl_arena_plan(cl_arena_buf *bufs, int n, size_t *total, cl_error *err) {
  int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
  int *overlap = malloc((size_t)(n ? n : 1) * sizeof *overlap);
  if (!order || !overlap) {
    free(order);
    free(overlap);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory planning the arena");
  }
  for (int i = 0; i < n; i++) order[i] = i;
  qsort_r(order, (size_t)n, sizeof *order, by_size_desc, bufs);
  size_t end = 0;
  for (int k = 0; k < n; k++) {
    cl_arena_buf *b = &bufs[order[k]];
    int m = 0;
    for (int j = 0; j < k; j++) {
      const cl_arena_buf *o = &bufs[order[j]];
      if (o->first <= b->last && b->first <= o->last) overlap[m++] = order[j];
    }
    qsort_r(overlap, (size_t)m, sizeof *overlap, by_offset, bufs);
    size_t off = 0, need = padded(b->size);
    for (int j = 0; j < m; j++) {
      const cl_arena_buf *o = &bufs[overlap[j]];
      if (o->offset >= off + need) break;  /* the gap before o fits */
      size_t o_end = o->offset + padded(o->size);
      if (o_end > off) off = o_end;
    }
    b->offset = off;
    if (off + need > end) end = off + need;
  }
  free(order);
  free(overlap);
  *total = end;
  return CL_OK;
}
