/* cleave internal: the graph IR every pass and every operator works on.
 *
 * The ONNX reader fills a cl_graph with values (tensors) and nodes as the file has them; the build
 * pipeline (build.c) then sorts, resolves ops, infers shapes, folds constants, fuses, assigns layouts
 * and compacts, after which the node order is final and is cleave's cut numbering.
 *
 * Ownership: the graph owns every string, array and constant buffer it points to, except constant
 * data that points into the mapped model file (cl_value.data_owned == 0), which the graph's mapping
 * keeps alive. Nothing here is thread-safe while being built; a built graph is read-only. */
#ifndef CLEAVE_MODEL_GRAPH_H
#define CLEAVE_MODEL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/model.h"
#include "cleave/status.h"
#include "cleave/tensor.h"

struct cl_op_def;

/* === Values === */
typedef struct cl_value {
  char *name;                 /* owned; unique in the graph */
  cl_dtype dtype;             /* CL_DTYPE_UNDEFINED until inferred */
  int rank;                   /* -1 until inferred */
  int64_t dims[CL_MAX_RANK];  /* logical (ONNX) order; -1 for a dynamic dim before binding */
  cl_layout layout;           /* physical layout of the bytes (constants: always PLAIN) */
  size_t nbytes;              /* set with the shape */
  void *data;                 /* constants only: PLAIN bytes, nbytes long, at least 4-byte aligned;
                               * when it points into the file (data_owned 0) nothing follows nbytes:
                               * kernels must not over-read constants with SIMD */
  int data_owned;             /* 1: data was malloc'd and the graph frees it */
  int is_const;               /* 1: data holds the value (initializer, Constant node, folded) */
  int producer;               /* node index, -1 for graph inputs and constants */
  int is_input;               /* a graph input fed by the caller */
  int is_output;              /* a graph output */
} cl_value;

/* === Attributes (as ONNX has them) === */
typedef enum cl_attr_type {
  CL_ATTR_FLOAT = 1, CL_ATTR_INT = 2, CL_ATTR_STRING = 3, CL_ATTR_TENSOR = 4,
  CL_ATTR_GRAPH = 5, CL_ATTR_FLOATS = 6, CL_ATTR_INTS = 7, CL_ATTR_STRINGS = 8,
} cl_attr_type;

typedef struct cl_attr {
  char *name;        /* owned */
  cl_attr_type type;
  float f;           /* FLOAT */
  int64_t i;         /* INT */
  char *s;           /* STRING: owned, NUL-terminated (s_len bytes before the NUL); STRINGS: the n
                      * strings back to back, each NUL-terminated, s_len = total bytes - 1 */
  size_t s_len;
  float *floats;     /* FLOATS: owned, n entries */
  int64_t *ints;     /* INTS: owned, n entries */
  int n;
  cl_tensor t;       /* TENSOR: t.data is owned iff t.owns_data (else it points into the file map) */
} cl_attr;            /* GRAPH and GRAPHS attributes are placeholders: no payload is kept */

/* === Nodes === */
typedef struct cl_node {
  char *name;                   /* owned; the ONNX name, or "<op_type>_<index>" when it had none */
  char *op_type;                /* owned; "Conv", or "cleave.ToNHWC" for nodes cleave inserts */
  char *domain;                 /* owned; "" for the default ONNX domain */
  int opset;                    /* the model's opset for this node's domain */
  const struct cl_op_def *op;   /* resolved operator, NULL before resolution */
  int *in;                      /* owned; value ids, -1 for an omitted optional input */
  int n_in;
  int *out;                     /* owned; value ids, -1 for an omitted optional output */
  int n_out;
  cl_attr *attrs;               /* owned */
  int n_attrs;
  void *params;                 /* the op's parsed parameters, freed by op->free_params */
  float act_min, act_max;       /* clamp fused into this node (-INFINITY, +INFINITY: none) */
  int dead;                     /* removed by a pass; dropped at compaction */
} cl_node;

/* === The graph === */
typedef struct cl_graph {
  cl_value *values;             /* owned, n_values entries (cap_values allocated) */
  int n_values, cap_values;
  cl_node *nodes;               /* owned, n_nodes entries; topological order once built */
  int n_nodes, cap_nodes;
  int *inputs;                  /* owned; graph input value ids (initializers excluded) */
  int n_inputs;
  int *outputs;                 /* owned; graph output value ids */
  int n_outputs;
  int opset;                    /* opset of the default ONNX domain */
  struct cl_strmap *names;      /* owned; value name -> id */
  void *map;                    /* the mapped model file (munmap at free), or NULL */
  size_t map_len;
  void *buf_owned;              /* a copy of the model bytes (free at free), or NULL */
  uint8_t hash[32];             /* BLAKE2b of the file and bound input shapes */
} cl_graph;

/* Limits on what a model file may ask for (CL_ERR_LIMIT beyond them). */
#define CL_MAX_NODES 100000
#define CL_MAX_VALUES 400000
#define CL_MAX_NODE_IO 4096

/* === Construction (reader, passes, tests) === */

/* A new empty graph, or NULL when out of memory. */
cl_graph *cl_graph_new(void);
/* Frees everything the graph owns (params through each node's op) and sets *g to NULL. */
void cl_graph_free(cl_graph **g);

/* Adds a value named `name` (copied) with unknown shape; returns its id, or -1 (error in err) when
 * the name is taken, out of memory or over CL_MAX_VALUES. Pointers into g->values are invalidated. */
int cl_graph_add_value(cl_graph *g, const char *name, cl_error *err);
/* The id of the value named `name`, or -1. */
int cl_graph_find_value(const cl_graph *g, const char *name);
/* A fresh unique name "<base>:<k>" for values and nodes cleave creates, written into buf. */
void cl_graph_unique_name(const cl_graph *g, const char *base, char *buf, size_t cap);

/* Sets a value's dtype and shape and computes nbytes (CL_ERR_LIMIT for absurd sizes). */
cl_status cl_value_set_shape(cl_value *v, cl_dtype dtype, int rank, const int64_t *dims,
                             cl_error *err) CL_MUST_CHECK;
/* Makes v a constant holding `data` (nbytes per its shape). own: the graph frees data later. */
void cl_value_set_const(cl_value *v, void *data, int own);
/* Makes v a constant holding a zeroed, owned, 64-byte aligned buffer of v->nbytes and returns it
 * (NULL and CL_ERR_NOMEM in err when out of memory). The shape must be set. */
void *cl_value_alloc_const(cl_value *v, cl_error *err);

/* Appends a node; strings and arrays are copied. Returns its index or -1 (error in err).
 * Pointers into g->nodes are invalidated. */
int cl_graph_add_node(cl_graph *g, const char *name, const char *op_type, const char *domain,
                      const int *in, int n_in, const int *out, int n_out, cl_error *err);

/* Appends a copy of attr (deep copy) to node. */
cl_status cl_node_add_attr(cl_node *n, const cl_attr *attr, cl_error *err) CL_MUST_CHECK;

/* Frees what a node owns (params through its op) and zeroes it. */
void cl_node_release(cl_node *n);

/* Frees what an attribute owns. */
void cl_attr_release(cl_attr *a);

/* === Attribute access (for ops' parse functions) === */
const cl_attr *cl_node_attr(const cl_node *n, const char *name);
/* The attribute's value when present with the right type, else def. */
int64_t cl_node_attr_int(const cl_node *n, const char *name, int64_t def);
float cl_node_attr_float(const cl_node *n, const char *name, float def);
/* NULL when absent (or not a string). */
const char *cl_node_attr_string(const cl_node *n, const char *name);
/* Number of ints (0 and *v = NULL when absent); *v belongs to the node. */
int cl_node_attr_ints(const cl_node *n, const char *name, const int64_t **v);
int cl_node_attr_floats(const cl_node *n, const char *name, const float **v);

/* === Node helpers === */
/* Value of input i, or NULL when i >= n_in or the input is omitted. */
cl_value *cl_node_input(const cl_graph *g, const cl_node *n, int i);
cl_value *cl_node_output(const cl_graph *g, const cl_node *n, int i);
/* Number of inputs actually given (trailing omitted ones not counted). */
int cl_node_input_count(const cl_node *n);

/* Records err as "node 'NAME' (OP): <message>" and returns s. First error wins. */
cl_status cl_node_error(cl_error *err, const cl_node *n, cl_status s, const char *fmt, ...)
    CL_PRINTF(4, 5);

/* Normalises an axis in [-rank, rank) to [0, rank); CL_ERR_SHAPE naming the node otherwise. */
cl_status cl_node_axis(const cl_node *n, int64_t axis, int rank, int *out, cl_error *err) CL_MUST_CHECK;

/* Reads a constant integer input (int64 or int32, rank 0 or 1) into a malloc'd int64 array:
 * *count entries in *vals (freed by the caller). The input must be constant: CL_ERR_UNSUPPORTED
 * ("input 'shape' must be constant") otherwise. An omitted input gives *count = -1, *vals = NULL. */
cl_status cl_node_const_ints(const cl_graph *g, const cl_node *n, int i, int64_t **vals, int *count,
                             cl_error *err) CL_MUST_CHECK;
/* Same for a float input (float32 or float64, rank 0 or 1). */
cl_status cl_node_const_floats(const cl_graph *g, const cl_node *n, int i, float **vals, int *count,
                               cl_error *err) CL_MUST_CHECK;

/* === Layout helpers (for kernels) ===
 * A CHANNELS_LAST value of rank r stores logical axes in the order [0, 2, 3, ..., r-1, 1]. */

/* The value's dims in storage order. */
void cl_value_phys_dims(const cl_value *v, int64_t *dims);
/* Position in storage order of logical axis `axis` (0 <= axis < rank). */
int cl_value_phys_axis(const cl_value *v, int axis);
/* Logical axis stored at position p. */
int cl_value_logical_axis(const cl_value *v, int p);

/* How to read input `in` while walking `out`'s storage in order (multidirectional broadcasting, as
 * ONNX's elementwise ops): dims are out's storage dims, strides are in's element strides for each of
 * them (0 along broadcast dims). Works whatever the two layouts are. */
typedef struct cl_view {
  int rank;
  int64_t dims[CL_MAX_RANK];
  int64_t strides[CL_MAX_RANK];
} cl_view;
void cl_view_broadcast(const cl_value *in, const cl_value *out, cl_view *view);

/* ONNX multidirectional broadcast of two logical shapes into out (CL_ERR_SHAPE when incompatible). */
cl_status cl_shape_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *rank_out,
                             int64_t *out, cl_error *err) CL_MUST_CHECK;

#endif
