/* cleave internal: decodes an ONNX ModelProto into a cl_graph (nanopb, generated at build time from
 * the system's onnx.proto with proto/onnx.options).
 *
 * What it produces, before any pass runs:
 *   - g->opset: the default domain's opset (ai.onnx / ""); each node's opset is its domain's;
 *   - one value per tensor name; graph inputs that are not initializers are g->inputs, with their
 *     declared dtype and dims (-1 for a dynamic or missing dim, rank -1 when the input has no shape);
 *   - initializers and Constant nodes become constant values (cl_value.is_const, PLAIN data): raw_data
 *     is used where it lies in buf when aligned for its type (little-endian hosts), else copied;
 *     typed fields (float_data, int64_data, ...) are converted; no node is made for Constant;
 *   - every other node as in the file (op_type, domain, inputs, outputs, attributes deep-copied; an
 *     empty input name is -1); node order as in the file (the pipeline sorts);
 *   - g->outputs: the graph outputs;
 *   - g->hash: BLAKE2b-256 of buf.
 * Untrusted input: every count and length is bounded (CL_MAX_* in graph.h and tensor.h), names are
 * checked for duplicates, a tensor's byte length must match its shape; anything else is a one-line
 * CL_ERR_FORMAT / CL_ERR_LIMIT / CL_ERR_UNSUPPORTED (external data, sparse tensors, string tensors)
 * naming the tensor, node or field. Never aborts. */
#ifndef CLEAVE_MODEL_ONNX_READER_H
#define CLEAVE_MODEL_ONNX_READER_H

#include <stddef.h>
#include <stdint.h>

#include "model/graph.h"

/* Decodes buf into the empty graph g. Constants may point into buf: the caller keeps buf alive as
 * long as g (model.c stores the mapping in g->map or g->buf_owned). On error g holds a partial graph
 * that the caller still frees. */
cl_status cl_onnx_decode(cl_graph *g, const uint8_t *buf, size_t len, cl_error *err) CL_MUST_CHECK;

/* Decodes one serialized TensorProto into *out (data always copied and owned). Used by tensor files
 * (.pb) and by the fuzzers. Errors as above. */
cl_status cl_onnx_decode_tensor(const uint8_t *buf, size_t len, cl_tensor *out,
                                cl_error *err) CL_MUST_CHECK;

#endif
