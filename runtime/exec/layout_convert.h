/* cleave internal: moving tensors between PLAIN (ONNX order) and CHANNELS_LAST storage. */
#ifndef CLEAVE_EXEC_LAYOUT_CONVERT_H
#define CLEAVE_EXEC_LAYOUT_CONVERT_H

#include <pthreadpool.h>
#include <stddef.h>
#include <stdint.h>

/* dims are the logical (ONNX) dims [N, C, D1, ..., Dk] of a rank >= 3 tensor; elements are esize
 * bytes (1, 2, 4 or 8). src and dst must not overlap. pool may be NULL. */
void cl_layout_to_channels_last(const void *src, void *dst, int rank, const int64_t *dims,
                                size_t esize, pthreadpool_t pool);
void cl_layout_to_plain(const void *src, void *dst, int rank, const int64_t *dims, size_t esize,
                        pthreadpool_t pool);
/* 1 when both layouts of this shape have the same bytes (C == 1, or every spatial dim product 1). */
int cl_layout_is_trivial(int rank, const int64_t *dims);

#endif
