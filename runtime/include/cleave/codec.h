/* cleave: the tensor codec, what a frontier tensor becomes on the wire.
 *
 * A codec is a kind, an optional byte-shuffle and LZ4:
 *   raw     the bytes as they are: lossless, the default
 *   f16     float32 -> float16 (round to nearest even): lossy, half the bytes
 *   int8    float32 -> int8, affine with one scale and zero point for the tensor: lossy, a quarter
 *   int8c   float32 -> int8, affine with a scale and zero point per channel
 * then, when shuffle is on, the bytes are regrouped by significance (byte k of every element
 * together), which helps LZ4 on float data; then LZ4 (on unless disabled). Lossy kinds apply to
 * float32 tensors only; other dtypes always travel raw (cl_codec_encode reports the codec it used).
 *
 * Names: "raw", "f16", "int8", "int8c", each optionally followed by "+shuffle" and/or "+nolz4"
 * ("f16+shuffle"). The encoded block is self-describing apart from the codec and the tensor's
 * geometry, which travel in the wire header: int8 kinds put their scales and zero points first.
 * docs/CODEC.md gives the exact byte layout.
 *
 * All functions are reentrant. cl_codec_bound and cl_codec_scratch return 0 for a description that
 * cl_codec_encode would refuse. Decoding applies the same rule as encoding ("a lossy kind on a
 * non-float tensor is raw"), so it accepts the codec as asked or as used.
 *
 * No allocation: the caller sizes dst with cl_codec_bound and scratch with cl_codec_scratch.
 * Decoding is for untrusted bytes: it never reads outside src[0, len) nor writes outside
 * dst[0, t->nbytes), whatever the input, and refuses inconsistent input with CL_ERR_FORMAT. */
#ifndef CLEAVE_CODEC_H
#define CLEAVE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"
#include "cleave/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cl_codec_kind {
  CL_CODEC_RAW = 0,
  CL_CODEC_F16 = 1,
  CL_CODEC_INT8 = 2,
  CL_CODEC_INT8_CHANNEL = 3,
} cl_codec_kind;

typedef struct cl_codec {
  cl_codec_kind kind;
  int shuffle; /* 1: byte-shuffle before LZ4 */
  int lz4;     /* 1: LZ4 (the default) */
} cl_codec;

/* The tensor as the codec sees it: its element type and its bytes as [outer, channels, inner]
 * (per-channel int8 quantises each channel separately; for other kinds only nbytes matters).
 * A channels-last tensor [N, H, W, C] is outer = N*H*W, channels = C, inner = 1; a plain [N, C, H, W]
 * is outer = N, channels = C, inner = H*W. */
typedef struct cl_codec_tensor {
  cl_dtype dtype;
  size_t nbytes;
  size_t outer, channels, inner;
} cl_codec_tensor;

/* The geometry of a tensor as the graph describes it: dtype, logical dims and layout (the layout of
 * its bytes). Channels are logical axis 1 (rank >= 2; else one channel): a CHANNELS_LAST tensor
 * stores them innermost. Both sides of a split must derive it this same way. */
void cl_codec_tensor_of(cl_dtype dtype, int rank, const int64_t *dims, int channels_last,
                        size_t nbytes, cl_codec_tensor *out);

/* Parses a codec name (above). Errors: CL_ERR_ARG naming the bad part. */
cl_status cl_codec_parse(const char *name, cl_codec *out, cl_error *err) CL_MUST_CHECK;

/* Writes the codec's canonical name into buf (NUL-terminated, truncated to cap); returns buf. */
char *cl_codec_name(const cl_codec *c, char *buf, size_t cap);

/* 1 when the codec loses information for this dtype (lossy kind on float32). */
int cl_codec_is_lossy(const cl_codec *c, cl_dtype dtype);

/* Largest encoded size of t under c: size dst with it. */
size_t cl_codec_bound(const cl_codec *c, const cl_codec_tensor *t);

/* Bytes of scratch memory encode and decode need for t under c (may be 0). */
size_t cl_codec_scratch(const cl_codec *c, const cl_codec_tensor *t);

/* Encodes t's bytes (src, t->nbytes) into dst (cap bytes, >= cl_codec_bound). *written is the
 * encoded length; *used the codec applied (a lossy kind on a non-float tensor becomes raw). The
 * caller keeps src, dst and scratch. Errors: CL_ERR_ARG (cap too small, bad geometry). */
cl_status cl_codec_encode(const cl_codec *c, const cl_codec_tensor *t, const void *src, void *dst,
                          size_t cap, size_t *written, void *scratch, cl_codec *used,
                          cl_error *err) CL_MUST_CHECK;

/* Decodes len bytes of src (encoded with c) into dst, exactly t->nbytes. Untrusted input: never
 * writes outside dst nor reads outside src; CL_ERR_FORMAT on anything inconsistent (sizes, LZ4
 * stream, non-finite or absurd quantisation parameters). */
cl_status cl_codec_decode(const cl_codec *c, const cl_codec_tensor *t, const void *src, size_t len,
                          void *dst, void *scratch, cl_error *err) CL_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
