/* cleave internal: what the ONNX reader's files share (onnx_reader.c, onnx_node.c, onnx_tensor.c,
 * onnx_pb.c). Nothing outside runtime/model/onnx_*.c includes this.
 *
 * How decoding works. nanopb parses the wire format (tags, varints, lengths, bounds); every field the
 * reader uses is a callback (proto/onnx.options) and every field it never reads is FT_IGNORE, so that
 * nanopb allocates nothing and copies nothing. Callbacks record *where* bytes lie in the input buffer
 * (an onnx_str, an onnx_spans list), collect numbers (onnx_nums) or count fields they refuse. Records
 * always point into the caller's buffer, never into nanopb's stack copies: a length-delimited field
 * sent with a scalar wire type is refused as corrupt.
 *
 * Errors: every function here reports into src->err, the reader's own first-error report (never the
 * caller's, which may be NULL), and returns its status. */
#ifndef CLEAVE_MODEL_ONNX_INTERNAL_H
#define CLEAVE_MODEL_ONNX_INTERNAL_H

#include <pb.h>
#include <pb_decode.h>
#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"
#include "cleave/tensor.h"
#include "model/graph.h"
#include "onnx.pb.h"

/* === Limits on what a file may ask for (beyond graph.h's CL_MAX_*) === */
#define CL_ONNX_MAX_NAME 4096           /* bytes in a name, op_type, domain */
#define CL_ONNX_MAX_STRING 65536        /* bytes in a string attribute (all of STRINGS together) */
#define CL_ONNX_MAX_ATTR_ELEMS (1 << 20) /* entries of a FLOATS / INTS / STRINGS attribute */
#define CL_ONNX_MAX_ATTRS 1024          /* attributes of one node */
#define CL_ONNX_MAX_OPSETS 64           /* opset_import entries */

/* === Sources and records === */

/* The bytes being decoded and the report errors go to. */
typedef struct onnx_src {
  const uint8_t *buf;   /* the whole input; the caller keeps it */
  size_t len;
  const char *what;     /* "model file" or "tensor file", for corruption messages */
  cl_error *err;        /* first error wins */
} onnx_src;

/* One string or bytes field, where it lies in src->buf (last occurrence wins, as protobuf says). */
typedef struct onnx_str {
  const onnx_src *src;
  const uint8_t *p;     /* into src->buf; NULL when absent */
  size_t n;
  int set;              /* 1 when the field was present (possibly empty) */
} onnx_str;

/* A repeated string, bytes or message field: each occurrence's bytes. */
typedef struct onnx_span {
  const uint8_t *p;
  size_t n;
} onnx_span;

typedef struct onnx_spans {
  const onnx_src *src;
  onnx_span *v;         /* owned (malloc) */
  int n, cap;
  int max;              /* occurrences kept; more sets `overflow` and are skipped */
  int overflow;
} onnx_spans;

/* Numbers of a repeated numeric field, packed or not. */
typedef enum onnx_num_kind {
  ONNX_NUM_F32,   /* fixed32 float */
  ONNX_NUM_F64,   /* fixed64 double */
  ONNX_NUM_I32,   /* varint int32 */
  ONNX_NUM_I64,   /* varint int64 */
  ONNX_NUM_U64,   /* varint uint64 */
} onnx_num_kind;

typedef struct onnx_nums {
  const onnx_src *src;
  onnx_num_kind kind;
  void *v;              /* owned (malloc): float, double, int32_t, int64_t or uint64_t entries */
  size_t n, cap;
  size_t max;           /* entries kept; more sets `overflow` and are skipped */
  int overflow;
} onnx_nums;

/* Bytes per entry of a kind (4 or 8). */
size_t onnx_num_size(onnx_num_kind kind);

/* === Callbacks (set funcs.decode to these and arg to the record) === */
bool onnx_cb_str(pb_istream_t *stream, const pb_field_t *field, void **arg);   /* onnx_str */
bool onnx_cb_spans(pb_istream_t *stream, const pb_field_t *field, void **arg); /* onnx_spans */
bool onnx_cb_nums(pb_istream_t *stream, const pb_field_t *field, void **arg);  /* onnx_nums */
bool onnx_cb_count(pb_istream_t *stream, const pb_field_t *field, void **arg); /* int counter */

/* 1 when the stream reads from src->buf (a length-delimited field), 0 when it reads nanopb's stack
 * copy of a scalar (the field came with a scalar wire type). */
int onnx_in_buf(const onnx_src *src, const pb_istream_t *stream);

/* Records CL_ERR_FORMAT "wrong wire type" for the field and returns false. */
bool onnx_wire_error(const onnx_src *src, const pb_field_t *field);

/* Sets a callback field. */
void onnx_bind(pb_callback_t *cb, bool (*fn)(pb_istream_t *, const pb_field_t *, void **), void *arg);

void onnx_spans_init(onnx_spans *s, const onnx_src *src, int max);
void onnx_spans_free(onnx_spans *s);
void onnx_nums_init(onnx_nums *s, const onnx_src *src, onnx_num_kind kind, size_t max);
void onnx_nums_free(onnx_nums *s);

/* Decodes the message in [p, p+n) (inside src->buf) with pb_decode. A nanopb failure becomes
 * CL_ERR_FORMAT "<what> is truncated or corrupt (nanopb: <msg>)" unless a callback reported first. */
cl_status onnx_decode_msg(const onnx_src *src, const uint8_t *p, size_t n, const pb_msgdesc_t *fields,
                          void *msg) CL_MUST_CHECK;

/* Copies a name into buf (cap >= CL_ONNX_MAX_NAME + 1) as a C string: CL_ERR_LIMIT when longer than
 * CL_ONNX_MAX_NAME, CL_ERR_FORMAT when it holds a NUL byte; `what` names the field in the message. */
cl_status onnx_name(const onnx_src *src, const uint8_t *p, size_t n, char *buf, size_t cap,
                    const char *what) CL_MUST_CHECK;

/* 1 when the domain (p, n) is the default ONNX domain ("" or "ai.onnx"). */
int onnx_domain_is_default(const uint8_t *p, size_t n);

/* === Tensors (onnx_tensor.c) === */

/* A TensorProto as decoded, before checking. */
typedef struct onnx_tensor_msg {
  onnx_TensorProto pb;  /* static fields: data_type, segment, data_location */
  onnx_str name;
  onnx_str raw;
  onnx_nums dims;
  onnx_nums f32, i32, i64, f64, u64;   /* float_data, int32_data, int64_data, double_data, uint64_data */
  int n_strings;        /* string_data occurrences */
  int n_external;       /* external_data occurrences */
} onnx_tensor_msg;

/* A checked tensor: a supported dtype, a shape within limits, data of the right length. */
typedef struct onnx_tensor_info {
  cl_dtype dtype;
  int rank;
  int64_t dims[CL_MAX_RANK];
  size_t numel, nbytes;
} onnx_tensor_info;

/* Decodes the TensorProto in [p, p+n). Free m with onnx_tensor_msg_free in all cases. */
cl_status onnx_tensor_parse(const onnx_src *src, const uint8_t *p, size_t n,
                            onnx_tensor_msg *m) CL_MUST_CHECK;
void onnx_tensor_msg_free(onnx_tensor_msg *m);

/* Checks m; `what` names the tensor in errors ("tensor 'w'", "node 'n' (Constant): value").
 * Errors: CL_ERR_UNSUPPORTED (external data, segments, strings, an unsupported dtype),
 * CL_ERR_LIMIT (rank, sizes), CL_ERR_FORMAT (data length or kind not matching the dtype). */
cl_status onnx_tensor_check(const onnx_src *src, const onnx_tensor_msg *m, const char *what,
                            onnx_tensor_info *ti) CL_MUST_CHECK;

/* Where the data already lies in src->buf in its final form (raw_data, aligned for the dtype and at
 * least 4 bytes, little-endian host), or NULL when it must be copied with onnx_tensor_fill. */
const void *onnx_tensor_view(const onnx_tensor_msg *m, const onnx_tensor_info *ti);

/* Writes ti->nbytes bytes of data into dst (from raw_data or converted from the typed field). */
void onnx_tensor_fill(const onnx_tensor_msg *m, const onnx_tensor_info *ti, void *dst);

/* === Nodes and attributes (onnx_node.c) === */

/* Node input names waiting to be resolved once every value exists. */
typedef struct onnx_pending {
  int node;             /* index in g->nodes */
  int first, count;     /* entries of the reader's input pool */
} onnx_pending;

/* The reader's state shared by onnx_reader.c and onnx_node.c. */
typedef struct onnx_reader {
  onnx_src src;
  cl_error e;           /* the reader's own report, copied to the caller's at the end */
  cl_graph *g;
  onnx_spans nodes, inits, inputs, outputs;  /* GraphProto fields, where they lie */
  int n_sparse;         /* sparse_initializer occurrences */
  int n_graphs;         /* ModelProto.graph occurrences */
  onnx_span opset_dom[CL_ONNX_MAX_OPSETS];   /* opset_import: domain and version */
  int64_t opset_ver[CL_ONNX_MAX_OPSETS];
  int n_opsets;
  onnx_spans in_pool;   /* every real node's input names, in order */
  onnx_pending *pending; /* one per real node */
  int n_pending, cap_pending;
} onnx_reader;

/* Decodes node record k (its bytes in [p, p+n)): a Constant becomes a constant value, anything else
 * a node with its outputs and attributes; its inputs are queued in rd->pending. */
cl_status onnx_node_read(onnx_reader *rd, int k, const uint8_t *p, size_t n) CL_MUST_CHECK;

/* The opset the model imports for a domain, or -1. */
int onnx_opset_for(const onnx_reader *rd, const uint8_t *dom, size_t n);

#endif
