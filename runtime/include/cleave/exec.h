/* cleave: an executor runs node ranges of a model.
 *
 * Creating one creates every backend operator (weights packed once), plans one arena from the
 * values' lifetimes and binds every operator to its buffers: running allocates nothing.
 * Any range [begin, end) of nodes may run, provided the values live at `begin` (its frontier) hold
 * their data: the device runs [0, k), the worker writes the frontier of k and runs [k, n).
 *
 * An executor is not thread-safe: one thread runs it at a time. Several executors may share a model. */
#ifndef CLEAVE_EXEC_H
#define CLEAVE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/model.h"
#include "cleave/status.h"
#include "cleave/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cl_exec cl_exec_t;

typedef struct cl_exec_options {
  int threads;     /* compute threads, >= 1 (0 means 1) */
  int profile;     /* 1: record each node's wall time at every run (cl_exec_node_ns) */
} cl_exec_options;

/* The model must outlive the executor. Errors: CL_ERR_BACKEND, CL_ERR_NOMEM, CL_ERR_LIMIT. */
cl_status cl_exec_create(const cl_model_t *m, const cl_exec_options *opt, cl_exec_t **out,
                         cl_error *err) CL_MUST_CHECK;

/* Frees the executor and sets *ex to NULL. Safe on NULL and on *ex == NULL. */
void cl_exec_free(cl_exec_t **ex);

/* The buffer of a value, in the value's layout (cl_value_info.layout), and its size. Constants give
 * their read-only data. The buffer belongs to the executor and keeps its address for its life; its
 * contents are valid from the value's producer until its last reader has run (graph inputs and
 * outputs: until the next cl_exec_set_input or run overwrites them). */
void *cl_exec_buffer(cl_exec_t *ex, int value, size_t *nbytes);

/* Runs nodes [begin, end), 0 <= begin <= end <= n. Errors: CL_ERR_ARG (range), CL_ERR_BACKEND. */
cl_status cl_exec_run(cl_exec_t *ex, int begin, int end, cl_error *err) CL_MUST_CHECK;

/* Copies t into graph input i after checking its dtype and shape (CL_ERR_SHAPE otherwise). */
cl_status cl_exec_set_input(cl_exec_t *ex, int i, const cl_tensor *t, cl_error *err) CL_MUST_CHECK;

/* Describes graph output i in *view without copying: view->data points into the executor (valid until
 * the next run), view->owns_data is 0 and view->name is the model's. */
void cl_exec_output(cl_exec_t *ex, int i, cl_tensor *view);

/* Wall time of each node at the last run that covered it, in ns (zeros without opt.profile). The array
 * has cl_model_node_count entries and belongs to the executor. */
const uint64_t *cl_exec_node_ns(const cl_exec_t *ex);

/* Bytes of the activation arena. */
size_t cl_exec_arena_bytes(const cl_exec_t *ex);

#ifdef __cplusplus
}
#endif
#endif
