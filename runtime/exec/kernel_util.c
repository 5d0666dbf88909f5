/* cleave: helpers shared by kernels: parallel loops and XNNPACK set-up. */
#include <pthread.h>
#include <xnnpack.h>

#include "exec/op.h"

typedef struct {
  cl_range_fn fn;
  void *ctx;
  size_t n, grain;
} range_job;

static void range_task(void *p, size_t begin, size_t len) {
  const range_job *j = p;
  j->fn(j->ctx, begin, begin + len);
}

void cl_parallel_for(pthreadpool_t pool, size_t n, size_t grain, cl_range_fn fn, void *ctx) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  if (pool == NULL || pthreadpool_get_threads_count(pool) <= 1 || n <= grain) {
    fn(ctx, 0, n);
    return;
  }
  range_job j = {fn, ctx, n, grain};
  pthreadpool_parallelize_1d_tile_1d(pool, range_task, &j, n, grain, 0);
}

cl_status cl_xnn_error(cl_error *err, const cl_node *n, const char *what, int xnn_status) {
  return cl_node_error(err, n, CL_ERR_BACKEND, "XNNPACK %s failed (status %d)", what, xnn_status);
}

static pthread_once_t xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status xnn_init_status = xnn_status_uninitialized;

static void xnn_init_once(void) { xnn_init_status = xnn_initialize(NULL); }

cl_status cl_xnn_init(cl_error *err) {
  pthread_once(&xnn_once, xnn_init_once);
  if (xnn_init_status != xnn_status_success)
    return cl_error_set(err, CL_ERR_BACKEND,
                        "XNNPACK could not initialise (status %d): unsupported CPU?", xnn_init_status);
  return CL_OK;
}
