/* cleave internal: what the spatial operators share (ops_conv.c, ops_pool.c, ops_resize.c).
 *
 * Sliding-window ops (Conv, ConvTranspose, MaxPool, AveragePool) are 1-D or 2-D; the window is
 * always resolved to two spatial axes (H, W), a 1-D op having H = 1 with a unit kernel, so one NHWC
 * kernel serves both. The kernels work on NHWC data: when the executor gives a PLAIN tensor
 * (constant folding, tests), a cl_sp_stage converts it through scratch buffers allocated in
 * prepare. */
#ifndef CLEAVE_EXEC_OPS_SPATIAL_H
#define CLEAVE_EXEC_OPS_SPATIAL_H

#include <stdint.h>

#include "exec/op.h"

/* === The operators' functions (see op.h); ops_spatial.c lists them in cl_ops_spatial === */

/* ops_conv.c: Conv and ConvTranspose (run and release are shared). */
cl_status cl_sp_conv_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_conv_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_conv_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                             void **state, cl_error *err);
cl_status cl_sp_deconv_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_deconv_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err);
cl_status cl_sp_conv_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
void cl_sp_conv_release(void *state);

/* ops_pool.c: MaxPool and AveragePool (told apart by op_type), GlobalAveragePool, GlobalMaxPool. */
cl_status cl_sp_pool_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_pool_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_pool_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                             void **state, cl_error *err);
cl_status cl_sp_pool_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
void cl_sp_pool_release(void *state);
cl_status cl_sp_global_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_global_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_global_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err);
cl_status cl_sp_global_run(const cl_graph *g, const cl_node *n, void *state,
                           const cl_kernel_ctx *k);
void cl_sp_global_release(void *state);

/* ops_resize.c: Resize (opsets 10 to 18) and Upsample (7 to 10); scales and sizes must be
 * constants. */
cl_status cl_sp_resize_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_resize_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status cl_sp_resize_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err);
cl_status cl_sp_resize_run(const cl_graph *g, const cl_node *n, void *state,
                           const cl_kernel_ctx *k);
void cl_sp_resize_release(void *state);

/* Largest kernel, stride, dilation or pad accepted from a file (CL_ERR_LIMIT beyond). */
#define CL_SP_MAX_ATTR ((int64_t)1 << 24)

/* === Sliding-window attributes and geometry === */

typedef enum cl_sp_autopad {
  CL_SP_NOTSET = 0,
  CL_SP_SAME_UPPER, /* extra padding at the end */
  CL_SP_SAME_LOWER, /* extra padding at the start */
  CL_SP_VALID,
} cl_sp_autopad;

/* A sliding-window node's attributes as written (n_* are 0 when absent). */
typedef struct cl_sp_attrs {
  cl_sp_autopad auto_pad;
  int n_kernel, n_strides, n_dilations, n_pads;
  int64_t kernel[2], strides[2], dilations[2]; /* in ONNX axis order */
  int64_t pads[4];                             /* x1_begin, [x2_begin,] x1_end, [x2_end] */
} cl_sp_attrs;

/* The window for one input shape, over two spatial axes [H, W] (index 0 = H). */
typedef struct cl_sp_window {
  int nsp;               /* spatial axes of the ONNX tensor: 1 or 2 */
  int64_t in[2], out[2]; /* spatial sizes */
  int64_t kernel[2], stride[2], dilation[2];
  int64_t pad0[2], pad1[2]; /* padding before and after (auto_pad applied) */
} cl_sp_window;

/* Reads and validates auto_pad, kernel_shape, strides, dilations and pads. More than two entries
 * is CL_ERR_UNSUPPORTED ("3-D <what> is not supported"); values out of range CL_ERR_SHAPE,
 * absurd ones CL_ERR_LIMIT; an unknown auto_pad CL_ERR_FORMAT. */
cl_status cl_sp_parse_attrs(const cl_node *n, const char *what, cl_sp_attrs *a,
                            cl_error *err) CL_MUST_CHECK;

/* Reads int list attribute `name` into dst: at most max entries (more: CL_ERR_UNSUPPORTED "3-D
 * <what> is not supported"), each in [lo, CL_SP_MAX_ATTR] (CL_ERR_SHAPE, CL_ERR_LIMIT). *count:
 * entries read. */
cl_status cl_sp_read_ints(const cl_node *n, const char *name, int max, int64_t lo, int64_t *dst,
                          int *count, const char *what, cl_error *err) CL_MUST_CHECK;

/* Checks that `v` is a float32 tensor of rank 3 or 4 (rank 5 is "3-D <what> is not supported"). */
cl_status cl_sp_check_input(const cl_node *n, const cl_value *v, const char *what,
                            cl_error *err) CL_MUST_CHECK;

/* Fills w's kernel, strides and dilations for nsp spatial axes of sizes in_sp from a and kernel
 * (ONNX order), checking that every attribute has nsp entries (pads 2*nsp) when given. Padding and
 * output are left for cl_sp_window_forward (or the caller). */
cl_status cl_sp_window_init(const cl_node *n, const cl_sp_attrs *a, int nsp, const int64_t *in_sp,
                            const int64_t *kernel, cl_sp_window *w, cl_error *err) CL_MUST_CHECK;

/* Resolves padding and output size of a forward window op (Conv, pools): explicit pads, SAME_UPPER,
 * SAME_LOWER or VALID; ceil_mode rounds up, never starting a window past the input and its leading
 * padding. CL_ERR_SHAPE when an output size would be < 1. */
cl_status cl_sp_window_forward(const cl_node *n, const cl_sp_attrs *a, int ceil_mode,
                               cl_sp_window *w, cl_error *err) CL_MUST_CHECK;

/* Effective size of a dilated kernel along axis i. */
static inline int64_t cl_sp_dilated(const cl_sp_window *w, int i) {
  return (w->kernel[i] - 1) * w->dilation[i] + 1;
}

/* Output shape [N, c_out, out...] (rank nsp + 2). */
void cl_sp_out_dims(const cl_sp_window *w, int64_t batch, int64_t c_out, int64_t *dims);

/* === NHWC staging ===
 * Gives an NHWC view of input 0 and output 0 of a node: the tensors themselves when they are
 * CHANNELS_LAST (or both layouts have the same bytes), else scratch buffers that cl_sp_stage_in and
 * cl_sp_stage_out convert from and to the PLAIN tensors. */
typedef struct cl_sp_stage {
  const float *x;      /* NHWC input for the kernel */
  float *y;            /* NHWC output for the kernel */
  void *x_tmp, *y_tmp; /* owned scratch (aligned_alloc), NULL when unused */
  const void *x_plain; /* the PLAIN input to convert from (NULL: none) */
  void *y_plain;       /* the PLAIN output to convert to (NULL: none) */
  int x_rank, y_rank;
  int64_t x_dims[CL_MAX_RANK], y_dims[CL_MAX_RANK];
} cl_sp_stage;

/* Binds the stage to k->ptr of the node's input 0 and output 0; allocates scratch when needed.
 * Errors: CL_ERR_NOMEM. On error nothing is left allocated. */
cl_status cl_sp_stage_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                              cl_sp_stage *s, cl_error *err) CL_MUST_CHECK;
void cl_sp_stage_in(const cl_sp_stage *s, pthreadpool_t pool);
void cl_sp_stage_out(const cl_sp_stage *s, pthreadpool_t pool);
void cl_sp_stage_release(cl_sp_stage *s);

/* A 64-byte aligned, zeroed buffer of n bytes (n may be 0), or NULL. Free with free(). */
void *cl_sp_alloc(size_t n);

#endif
