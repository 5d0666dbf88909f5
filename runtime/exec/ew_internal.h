/* cleave internal: what the elementwise operator files share (not for use outside them).
 *
 * Every elementwise kernel runs on one engine, the walk: the output's storage is visited in order,
 * each input is read through its broadcast view (cl_view_broadcast), so that any mix of PLAIN and
 * CHANNELS_LAST layouts and any ONNX broadcast works. Prepare plans the walk once: unit dims are
 * dropped and adjacent dims merged wherever every operand is contiguous across them, so that
 *   same-shape tensors             -> one row                  (input strides 1, 1)
 *   tensor and scalar              -> one row                  (strides 1, 0)
 *   NHWC tensor and [1,C,1,1]      -> rows of C                (strides 1, 1 over [H*W, C])
 *   NCHW tensor and [1,C,1,1]      -> rows of H*W              (strides 1, 0 over [C, H*W])
 * and a row function (one per op and dtype) computes a contiguous run of output elements. Short rows
 * of a per-channel vector (NHWC with few channels) are widened: the vector is replicated k times
 * into a buffer of the loop (refreshed at every run, a few hundred elements) so that a row holds k
 * pixels, which keeps the per-row overhead off tensors like [1,320,320,16] * [16]. Run splits
 * the output's elements over the thread pool; each task walks its rows with an odometer (no division
 * per row) and calls the row function. Nothing is allocated at run time.
 *
 * The operator table (ops_elementwise.c) lists every op; the functions it points to are declared
 * below, one block per file. */
#ifndef CLEAVE_EXEC_EW_INTERNAL_H
#define CLEAVE_EXEC_EW_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "exec/op.h"
#include "model/graph.h"

/* === The walk === */

#define EW_MAX_IN 3 /* Where has three inputs; variadic ops are walked pairwise */

/* Fewest output elements per parallel task: cheap ops (add, clamp) and expensive ones (exp, tanh,
 * erf). Large tensors get bigger tasks: about four per thread. */
#define EW_GRAIN_CHEAP 16384
#define EW_GRAIN_HEAVY 2048

typedef struct ew_walk {
  int rank;                               /* >= 1 after simplification */
  int n_in;                               /* inputs, 0..EW_MAX_IN */
  int64_t dims[CL_MAX_RANK];              /* output storage dims, outermost first */
  int64_t stride[EW_MAX_IN][CL_MAX_RANK]; /* each input's element strides; 0 along broadcast dims */
  size_t numel;                           /* output elements (0: nothing to do) */
} ew_walk;

/* Plans a walk of out's storage reading in[0..n_in) through their broadcast views. Every input's
 * logical shape must broadcast to out's (infer checked it). */
void ew_walk_init(ew_walk *w, const cl_value *out, const cl_value *const *in, int n_in);

/* 1 when input i is read contiguously in output order (same layout and shape as the output). */
int ew_walk_contiguous(const ew_walk *w, int i);

/* Kernel parameters: scalars typed as the kernel wants them. */
typedef union ew_scalar {
  double f64;
  float f32;
  int64_t i64;
  uint64_t u64;
} ew_scalar;

struct ew_loop;

/* Computes len output elements at out; input k starts at in[k] and advances st[k] elements per
 * output element (0: a broadcast scalar, 1: contiguous, anything else: strided). */
typedef void (*ew_row_fn)(const struct ew_loop *l, void *out, const void *const *in, const int64_t *st,
                          size_t len);

typedef struct ew_loop {
  ew_walk walk;
  ew_row_fn row;                 /* the kernel */
  void *out;                     /* bound output buffer (k->ptr), storage order */
  const void *in[EW_MAX_IN];     /* bound input buffers */
  size_t out_size;               /* element sizes in bytes */
  size_t in_size[EW_MAX_IN];
  size_t grain;                  /* fewest output elements per parallel task */
  int kind;                      /* which op the kernel computes (the file's own enum) */
  ew_scalar p[4];                /* kernel parameters (alpha, beta, bounds, ...) */
  const void *aux[2];            /* extra buffers the kernel reads at run (run-time Clip bounds) */
  int clamp;                     /* 1: float output clamped to [lo, hi] after each row (fused Relu) */
  float lo, hi;
  void *rep;                     /* owned: replicated vectors of widened rows (ew_loop_widen) */
  const void *rep_src[EW_MAX_IN]; /* input k's own vector when in[k] points into rep, else NULL */
  size_t rep_copies;             /* how many times each vector is replicated */
} ew_loop;

/* Plans l over the node's output value `out` and inputs in[0..n_in) (value ids) and binds their
 * buffers from k. The caller sets row, kind, p and aux afterwards. grain defaults to cheap. */
void ew_loop_bind(ew_loop *l, const cl_graph *g, int out, const int *in, int n_in,
                  const cl_kernel_ctx *k);
/* The same from value descriptions and buffers (for inputs seen through another shape). */
void ew_loop_bind_values(ew_loop *l, const cl_value *out, void *out_ptr, const cl_value *const *in,
                         const void *const *in_ptr, int n_in);

/* Widens short rows of per-channel vectors (see above); ew_loop_bind calls it, code that fills a
 * loop by hand calls it once in[] and in_size[] are set. Does nothing when it does not apply or the
 * buffer cannot be allocated. The loop must then be released with ew_loop_release. */
void ew_loop_widen(ew_loop *l);

/* Frees what a loop owns (the replication buffer). */
void ew_loop_release(ew_loop *l);

/* Runs the loop, over the pool when the output is large. */
void ew_loop_run(const ew_loop *l, pthreadpool_t pool);

/* Makes a float loop honour the node's fused clamp (n->act_min/act_max) when it has one. */
void ew_loop_fuse_clamp(ew_loop *l, const cl_node *n);

/* === Helpers for parse and infer === */

/* Input i into *out: CL_ERR_FORMAT when it is missing, CL_ERR_SHAPE when its shape is unknown. */
cl_status ew_need_input(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                        cl_error *err) CL_MUST_CHECK;

/* Output 0's shape: the broadcast of inputs first..n_in-1 (omitted ones skipped), with dtype.
 * CL_ERR_SHAPE naming the shapes when they do not broadcast. */
cl_status ew_infer_broadcast(cl_graph *g, cl_node *n, int first, cl_dtype dtype,
                             cl_error *err) CL_MUST_CHECK;

/* Output 0's shape: x's shape, with dtype (CL_ERR_FORMAT when the node has no output). */
cl_status ew_infer_like(cl_graph *g, cl_node *n, const cl_value *x, cl_dtype dtype,
                        cl_error *err) CL_MUST_CHECK;

/* CL_ERR_SHAPE unless inputs first..n_in-1 (omitted ones skipped) all have input first's dtype. */
cl_status ew_same_dtypes(const cl_graph *g, const cl_node *n, int first, cl_error *err) CL_MUST_CHECK;

/* CL_ERR_UNSUPPORTED naming the output when n has a non-omitted output beyond the first `keep`. */
cl_status ew_no_extra_outputs(const cl_node *n, int keep, cl_error *err) CL_MUST_CHECK;

/* Legacy broadcasting (opsets < 7 of Add, Sub, Mul, Div, Pow, Equal, Less, Greater, And, Or, Xor;
 * PRelu 6): input 1 (B) is broadcast to input 0 (A), whose shape the output takes. broadcast=0
 * needs equal shapes; broadcast=1 lines B up with A's last dims, or from A's dim `axis` on. */
typedef struct ew_legacy {
  int on;       /* 1: legacy rules apply */
  int bcast;    /* the broadcast attribute */
  int has_axis; /* the axis attribute is given (resolved against A's rank by ew_legacy_infer) */
  int64_t axis;
} ew_legacy;
/* Reads the attributes when n->opset < 7 (lg->on stays 0 otherwise). */
void ew_legacy_parse(const cl_node *n, ew_legacy *lg);
/* Checks the shapes and sets output 0 to A's shape with dtype. */
cl_status ew_legacy_infer(cl_graph *g, cl_node *n, ew_legacy *lg, cl_dtype dtype,
                          cl_error *err) CL_MUST_CHECK;
/* B seen with A's rank (its dims placed from the axis): *view is a copy of B with other dims.
 * CL_ERR_UNSUPPORTED when B is stored channels-last and the new shape would change its bytes. */
cl_status ew_legacy_view(const cl_graph *g, const cl_node *n, const ew_legacy *lg, cl_value *view,
                         cl_error *err) CL_MUST_CHECK;

/* Allocates zeroed params of `size` bytes into n->params (CL_ERR_NOMEM otherwise). */
void *ew_params_alloc(cl_node *n, size_t size, cl_error *err);

/* dtype classes */
int ew_dtype_is_float(cl_dtype t);    /* float, double */
int ew_dtype_is_int(cl_dtype t);      /* int8..int64, uint8..uint64 */
int ew_dtype_is_signed(cl_dtype t);   /* int8..int64 */

/* Element i of a buffer of dtype t as a double (bool, integers, float, double, float16, bfloat16). */
double ew_load_f64(const void *p, cl_dtype t, size_t i);

/* === Float helpers (scalar and SSE) === */

/* max/min as SSE's maxps(a, b) / minps(a, b): b when either is NaN or they are equal. */
static inline float ew_maxf(float a, float b) { return a > b ? a : b; }
static inline float ew_minf(float a, float b) { return a < b ? a : b; }

/* y = min(max(x, lo), hi) keeping NaN inputs NaN. In place is allowed. */
void ew_clamp_f32(float *y, const float *x, size_t n, float lo, float hi);
/* y = min(max(a * x + b, lo), hi). In place is allowed. */
void ew_affine_clamp_f32(float *y, const float *x, size_t n, float a, float b, float lo, float hi);

/* float16 and bfloat16 <-> float, round to nearest even, NaN stays NaN, overflow gives infinity. */
float ew_f16_to_f32(uint16_t h);
uint16_t ew_f32_to_f16(float f);
float ew_bf16_to_f32(uint16_t h);
uint16_t ew_f32_to_bf16(float f);
/* double -> float rounding to odd, so that a second rounding to f16/bf16 is correct. */
float ew_f64_to_f32_odd(double d);

/* === ops_elementwise.c: the shared release === */
void ew_release_loops(void *state); /* state from ew_state_new */

/* A state holding n loops and an optional XNNPACK operator; freed by ew_release_loops. */
typedef struct ew_state {
  void *xop;       /* xnn_operator_t when XNNPACK runs the node, else NULL */
  int n_loops;
  ew_loop loops[]; /* n_loops entries */
} ew_state;
ew_state *ew_state_new(const cl_node *n, int n_loops, cl_error *err);

/* === ops_unary.c: float math and activations === */
cl_status ew_unary_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_unary_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_unary_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                           cl_error *err);
cl_status ew_unary_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);

/* === ops_clip.c: Relu and Clip, every numeric dtype === */
cl_status ew_clip_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_clip_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_clip_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err);
cl_status ew_clip_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
/* The constant bounds of a parsed Relu or Clip node (see cl_op_clamp_bounds). */
int ew_clip_const_bounds(const cl_node *n, float *lo, float *hi);

/* === ops_batchnorm.c === */
cl_status ew_bn_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_bn_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_bn_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                        cl_error *err);
cl_status ew_bn_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
void ew_bn_release(void *state);

/* === ops_binary.c: arithmetic with broadcasting, variadic Max/Min/Sum/Mean, Pow, PRelu === */
cl_status ew_binary_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_binary_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_binary_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err);
cl_status ew_binary_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);

/* ops_binary_kernels.c */
typedef enum ew_bin_op {
  EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAX, EW_MIN, EW_PRELU, /* out = in0 op in1, one dtype */
  EW_EQ, EW_LT, EW_GT, EW_LE, EW_GE,                        /* bool out */
  EW_AND, EW_OR, EW_XOR,                                    /* bool in and out */
} ew_bin_op;
/* The row function of op on dtype t, or NULL when that pair is not supported. */
ew_row_fn ew_binary_row(ew_bin_op op, cl_dtype t);
/* Pow: base dtype tb (float, double, int32, int64), exponent te (any int or float); NULL if not. */
ew_row_fn ew_pow_row(cl_dtype tb, cl_dtype te);
/* float32 base, constant exponent 2 or 0.5: a row reading in[0] only; NULL for other exponents. */
ew_row_fn ew_pow_f32_const_row(double e);
/* Copy (any element size 1, 2, 4, 8) and in-place division by p[0] (float, double). */
ew_row_fn ew_copy_row(size_t esize);
ew_row_fn ew_scale_row(cl_dtype t);

/* === ops_compare.c: Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not, Where === */
cl_status ew_compare_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_compare_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_compare_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                             cl_error *err);
cl_status ew_compare_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);

/* === ops_cast.c: Cast, CastLike === */
cl_status ew_cast_parse(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_cast_infer(cl_graph *g, cl_node *n, cl_error *err);
cl_status ew_cast_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err);
cl_status ew_cast_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
int ew_cast_is_view(const cl_graph *g, const cl_node *n);

#endif
