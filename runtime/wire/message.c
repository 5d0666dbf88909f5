/* cleave: the tensors of a message: frontier sets, codec blocks, seal and open. */
#include "wire/message.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* === Sets === */

void cl_msg_geometry(cl_dtype dtype, int rank, const int64_t *dims, cl_layout layout, size_t nbytes,
                     cl_codec_tensor *out) {
  size_t es = cl_dtype_size(dtype);
  size_t numel = es ? nbytes / es : 0;
  memset(out, 0, sizeof *out);
  out->dtype = dtype;
  out->nbytes = nbytes;
  if (rank < 2) {            /* one channel */
    out->outer = 1, out->channels = 1, out->inner = numel;
    return;
  }
  size_t rest = 1;           /* dims 2 .. rank-1 */
  for (int d = 2; d < rank; d++) rest *= (size_t)dims[d];
  out->channels = (size_t)dims[1];
  if (layout == CL_LAYOUT_CHANNELS_LAST && rank >= 3) {
    out->outer = (size_t)dims[0] * rest;   /* [N, d2.., C] */
    out->inner = 1;
  } else {
    out->outer = (size_t)dims[0];          /* [N, C, d2..] */
    out->inner = rest;
  }
}

cl_status cl_msg_set_init(const cl_model_t *m, int cut, cl_msg_set *s, cl_error *err) {
  assert(m != NULL && s != NULL);
  memset(s, 0, sizeof *s);
  int n = cl_model_node_count(m);
  if (cut < 0 || cut > n)
    return cl_error_set(err, CL_ERR_ARG, "cut %d is outside [0, %d]", cut, n);
  int ids[CL_FRAME_MAX_TENSORS];
  int count = cl_model_frontier(m, cut, ids, CL_FRAME_MAX_TENSORS);
  if (count < 0) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  if (count > CL_FRAME_MAX_TENSORS)
    return cl_error_set(err, CL_ERR_LIMIT, "cut %d has %d frontier tensors (at most %d per message)",
                        cut, count, CL_FRAME_MAX_TENSORS);
  s->t = calloc((size_t)count + 1, sizeof *s->t);
  if (!s->t) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  s->cut = cut;
  s->count = count;
  for (int i = 0; i < count; i++) {
    cl_value_info vi;
    cl_model_value_info(m, ids[i], &vi);
    cl_msg_tensor *t = &s->t[i];
    t->value = ids[i];
    t->dtype = vi.dtype;
    t->rank = vi.rank;
    memcpy(t->dims, vi.dims, sizeof t->dims);
    t->layout = vi.layout;
    cl_msg_geometry(vi.dtype, vi.rank, vi.dims, vi.layout, vi.nbytes, &t->geo);
    s->raw_bytes += vi.nbytes;
  }
  return CL_OK;
}

void cl_msg_set_free(cl_msg_set *s) {
  if (!s) return;
  free(s->t);
  memset(s, 0, sizeof *s);
}

/* === Bounds === */

size_t cl_msg_payload_bound(const cl_msg_set *s, const cl_codec *c) {
  size_t b = CL_TAG_BYTES;
  for (int i = 0; i < s->count; i++) b += cl_codec_bound(c, &s->t[i].geo);
  return b;
}

size_t cl_msg_scratch_bound(const cl_msg_set *s, const cl_codec *c) {
  size_t b = 0;
  for (int i = 0; i < s->count; i++) {
    size_t x = cl_codec_scratch(c, &s->t[i].geo);
    if (x > b) b = x;
  }
  return b;
}

/* Every codec: 4 kinds, with and without shuffle and LZ4. */
#define CODEC_VARIANTS 16
static cl_codec codec_variant(int v) {
  cl_codec c = {.kind = (cl_codec_kind)(v / 4), .shuffle = (v / 2) % 2, .lz4 = v % 2};
  return c;
}

size_t cl_msg_payload_bound_any(const cl_msg_set *s) {
  size_t b = 0;
  for (int v = 0; v < CODEC_VARIANTS; v++) {
    cl_codec c = codec_variant(v);
    size_t x = cl_msg_payload_bound(s, &c);
    if (x > b) b = x;
  }
  return b;
}

size_t cl_msg_scratch_bound_any(const cl_msg_set *s) {
  size_t b = 0;
  for (int v = 0; v < CODEC_VARIANTS; v++) {
    cl_codec c = codec_variant(v);
    size_t x = cl_msg_scratch_bound(s, &c);
    if (x > b) b = x;
  }
  return b;
}

void cl_msg_desc_codec(const cleave_TensorDesc *d, cl_codec *out) {
  out->kind = (cl_codec_kind)d->codec;
  out->shuffle = d->shuffle;
  out->lz4 = d->lz4;
}

/* === Sending === */

static void fill_desc(const cl_msg_tensor *t, const cl_codec *used, size_t bytes,
                      cleave_TensorDesc *d) {
  memset(d, 0, sizeof *d);
  d->value = t->value;
  d->dtype = (int32_t)t->dtype;
  d->dims_count = (pb_size_t)t->rank;
  for (int k = 0; k < t->rank; k++) d->dims[k] = t->dims[k];
  d->layout = (int32_t)t->layout;
  d->codec = (cleave_Codec)used->kind;
  d->shuffle = used->shuffle != 0;
  d->lz4 = used->lz4 != 0;
  d->encoded_bytes = bytes;
}

cl_status cl_msg_encode(const cl_msg_set *s, const cl_codec *c, const void *const *src,
                        cleave_Header *h, uint8_t *payload, size_t cap, size_t *body, void *scratch,
                        cl_error *err) {
  assert(s != NULL && c != NULL && h != NULL && body != NULL);
  assert(src != NULL || s->count == 0);
  size_t off = 0;
  *body = 0;
  for (int i = 0; i < s->count; i++) {
    size_t w = 0;
    cl_codec used;
    cl_status st = cl_codec_encode(c, &s->t[i].geo, src[i], payload + off, cap - off, &w, scratch,
                                   &used, err);
    if (st != CL_OK) return st;
    fill_desc(&s->t[i], &used, w, &h->tensors[i]);
    off += w;
  }
  h->tensors_count = (pb_size_t)s->count;
  *body = off;
  return CL_OK;
}

cl_status cl_msg_seal(cl_session *sess, cleave_Header *h, uint8_t *hdr, size_t hdr_cap,
                      size_t *hdr_len, uint8_t *payload, size_t body, size_t *payload_len,
                      cl_error *err) {
  return cl_msg_seal_from(sess, h, hdr, hdr_cap, hdr_len, payload, payload, body, payload_len, err);
}

cl_status cl_msg_seal_from(cl_session *sess, cleave_Header *h, uint8_t *hdr, size_t hdr_cap,
                           size_t *hdr_len, const uint8_t *src, uint8_t *payload, size_t body,
                           size_t *payload_len, cl_error *err) {
  assert(h != NULL && hdr != NULL && hdr_len != NULL && payload_len != NULL);
  h->insecure = sess == NULL;
  h->seq = sess ? cl_session_next_seq(sess) : 0;
  h->payload_bytes = body + (sess ? CL_TAG_BYTES : 0);
  cl_status st = cl_frame_encode(h, hdr, hdr_cap, hdr_len, err);
  if (st != CL_OK) return st;
  if (sess) cl_session_seal_from(sess, h->seq, hdr, *hdr_len, payload, src, body, payload + body);
  else if (src != payload && body > 0) memcpy(payload, src, body);
  *payload_len = (size_t)h->payload_bytes;
  return CL_OK;
}

/* === Receiving === */

static cl_status check_tensor(const cl_msg_tensor *t, const cleave_TensorDesc *d, int i,
                              cl_error *err) {
  if (d->value != t->value)
    return cl_error_set(err, CL_ERR_PROTOCOL, "tensor %d is value %" PRId32 " (%d expected)", i,
                        d->value, t->value);
  if (d->dtype != (int32_t)t->dtype)
    return cl_error_set(err, CL_ERR_PROTOCOL, "tensor %d (value %d) has dtype %" PRId32
                        " (%s expected)", i, t->value, d->dtype, cl_dtype_name(t->dtype));
  int same = (int)d->dims_count == t->rank;
  for (int k = 0; same && k < t->rank; k++) same = d->dims[k] == t->dims[k];
  if (!same) {
    char want[128], got[128];
    return cl_error_set(err, CL_ERR_PROTOCOL, "tensor %d (value %d) has shape %s (%s expected)", i,
                        t->value, cl_shape_str((int)d->dims_count, d->dims, got, sizeof got),
                        cl_shape_str(t->rank, t->dims, want, sizeof want));
  }
  if (d->layout != (int32_t)t->layout)
    return cl_error_set(err, CL_ERR_PROTOCOL, "tensor %d (value %d) has layout %" PRId32
                        " (%d expected)", i, t->value, d->layout, (int)t->layout);
  cl_codec c;
  cl_msg_desc_codec(d, &c);
  size_t bound = cl_codec_bound(&c, &t->geo);
  if (d->encoded_bytes > bound)
    return cl_error_set(err, CL_ERR_PROTOCOL, "tensor %d (value %d) claims %" PRIu64
                        " encoded bytes (at most %zu)", i, t->value, d->encoded_bytes, bound);
  return CL_OK;
}

cl_status cl_msg_check(const cl_msg_set *s, const cleave_Header *h, size_t payload_len, int sealed,
                       cl_error *err) {
  assert(s != NULL && h != NULL);
  if ((int)h->tensors_count != s->count)
    return cl_error_set(err, CL_ERR_PROTOCOL, "%u tensors for cut %d (its frontier has %d)",
                        (unsigned)h->tensors_count, s->cut, s->count);
  uint64_t sum = sealed ? CL_TAG_BYTES : 0;
  for (int i = 0; i < s->count; i++) {
    cl_status st = check_tensor(&s->t[i], &h->tensors[i], i, err);
    if (st != CL_OK) return st;
    sum += h->tensors[i].encoded_bytes;   /* each bounded by cl_codec_bound: cannot wrap */
  }
  if (sum != h->payload_bytes)
    return cl_error_set(err, CL_ERR_PROTOCOL, "payload_bytes %" PRIu64 " but the tensors%s add up to %"
                        PRIu64, h->payload_bytes, sealed ? " and the tag" : "", sum);
  if (h->payload_bytes != payload_len)
    return cl_error_set(err, CL_ERR_PROTOCOL, "payload frame of %zu bytes, the header says %" PRIu64,
                        payload_len, h->payload_bytes);
  return CL_OK;
}

cl_status cl_msg_open(cl_session *sess, const cleave_Header *h, const uint8_t *hdr, size_t hdr_len,
                      uint8_t *payload, size_t payload_len, cl_error *err) {
  assert(sess != NULL && h != NULL && hdr != NULL);
  if (payload_len < CL_TAG_BYTES)
    return cl_error_set(err, CL_ERR_PROTOCOL, "sealed payload of %zu bytes (no room for the tag)",
                        payload_len);
  size_t body = payload_len - CL_TAG_BYTES;
  return cl_session_open(sess, h->seq, hdr, hdr_len, payload, body, payload + body, err);
}

cl_status cl_msg_decode(const cl_msg_set *s, const cleave_Header *h, const uint8_t *payload,
                        void *const *dst, void *scratch, cl_error *err) {
  assert(s != NULL && h != NULL && (dst != NULL || s->count == 0));
  size_t off = 0;
  for (int i = 0; i < s->count; i++) {
    const cleave_TensorDesc *d = &h->tensors[i];
    cl_codec c;
    cl_msg_desc_codec(d, &c);
    cl_error e = {0};
    if (cl_codec_decode(&c, &s->t[i].geo, payload + off, (size_t)d->encoded_bytes, dst[i], scratch,
                        &e) != CL_OK)
      return cl_error_set(err, e.status, "tensor %d (value %d): %s", i, s->t[i].value, e.msg);
    off += (size_t)d->encoded_bytes;
  }
  return CL_OK;
}
