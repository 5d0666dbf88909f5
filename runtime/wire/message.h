/* cleave internal: the tensors of a message, packed and unpacked (codec + seal).
 *
 * A request for cut k carries the frontier of k (cl_model_frontier), a reply the frontier of n (the
 * graph outputs), in increasing value id order. A cl_msg_set describes one such list once, with
 * what the codec needs of each tensor (its geometry). The payload is the tensors' codec blocks one
 * after the other, then, when sealed, the 16-byte tag; the header (frame.h) describes each block.
 *
 * Sending:   cl_msg_encode (codec, fills the header's descriptors) -> cl_msg_seal (sequence number,
 *            header bytes, seal with the header as associated data).
 * Receiving: cl_frame_decode -> cl_msg_check (descriptors against the set, lengths against the
 *            frame) -> cl_msg_open (in place) -> cl_msg_decode (codec, into the caller's buffers).
 * Nothing here allocates but cl_msg_set_init. Thread safety: a set is read-only once made. */
#ifndef CLEAVE_WIRE_MESSAGE_H
#define CLEAVE_WIRE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/codec.h"
#include "cleave/model.h"
#include "cleave/seal.h"
#include "cleave/status.h"
#include "wire/frame.h"

/* One tensor of a message. */
typedef struct cl_msg_tensor {
  int value;                   /* value id in the model */
  cl_dtype dtype;
  int rank;
  int64_t dims[CL_MAX_RANK];   /* logical (ONNX) order */
  cl_layout layout;            /* how its bytes lie (an executor's buffer) */
  cl_codec_tensor geo;         /* dtype, nbytes and [outer, channels, inner] for the codec */
} cl_msg_tensor;

/* The tensors crossing one cut. */
typedef struct cl_msg_set {
  int cut;                     /* the cut (a reply's set is the frontier of n) */
  int count;                   /* tensors, at most CL_FRAME_MAX_TENSORS */
  cl_msg_tensor *t;            /* owned */
  size_t raw_bytes;            /* sum of the tensors' bytes */
} cl_msg_set;

/* The frontier of cut (0..n) of m. *s owns an array: cl_msg_set_free. Errors: CL_ERR_ARG (cut),
 * CL_ERR_LIMIT (more than CL_FRAME_MAX_TENSORS tensors), CL_ERR_NOMEM. */
cl_status cl_msg_set_init(const cl_model_t *m, int cut, cl_msg_set *s, cl_error *err) CL_MUST_CHECK;
void cl_msg_set_free(cl_msg_set *s);

/* The codec's view of a value: [outer, channels, inner] from its dims and layout (codec.h). */
void cl_msg_geometry(cl_dtype dtype, int rank, const int64_t *dims, cl_layout layout, size_t nbytes,
                     cl_codec_tensor *out);

/* Largest payload of the set under c, tag included (sealed or not: the tag room is always kept),
 * and the codec scratch it needs. The _any forms: the largest over every codec (a receiver that
 * accepts any). */
size_t cl_msg_payload_bound(const cl_msg_set *s, const cl_codec *c);
size_t cl_msg_scratch_bound(const cl_msg_set *s, const cl_codec *c);
size_t cl_msg_payload_bound_any(const cl_msg_set *s);
size_t cl_msg_scratch_bound_any(const cl_msg_set *s);

/* Encodes tensor i of s from src[i] (its bytes, in its layout) into payload[0, cap) one after the
 * other, and writes h->tensors (the codec each used) and h->tensors_count. *body is the encoded
 * length. cap >= cl_msg_payload_bound(s, c); scratch holds cl_msg_scratch_bound(s, c) bytes.
 * Errors: CL_ERR_ARG (the codec refused: cap too small). */
cl_status cl_msg_encode(const cl_msg_set *s, const cl_codec *c, const void *const *src,
                        cleave_Header *h, uint8_t *payload, size_t cap, size_t *body, void *scratch,
                        cl_error *err) CL_MUST_CHECK;

/* Finishes a message whose payload body (body bytes) is encoded: takes the next sequence number of
 * sess (NULL: insecure, no seal, h->insecure set), sets h->payload_bytes, encodes h into hdr and
 * seals payload[0, body) in place with the encoded header as associated data, the tag at
 * payload[body, body + 16). payload must have room for the tag. *payload_len is what to send.
 * Errors: CL_ERR_LIMIT (hdr_cap too small). */
cl_status cl_msg_seal(cl_session *sess, cleave_Header *h, uint8_t *hdr, size_t hdr_cap,
                      size_t *hdr_len, uint8_t *payload, size_t body, size_t *payload_len,
                      cl_error *err) CL_MUST_CHECK;

/* The same with the body taken from src[0, body) (src == payload: cl_msg_seal; otherwise not
 * overlapping): sealed straight into payload, or copied there when insecure. */
cl_status cl_msg_seal_from(cl_session *sess, cleave_Header *h, uint8_t *hdr, size_t hdr_cap,
                           size_t *hdr_len, const uint8_t *src, uint8_t *payload, size_t body,
                           size_t *payload_len, cl_error *err) CL_MUST_CHECK;

/* Checks a decoded header's tensors against s and the payload frame's length (CL_ERR_PROTOCOL, one
 * line naming the tensor): count; per tensor value id, dtype, rank, every dim, layout;
 * encoded_bytes <= cl_codec_bound of its codec; the sum of encoded_bytes (+ the tag when sealed)
 * == h->payload_bytes == payload_len. */
cl_status cl_msg_check(const cl_msg_set *s, const cleave_Header *h, size_t payload_len, int sealed,
                       cl_error *err) CL_MUST_CHECK;

/* Opens a checked payload in place: the tag is its last 16 bytes, the header bytes received are the
 * associated data, the sequence number is the header's. CL_ERR_AUTH when it does not authenticate
 * or replays (seal.h); the session is unchanged then. One thread at a time per session. */
cl_status cl_msg_open(cl_session *sess, const cleave_Header *h, const uint8_t *hdr, size_t hdr_len,
                      uint8_t *payload, size_t payload_len, cl_error *err) CL_MUST_CHECK;

/* Decodes each tensor of a checked (and opened) payload into dst[i], exactly s->t[i].geo.nbytes.
 * scratch holds cl_msg_scratch_bound_any(s) bytes (or the bound of the one codec expected).
 * Errors: CL_ERR_FORMAT from the codec, naming the tensor. */
cl_status cl_msg_decode(const cl_msg_set *s, const cleave_Header *h, const uint8_t *payload,
                        void *const *dst, void *scratch, cl_error *err) CL_MUST_CHECK;

/* The codec a descriptor names. */
void cl_msg_desc_codec(const cleave_TensorDesc *d, cl_codec *out);

#endif
