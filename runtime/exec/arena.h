/* cleave internal: arena planning. Buffers with overlapping lifetimes get disjoint byte ranges of
 * one arena; the others may share bytes. Greedy by size, largest first, each at the lowest offset
 * that fits between the buffers already placed that overlap it in time. */
#ifndef CLEAVE_EXEC_ARENA_H
#define CLEAVE_EXEC_ARENA_H

#include <stddef.h>

#include "cleave/status.h"

typedef struct cl_arena_buf {
  size_t size;   /* bytes needed (the planner adds alignment and over-read slack) */
  int first;     /* first step it is live at (its producer; -1 for graph inputs) */
  int last;      /* last step it is live at (its last reader; n for graph outputs) */
  size_t offset; /* out: byte offset in the arena, 64-byte aligned */
} cl_arena_buf;

/* Places n buffers; returns the arena size in *total. Errors: CL_ERR_NOMEM. */
cl_status cl_arena_plan(cl_arena_buf *bufs, int n, size_t *total, cl_error *err) CL_MUST_CHECK;

#endif
