/* cleave: PLAIN <-> CHANNELS_LAST transposition, [N, C, S] <-> [N, S, C] with S the spatial product,
 * blocked for cache reuse and split over the pool by batch x spatial blocks. */
#include "exec/layout_convert.h"

#include <string.h>

#include "exec/op.h"

typedef struct {
  const unsigned char *src;
  unsigned char *dst;
  size_t n, c, s, esize;
  int to_cl; /* 1: [N,C,S] -> [N,S,C]; 0: the reverse */
} tjob;

enum { BLK = 32 };

/* Transposes one rows x cols matrix block-wise (rows x cols -> cols x rows). */
#define TRANSPOSE_T(T)                                                                           \
  static void transpose_##T(const T *src, T *dst, size_t rows, size_t cols, size_t c0,          \
                            size_t c1) {                                                         \
    for (size_t cb = c0; cb < c1; cb += BLK)                                                     \
      for (size_t rb = 0; rb < rows; rb += BLK) {                                                \
        size_t ce = cb + BLK < c1 ? cb + BLK : c1, re = rb + BLK < rows ? rb + BLK : rows;       \
        for (size_t c = cb; c < ce; c++)                                                         \
          for (size_t r = rb; r < re; r++) dst[c * rows + r] = src[r * cols + c];               \
      }                                                                                          \
  }
TRANSPOSE_T(uint8_t)
TRANSPOSE_T(uint16_t)
TRANSPOSE_T(uint32_t)
TRANSPOSE_T(uint64_t)

/* Task over (batch, column block): columns of the source matrix in [c0, c1). */
static void tjob_run(void *p, size_t begin, size_t end) {
  const tjob *j = p;
  size_t rows = j->to_cl ? j->c : j->s, cols = j->to_cl ? j->s : j->c;
  size_t blocks = (cols + 255) / 256;
  for (size_t t = begin; t < end; t++) {
    size_t b = t / blocks, c0 = (t % blocks) * 256, c1 = c0 + 256 < cols ? c0 + 256 : cols;
    const unsigned char *src = j->src + b * rows * cols * j->esize;
    unsigned char *dst = j->dst + b * rows * cols * j->esize;
    switch (j->esize) {
    case 1: transpose_uint8_t((const void *)src, (void *)dst, rows, cols, c0, c1); break;
    case 2: transpose_uint16_t((const void *)src, (void *)dst, rows, cols, c0, c1); break;
    case 4: transpose_uint32_t((const void *)src, (void *)dst, rows, cols, c0, c1); break;
    default: transpose_uint64_t((const void *)src, (void *)dst, rows, cols, c0, c1); break;
    }
  }
}

static void convert(const void *src, void *dst, int rank, const int64_t *dims, size_t esize,
                    pthreadpool_t pool, int to_cl) {
  size_t s = 1;
  for (int i = 2; i < rank; i++) s *= (size_t)dims[i];
  tjob j = {src, dst, (size_t)dims[0], (size_t)dims[1], s, esize, to_cl};
  size_t total = j.n * j.c * j.s;
  if (cl_layout_is_trivial(rank, dims)) {
    memcpy(dst, src, total * esize);
    return;
  }
  size_t cols = to_cl ? j.s : j.c;
  size_t tasks = j.n * ((cols + 255) / 256);
  cl_parallel_for(pool, tasks, 1, tjob_run, &j);
}

void cl_layout_to_channels_last(const void *src, void *dst, int rank, const int64_t *dims,
                                size_t esize, pthreadpool_t pool) {
  convert(src, dst, rank, dims, esize, pool, 1);
}

void cl_layout_to_plain(const void *src, void *dst, int rank, const int64_t *dims, size_t esize,
                        pthreadpool_t pool) {
  convert(src, dst, rank, dims, esize, pool, 0);
}

int cl_layout_is_trivial(int rank, const int64_t *dims) {
  if (rank < 3) return 1;
  int64_t s = 1;
  for (int i = 2; i < rank; i++) s *= dims[i];
  return dims[1] == 1 || s == 1 || dims[0] * dims[1] * s == 0;
}
