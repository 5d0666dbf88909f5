/* cleave: helpers of the tensor operator group: params blocks, strides, axes lists, the strided-copy
 * and index-remapping engines. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "exec/ops_tensor.h"

/* === Small helpers === */

cl_status cl_tensor_params(const cl_node *n, size_t size, void **out, cl_error *err) {
  void *p = calloc(1, size ? size : 1);
  if (!p) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  free(*out);
  *out = p;
  return CL_OK;
}

cl_status cl_tensor_state(const cl_node *n, size_t size, void **state, cl_error *err) {
  *state = calloc(1, size ? size : 1);
  return *state ? CL_OK : cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
}

void cl_tensor_strides(const cl_value *v, int64_t *strides) {
  int64_t phys[CL_MAX_RANK], pstride[CL_MAX_RANK], s = 1;
  cl_value_phys_dims(v, phys);
  for (int p = v->rank - 1; p >= 0; p--) {
    pstride[p] = s;
    s *= phys[p];
  }
  for (int a = 0; a < v->rank; a++) strides[a] = pstride[cl_value_phys_axis(v, a)];
}

size_t cl_tensor_numel(const cl_value *v) {
  size_t n = 1;
  for (int i = 0; i < v->rank; i++) n *= (size_t)v->dims[i];
  return n;
}

cl_status cl_tensor_axes(const cl_graph *g, const cl_node *n, const char *attr, int input, int rank,
                         int *axes, int *count, cl_error *err) {
  const int64_t *av = NULL;
  int64_t *iv = NULL;
  int cnt = -1;
  const cl_attr *a = attr ? cl_node_attr(n, attr) : NULL;
  if (input >= 0 && cl_node_input(g, n, input)) {
    cl_status s = cl_node_const_ints(g, n, input, &iv, &cnt, err);
    if (s != CL_OK) return s;
    av = iv;
  } else if (a) {
    if (a->type != CL_ATTR_INTS)
      return cl_node_error(err, n, CL_ERR_FORMAT, "attribute '%s' must be a list of ints", attr);
    cnt = cl_node_attr_ints(n, attr, &av);
  }
  cl_status s = CL_OK;
  if (cnt > CL_MAX_RANK)
    s = cl_node_error(err, n, CL_ERR_LIMIT, "%d axes given (at most %d)", cnt, CL_MAX_RANK);
  for (int i = 0; i < cnt && s == CL_OK; i++) {
    s = cl_node_axis(n, av[i], rank, &axes[i], err);
    for (int j = 0; j < i && s == CL_OK; j++)
      if (axes[j] == axes[i])
        s = cl_node_error(err, n, CL_ERR_SHAPE, "axis %lld is repeated", (long long)av[i]);
  }
  free(iv);
  *count = cnt;
  return s;
}

#define FILL_T(T)                                                                                      \
  static void fill_##T(T *d, T v, size_t count) {                                                      \
    for (size_t i = 0; i < count; i++) d[i] = v;                                                       \
  }
FILL_T(uint8_t)
FILL_T(uint16_t)
FILL_T(uint32_t)
FILL_T(uint64_t)

void cl_tensor_fill(void *dst, const void *value, size_t count, size_t esize) {
  switch (esize) {
  case 1: fill_uint8_t(dst, *(const uint8_t *)value, count); break;
  case 2: {
    uint16_t v;
    memcpy(&v, value, 2);
    fill_uint16_t(dst, v, count);
    break;
  }
  case 4: {
    uint32_t v;
    memcpy(&v, value, 4);
    fill_uint32_t(dst, v, count);
    break;
  }
  default: {
    uint64_t v;
    memcpy(&v, value, 8);
    fill_uint64_t(dst, v, count);
    break;
  }
  }
}

/* === Strided copy: planning === */

enum { TILE = 32, TASK_BYTES = 32768 };

void cl_strided_init(cl_strided *p, int rank, const int64_t *dims, const int64_t *src_stride,
                     const int64_t *dst_stride, size_t esize) {
  memset(p, 0, sizeof *p);
  p->esize = esize;
  p->numel = 1;
  p->tile_axis = -1;
  /* Walk the destination in its storage order: axes by decreasing destination stride. */
  int order[CL_MAX_RANK], n = 0;
  for (int i = 0; i < rank; i++) {
    p->numel *= (size_t)dims[i];
    if (dims[i] == 1) continue;
    int j = n++;
    for (; j > 0 && dst_stride[order[j - 1]] < dst_stride[i]; j--) order[j] = order[j - 1];
    order[j] = i;
  }
  int r = 0;
  for (int k = 0; k < n; k++) {
    int i = order[k];
    /* Merge with the previous kept axis when both sides are contiguous across the pair. */
    if (r > 0 && p->src_stride[r - 1] == src_stride[i] * dims[i] &&
        p->dst_stride[r - 1] == dst_stride[i] * dims[i]) {
      p->dims[r - 1] *= dims[i];
      p->src_stride[r - 1] = src_stride[i];
      p->dst_stride[r - 1] = dst_stride[i];
      continue;
    }
    p->dims[r] = dims[i];
    p->src_stride[r] = src_stride[i];
    p->dst_stride[r] = dst_stride[i];
    r++;
  }
  if (r == 0) {
    p->dims[0] = 1;
    p->src_stride[0] = p->dst_stride[0] = 1;
    r = 1;
  }
  p->rank = r;
  int last = r - 1;
  if (p->dst_stride[last] == 1 && p->src_stride[last] != 1 && p->src_stride[last] != 0)
    for (int t = 0; t < last; t++)
      if (p->src_stride[t] == 1 && p->dims[t] >= 4 && p->dims[last] >= 4) p->tile_axis = t;
}

/* === Strided copy: kernels === */

#define STRIDED_T(T)                                                                                   \
  static void row_##T(const T *s, T *d, int64_t n, int64_t ss, int64_t ds) {                           \
    if (ss == 0) {                                                                                     \
      T v = s[0];                                                                                      \
      if (ds == 1)                                                                                     \
        for (int64_t i = 0; i < n; i++) d[i] = v;                                                      \
      else                                                                                             \
        for (int64_t i = 0; i < n; i++) d[i * ds] = v;                                                 \
    } else if (ds == 1) {                                                                              \
      for (int64_t i = 0; i < n; i++) d[i] = s[i * ss];                                                \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];                                           \
    }                                                                                                  \
  }                                                                                                    \
  /* nt x nl block: source contiguous along t, destination contiguous along l. */                      \
  static void tile_##T(const T *s, T *d, int64_t nt, int64_t nl, int64_t s_l, int64_t d_t) {           \
    for (int64_t l0 = 0; l0 < nl; l0 += TILE) {                                                        \
      int64_t l1 = l0 + TILE < nl ? l0 + TILE : nl;                                                    \
      for (int64_t i = 0; i < nt; i++) {                                                               \
        const T *si = s + i;                                                                           \
        T *di = d + i * d_t;                                                                           \
        for (int64_t j = l0; j < l1; j++) di[j] = si[j * s_l];                                         \
      }                                                                                                \
    }                                                                                                  \
  }
STRIDED_T(uint8_t)
STRIDED_T(uint16_t)
STRIDED_T(uint32_t)
STRIDED_T(uint64_t)

static void row_any(const void *s, void *d, int64_t n, int64_t ss, int64_t ds, size_t esize) {
  switch (esize) {
  case 1: row_uint8_t(s, d, n, ss, ds); break;
  case 2: row_uint16_t(s, d, n, ss, ds); break;
  case 4: row_uint32_t(s, d, n, ss, ds); break;
  default: row_uint64_t(s, d, n, ss, ds); break;
  }
}

static void tile_any(const void *s, void *d, int64_t nt, int64_t nl, int64_t s_l, int64_t d_t,
                     size_t esize) {
  switch (esize) {
  case 1: tile_uint8_t(s, d, nt, nl, s_l, d_t); break;
  case 2: tile_uint16_t(s, d, nt, nl, s_l, d_t); break;
  case 4: tile_uint32_t(s, d, nt, nl, s_l, d_t); break;
  default: tile_uint64_t(s, d, nt, nl, s_l, d_t); break;
  }
}

/* === Strided copy: iteration over outer axes === */

typedef struct {
  const cl_strided *p;
  const unsigned char *src;
  unsigned char *dst;
  int axes[CL_MAX_RANK]; /* outer axes walked, outer to inner */
  int n_axes;
  int64_t tiles; /* tile kind: tiles along tile_axis per outer index */
} strided_job;

/* Element offsets of outer index r (over job->axes). */
static void outer_offsets(const strided_job *j, size_t r, int64_t *idx, int64_t *so, int64_t *dof) {
  *so = *dof = 0;
  for (int k = j->n_axes - 1; k >= 0; k--) {
    int a = j->axes[k];
    idx[k] = (int64_t)(r % (size_t)j->p->dims[a]);
    r /= (size_t)j->p->dims[a];
    *so += idx[k] * j->p->src_stride[a];
    *dof += idx[k] * j->p->dst_stride[a];
  }
}

static void outer_next(const strided_job *j, int64_t *idx, int64_t *so, int64_t *dof) {
  for (int k = j->n_axes - 1; k >= 0; k--) {
    int a = j->axes[k];
    *so += j->p->src_stride[a];
    *dof += j->p->dst_stride[a];
    if (++idx[k] < j->p->dims[a]) return;
    *so -= j->p->src_stride[a] * j->p->dims[a];
    *dof -= j->p->dst_stride[a] * j->p->dims[a];
    idx[k] = 0;
  }
}

static void strided_rows(void *ctx, size_t begin, size_t end) {
  const strided_job *j = ctx;
  const cl_strided *p = j->p;
  int last = p->rank - 1;
  int64_t idx[CL_MAX_RANK], so, dof, n = p->dims[last];
  size_t es = p->esize;
  int contiguous = p->src_stride[last] == 1 && p->dst_stride[last] == 1;
  outer_offsets(j, begin, idx, &so, &dof);
  for (size_t r = begin; r < end; r++) {
    const unsigned char *s = j->src + so * (int64_t)es;
    unsigned char *d = j->dst + dof * (int64_t)es;
    if (contiguous) memcpy(d, s, (size_t)n * es);
    else row_any(s, d, n, p->src_stride[last], p->dst_stride[last], es);
    outer_next(j, idx, &so, &dof);
  }
}

static void strided_tiles(void *ctx, size_t begin, size_t end) {
  const strided_job *j = ctx;
  const cl_strided *p = j->p;
  int t = p->tile_axis, last = p->rank - 1;
  int64_t idx[CL_MAX_RANK], so, dof;
  size_t es = p->esize;
  for (size_t u = begin; u < end; u++) {
    int64_t tt = (int64_t)(u % (size_t)j->tiles), t0 = tt * TILE;
    int64_t nt = p->dims[t] - t0 < TILE ? p->dims[t] - t0 : TILE;
    outer_offsets(j, u / (size_t)j->tiles, idx, &so, &dof);
    so += t0 * p->src_stride[t];
    dof += t0 * p->dst_stride[t];
    tile_any(j->src + so * (int64_t)es, j->dst + dof * (int64_t)es, nt, p->dims[last],
             p->src_stride[last], p->dst_stride[t], es);
  }
}

void cl_strided_run(const cl_strided *p, const void *src, void *dst, pthreadpool_t pool) {
  if (p->numel == 0) return;
  strided_job j = {.p = p, .src = src, .dst = dst};
  int last = p->rank - 1;
  size_t units = 1, unit_bytes;
  for (int a = 0; a < last; a++)
    if (a != p->tile_axis) {
      j.axes[j.n_axes++] = a;
      units *= (size_t)p->dims[a];
    }
  if (p->tile_axis >= 0) {
    j.tiles = (p->dims[p->tile_axis] + TILE - 1) / TILE;
    units *= (size_t)j.tiles;
    unit_bytes = (size_t)TILE * (size_t)p->dims[last] * p->esize;
    cl_parallel_for(pool, units, TASK_BYTES / unit_bytes + 1, strided_tiles, &j);
  } else {
    unit_bytes = (size_t)p->dims[last] * p->esize;
    cl_parallel_for(pool, units, TASK_BYTES / unit_bytes + 1, strided_rows, &j);
  }
}

/* === Index remapping === */

cl_remap *cl_remap_new(int rank, const int64_t *out_dims, const int64_t *in_stride,
                       const int64_t *const *tables, size_t esize, const void *fill) {
  assert(rank >= 1 && rank <= CL_MAX_RANK && esize >= 1 && esize <= 8);
  size_t n_tab = 0;
  for (int k = 0; k < rank; k++) n_tab += (size_t)out_dims[k];
  size_t inner = (size_t)out_dims[rank - 1];
  cl_remap *m = calloc(1, sizeof *m + n_tab * sizeof(int64_t) + (inner + 1) * sizeof(cl_remap_run));
  if (!m) return NULL;
  m->rank = rank;
  m->esize = esize;
  memcpy(&m->fill, fill, esize);
  int64_t *tab = (int64_t *)(m + 1);
  m->rows = 1;
  for (int k = 0; k < rank; k++) {
    m->out_dims[k] = out_dims[k];
    m->in_stride[k] = in_stride[k];
    memcpy(tab, tables[k], (size_t)out_dims[k] * sizeof *tab);
    m->table[k] = tab;
    tab += out_dims[k];
    if (k < rank - 1) m->rows *= (size_t)out_dims[k];
  }
  /* Runs over the innermost axis: consecutive input indices, or consecutive fills. */
  cl_remap_run *runs = (cl_remap_run *)tab;
  const int64_t *t = m->table[rank - 1];
  int nr = 0;
  for (int64_t o = 0; o < out_dims[rank - 1]; o++) {
    cl_remap_run *prev = nr ? &runs[nr - 1] : NULL;
    if (prev && ((t[o] < 0 && prev->in_start < 0) ||
                 (t[o] >= 0 && prev->in_start >= 0 && prev->in_start + prev->len == t[o]))) {
      prev->len++;
      continue;
    }
    runs[nr++] = (cl_remap_run){o, t[o] < 0 ? -1 : t[o], 1};
  }
  m->runs = runs;
  m->n_runs = nr;
  return m;
}

typedef struct {
  const cl_remap *m;
  const unsigned char *src;
  unsigned char *dst;
} remap_job;

static void remap_rows(void *ctx, size_t begin, size_t end) {
  const remap_job *j = ctx;
  const cl_remap *m = j->m;
  int r = m->rank;
  size_t es = m->esize, row_len = (size_t)m->out_dims[r - 1];
  for (size_t row = begin; row < end; row++) {
    size_t q = row;
    int64_t off = 0;
    int fill = 0;
    for (int k = r - 2; k >= 0; k--) {
      int64_t o = (int64_t)(q % (size_t)m->out_dims[k]);
      q /= (size_t)m->out_dims[k];
      int64_t i = m->table[k][o];
      if (i < 0) fill = 1;
      off += i * m->in_stride[k];
    }
    unsigned char *d = j->dst + row * row_len * es;
    if (fill) {
      cl_tensor_fill(d, &m->fill, row_len, es);
      continue;
    }
    const unsigned char *s = j->src + off * (int64_t)es;
    for (int k = 0; k < m->n_runs; k++) {
      const cl_remap_run *run = &m->runs[k];
      if (run->in_start < 0)
        cl_tensor_fill(d + run->out_start * (int64_t)es, &m->fill, (size_t)run->len, es);
      else
        memcpy(d + run->out_start * (int64_t)es, s + run->in_start * (int64_t)es,
               (size_t)run->len * es);
    }
  }
}

void cl_remap_run_all(const cl_remap *m, const void *src, void *dst, pthreadpool_t pool) {
  size_t row_bytes = (size_t)m->out_dims[m->rank - 1] * m->esize;
  if (m->rows == 0 || row_bytes == 0) return;
  remap_job j = {m, src, dst};
  cl_parallel_for(pool, m->rows, TASK_BYTES / row_bytes + 1, remap_rows, &j);
}
