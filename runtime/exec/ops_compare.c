/* cleave: comparisons and logic, with multidirectional broadcasting: Equal (7, 11, 13), Less and
 * Greater (7, 9, 13), LessOrEqual and GreaterOrEqual (12, 16), And, Or, Xor (7), Not (1), Where
 * (9, 16); version 1 of Equal, Less, Greater, And, Or, Xor with its broadcast/axis attributes too.
 *
 * Comparisons take two inputs of one numeric dtype (Equal also bool) and give bool; And, Or, Xor and
 * Not take bool; Where picks from X or Y (any dtype of 1, 2, 4 or 8 bytes, float16 included) by a
 * bool condition, all three broadcast together. Strings are refused. Kernels are the plain loops of
 * the walk: these ops are found in shape subgraphs and masks, not in hot paths. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <stdlib.h>
#include <string.h>

#include "exec/ew_internal.h"

typedef enum cmp_kind { C_BINARY, C_NOT, C_WHERE } cmp_kind;

static const struct {
  const char *name;
  cmp_kind kind;
  ew_bin_op op;
} KINDS[] = {
    {"Equal", C_BINARY, EW_EQ},       {"Less", C_BINARY, EW_LT},
    {"Greater", C_BINARY, EW_GT},     {"LessOrEqual", C_BINARY, EW_LE},
    {"GreaterOrEqual", C_BINARY, EW_GE}, {"And", C_BINARY, EW_AND},
    {"Or", C_BINARY, EW_OR},          {"Xor", C_BINARY, EW_XOR},
    {"Not", C_NOT, EW_EQ},            {"Where", C_WHERE, EW_EQ},
};

typedef struct cmp_params {
  cmp_kind kind;
  ew_bin_op op;
  ew_legacy lg; /* opset < 7: the broadcast and axis attributes */
} cmp_params;

/* === Kernels === */

static void not_row(const ew_loop *l, void *out, const void *const *in, const int64_t *st, size_t n) {
  const uint8_t *x = in[0];
  uint8_t *o = out;
  (void)l;
  for (size_t i = 0; i < n; i++) o[i] = x[(int64_t)i * st[0]] == 0;
}

#define WHERE_ROW(NAME, T)                                                                         \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const uint8_t *c = in[0];                                                                      \
    const T *x = in[1], *y = in[2];                                                                \
    T *o = out;                                                                                    \
    (void)l;                                                                                       \
    if (st[0] == 1 && st[1] == 1 && st[2] == 1)                                                    \
      for (size_t i = 0; i < n; i++) o[i] = c[i] ? x[i] : y[i];                                    \
    else                                                                                           \
      for (size_t i = 0; i < n; i++)                                                               \
        o[i] = c[(int64_t)i * st[0]] ? x[(int64_t)i * st[1]] : y[(int64_t)i * st[2]];              \
  }
WHERE_ROW(where_1, uint8_t)
WHERE_ROW(where_2, uint16_t)
WHERE_ROW(where_4, uint32_t)
WHERE_ROW(where_8, uint64_t)

static ew_row_fn where_row(size_t esize) {
  switch (esize) {
  case 1: return where_1;
  case 2: return where_2;
  case 4: return where_4;
  case 8: return where_8;
  default: return NULL;
  }
}

/* === Parse and infer === */

cl_status ew_compare_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cmp_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  size_t i = 0;
  while (i < sizeof KINDS / sizeof KINDS[0] && strcmp(KINDS[i].name, n->op_type) != 0) i++;
  if (i == sizeof KINDS / sizeof KINDS[0])
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "not a comparison operator");
  p->kind = KINDS[i].kind;
  p->op = KINDS[i].op;
  if (p->kind == C_BINARY) ew_legacy_parse(n, &p->lg);
  if (!p->lg.on && (cl_node_attr(n, "broadcast") || cl_node_attr(n, "axis")))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "the broadcast/axis attributes only exist before opset 7 (this is %d)",
                         n->opset);
  return CL_OK;
}

static cl_status unsupported_type(const cl_node *n, const cl_value *v, cl_error *err) {
  return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input '%s' of type %s is not supported", v->name,
                       cl_dtype_name(v->dtype));
}

cl_status ew_compare_infer(cl_graph *g, cl_node *n, cl_error *err) {
  cmp_params *p = n->params;
  int need = p->kind == C_WHERE ? 3 : p->kind == C_NOT ? 1 : 2;
  if (n->n_in != need)
    return cl_node_error(err, n, CL_ERR_FORMAT, "needs %d input%s, not %d", need, need > 1 ? "s" : "",
                         n->n_in);
  const cl_value *v[3];
  for (int i = 0; i < need; i++) {
    cl_status s = ew_need_input(g, n, i, &v[i], err);
    if (s != CL_OK) return s;
  }
  cl_status s = ew_no_extra_outputs(n, 1, err);
  if (s != CL_OK) return s;
  if (p->kind == C_NOT) {
    if (v[0]->dtype != CL_DTYPE_BOOL) return unsupported_type(n, v[0], err);
    return ew_infer_broadcast(g, n, 0, CL_DTYPE_BOOL, err);
  }
  if (p->kind == C_WHERE) {
    if (v[0]->dtype != CL_DTYPE_BOOL)
      return cl_node_error(err, n, CL_ERR_SHAPE, "condition '%s' must be bool, not %s", v[0]->name,
                           cl_dtype_name(v[0]->dtype));
    s = ew_same_dtypes(g, n, 1, err);
    if (s != CL_OK) return s;
    if (!where_row(cl_dtype_size(v[1]->dtype))) return unsupported_type(n, v[1], err);
    return ew_infer_broadcast(g, n, 0, v[1]->dtype, err);
  }
  s = ew_same_dtypes(g, n, 0, err);
  if (s != CL_OK) return s;
  if (!ew_binary_row(p->op, v[0]->dtype)) return unsupported_type(n, v[0], err);
  if (p->lg.on) return ew_legacy_infer(g, n, &p->lg, CL_DTYPE_BOOL, err);
  return ew_infer_broadcast(g, n, 0, CL_DTYPE_BOOL, err);
}

/* === Prepare and run === */

cl_status ew_compare_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                             cl_error *err) {
  const cmp_params *p = n->params;
  ew_state *s = ew_state_new(n, 1, err);
  if (!s) return CL_ERR_NOMEM;
  *state = s;
  ew_loop *l = &s->loops[0];
  if (p->lg.on) {
    cl_value b;
    cl_status st = ew_legacy_view(g, n, &p->lg, &b, err);
    if (st != CL_OK) return st;
    const cl_value *in[2] = {&g->values[n->in[0]], &b};
    const void *ptr[2] = {k->ptr[n->in[0]], k->ptr[n->in[1]]};
    ew_loop_bind_values(l, &g->values[n->out[0]], k->ptr[n->out[0]], in, ptr, 2);
  } else {
    ew_loop_bind(l, g, n->out[0], n->in, n->n_in, k);
  }
  if (p->kind == C_NOT) l->row = not_row;
  else if (p->kind == C_WHERE) l->row = where_row(l->out_size);
  else l->row = ew_binary_row(p->op, g->values[n->in[0]].dtype);
  return CL_OK;
}

cl_status ew_compare_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const ew_state *s = state;
  ew_loop_run(&s->loops[0], k->pool);
  return CL_OK;
}
