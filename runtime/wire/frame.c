/* cleave: the wire header: encoding, bounded decoding and per-type structural checks. */
#include "wire/frame.h"

#include <assert.h>
#include <inttypes.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <stdio.h>
#include <string.h>

#include "cleave/seal.h"
#include "cleave/tensor.h"

_Static_assert(CL_FRAME_HEADER_CAP <= CL_FRAME_MAX_HEADER, "a valid header fits the limit");
_Static_assert(sizeof(((cleave_Header *)0)->tensors) / sizeof(cleave_TensorDesc) ==
                   CL_FRAME_MAX_TENSORS, "proto/cleave.options: tensors max_count");
_Static_assert(sizeof(((cleave_TensorDesc *)0)->dims) / sizeof(int64_t) == CL_MAX_RANK,
               "proto/cleave.options: dims max_count");
_Static_assert(sizeof(((cleave_Header *)0)->session.bytes) == CL_SESSION_ID_BYTES, "session id");
_Static_assert(sizeof(((cleave_Header *)0)->static_key.bytes) == CL_KEY_BYTES, "static key");
_Static_assert(sizeof(((cleave_Header *)0)->proof.bytes) == CL_PROOF_BYTES, "proof");

/* === Encoding === */

void cl_frame_init(cleave_Header *h, cleave_MsgType type) {
  assert(h != NULL);
  memset(h, 0, sizeof *h);
  h->version = CL_FRAME_VERSION;
  h->type = type;
}

cl_status cl_frame_encode(const cleave_Header *h, uint8_t *buf, size_t cap, size_t *len,
                          cl_error *err) {
  assert(h != NULL && buf != NULL && len != NULL);
  pb_ostream_t os = pb_ostream_from_buffer(buf, cap);
  *len = 0;
  if (!pb_encode(&os, cleave_Header_fields, h))
    return cl_error_set(err, CL_ERR_LIMIT, "header does not encode: %s", PB_GET_ERROR(&os));
  *len = os.bytes_written;
  return CL_OK;
}

/* === Decoding === */

cl_status cl_frame_decode(const uint8_t *buf, size_t len, cleave_Header *h, cl_error *err) {
  assert(h != NULL && (buf != NULL || len == 0));
  memset(h, 0, sizeof *h);
  if (len > CL_FRAME_MAX_HEADER)
    return cl_error_set(err, CL_ERR_LIMIT, "header of %zu bytes refused (at most %zu)", len,
                        CL_FRAME_MAX_HEADER);
  if (len == 0) return cl_error_set(err, CL_ERR_FORMAT, "empty header frame");
  pb_istream_t is = pb_istream_from_buffer(buf, len);
  if (!pb_decode(&is, cleave_Header_fields, h)) {
    const char *why = PB_GET_ERROR(&is);
    memset(h, 0, sizeof *h);
    return cl_error_set(err, CL_ERR_FORMAT, "header does not decode: %s", why);
  }
  return cl_frame_check(h, err);
}

/* === Structural checks === */

const char *cl_frame_type_name(int type, char *buf, size_t cap) {
  static const char *names[] = {"UNKNOWN", "HELLO", "WELCOME", "REQUEST", "REPLY", "ERROR", "BYE"};
  if (type > 0 && type < (int)(sizeof names / sizeof names[0])) return names[type];
  snprintf(buf, cap, "type %d", type);
  return buf;
}

/* CL_OK when the byte field has size want (or, with optional, 0). */
static cl_status want_size(const char *msg, const char *field, size_t have, size_t want,
                           int optional, cl_error *err) {
  if (have == want || (optional && have == 0)) return CL_OK;
  if (have == 0) return cl_error_set(err, CL_ERR_PROTOCOL, "%s: %s is missing", msg, field);
  return cl_error_set(err, CL_ERR_PROTOCOL, "%s: %s is %zu bytes (%zu expected)", msg, field, have,
                      want);
}

static cl_status want_absent(const char *msg, const char *field, int present, cl_error *err) {
  return present ? cl_error_set(err, CL_ERR_PROTOCOL, "%s must not carry %s", msg, field) : CL_OK;
}

/* The handshake fields: HELLO and WELCOME carry keys when secure and none when insecure; data and
 * error messages carry none. */
static cl_status check_handshake_fields(const cleave_Header *h, const char *msg, cl_error *err) {
  int hello = h->type == cleave_MsgType_MSG_HELLO, welcome = h->type == cleave_MsgType_MSG_WELCOME;
  if ((hello || welcome) && !h->insecure) {
    cl_status s = hello ? want_size(msg, "static_key", h->static_key.size, CL_KEY_BYTES, 0, err)
                        : want_absent(msg, "static_key", h->static_key.size != 0, err);
    if (s == CL_OK)
      s = want_size(msg, "ephemeral_key", h->ephemeral_key.size, CL_KEY_BYTES, 0, err);
    if (s == CL_OK) s = want_size(msg, "proof", h->proof.size, CL_PROOF_BYTES, 0, err);
    return s;
  }
  int any = h->static_key.size || h->ephemeral_key.size || h->proof.size;
  return want_absent(msg, hello || welcome ? "keys or proofs (insecure)" : "keys or proofs", any,
                     err);
}

static cl_status check_tensors(const cleave_Header *h, const char *msg, cl_error *err) {
  for (pb_size_t i = 0; i < h->tensors_count; i++) {
    const cleave_TensorDesc *t = &h->tensors[i];
    if (t->codec < _cleave_Codec_MIN || t->codec > _cleave_Codec_MAX)
      return cl_error_set(err, CL_ERR_PROTOCOL, "%s: tensor %u has unknown codec %d", msg,
                          (unsigned)i, (int)t->codec);
    if (t->dims_count > CL_MAX_RANK)
      return cl_error_set(err, CL_ERR_PROTOCOL, "%s: tensor %u has %u dims (at most %d)", msg,
                          (unsigned)i, (unsigned)t->dims_count, CL_MAX_RANK);
  }
  return CL_OK;
}

/* REQUEST and REPLY. */
static cl_status check_data(const cleave_Header *h, const char *msg, cl_error *err) {
  cl_status s = want_size(msg, "session", h->session.size, CL_SESSION_ID_BYTES, 0, err);
  if (s == CL_OK) s = want_size(msg, "model_hash", h->model_hash.size, CL_FRAME_HASH_BYTES, 0, err);
  if (s != CL_OK) return s;
  if (h->request_id == 0) return cl_error_set(err, CL_ERR_PROTOCOL, "%s: request_id 0", msg);
  if (h->cut < 0) return cl_error_set(err, CL_ERR_PROTOCOL, "%s: negative cut %d", msg, (int)h->cut);
  if (!h->insecure && h->seq == 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "%s: sealed message without sequence number", msg);
  return check_tensors(h, msg, err);
}

/* HELLO, WELCOME and ERROR: no tensors, no payload. */
static cl_status check_no_data(const cleave_Header *h, const char *msg, cl_error *err) {
  cl_status s = want_absent(msg, "tensors", h->tensors_count != 0, err);
  if (s == CL_OK) s = want_absent(msg, "a payload", h->payload_bytes != 0, err);
  return s;
}

cl_status cl_frame_check(const cleave_Header *h, cl_error *err) {
  assert(h != NULL);
  if (h->version != CL_FRAME_VERSION)
    return cl_error_set(err, CL_ERR_PROTOCOL, "protocol version %" PRIu32 " (this side speaks %d)",
                        h->version, CL_FRAME_VERSION);
  char buf[16];
  const char *msg = cl_frame_type_name((int)h->type, buf, sizeof buf);
  cl_status s = CL_OK;
  switch (h->type) {
  case cleave_MsgType_MSG_HELLO:
    s = want_size(msg, "model_hash", h->model_hash.size, CL_FRAME_HASH_BYTES, 0, err);
    if (s == CL_OK) s = want_absent(msg, "a session", h->session.size != 0, err);
    break;
  case cleave_MsgType_MSG_WELCOME:
    s = want_size(msg, "session", h->session.size, CL_SESSION_ID_BYTES, 0, err);
    if (s == CL_OK) s = want_size(msg, "model_hash", h->model_hash.size, CL_FRAME_HASH_BYTES, 0, err);
    break;
  case cleave_MsgType_MSG_REQUEST:
  case cleave_MsgType_MSG_REPLY:
    s = check_handshake_fields(h, msg, err);
    return s == CL_OK ? check_data(h, msg, err) : s;
  case cleave_MsgType_MSG_BYE:
    s = want_size(msg, "session", h->session.size, CL_SESSION_ID_BYTES, 0, err);
    if (s == CL_OK && !h->insecure && h->seq == 0)
      s = cl_error_set(err, CL_ERR_PROTOCOL, "BYE: sealed message without sequence number");
    if (s == CL_OK && h->payload_bytes != (h->insecure ? 0 : CL_TAG_BYTES))
      s = cl_error_set(err, CL_ERR_PROTOCOL, "BYE: payload_bytes %llu (%d expected)",
                       (unsigned long long)h->payload_bytes, h->insecure ? 0 : CL_TAG_BYTES);
    if (s == CL_OK) s = want_absent(msg, "tensors", h->tensors_count != 0, err);
    return s == CL_OK ? check_handshake_fields(h, msg, err) : s;
  case cleave_MsgType_MSG_ERROR:
    if (h->error_code == 0) s = cl_error_set(err, CL_ERR_PROTOCOL, "ERROR without an error code");
    else if (h->error[0] == '\0') s = cl_error_set(err, CL_ERR_PROTOCOL, "ERROR without a reason");
    break;
  default:
    return cl_error_set(err, CL_ERR_PROTOCOL, "unknown message type %d", (int)h->type);
  }
  if (s == CL_OK) s = check_handshake_fields(h, msg, err);
  if (s == CL_OK) s = check_no_data(h, msg, err);
  return s;
}

/* === Errors and log text === */

void cl_frame_printable(const char *in, char *out, size_t cap) {
  assert(in != NULL && out != NULL && cap > 0);
  size_t i = 0;
  for (; in[i] != '\0' && i + 1 < cap; i++) {
    unsigned char ch = (unsigned char)in[i];
    out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  out[i] = '\0';
}

void cl_frame_error(cleave_Header *h, cl_status code, const char *reason, uint64_t request_id,
                    const uint8_t *session) {
  assert(h != NULL && reason != NULL && code != CL_OK);
  cl_frame_init(h, cleave_MsgType_MSG_ERROR);
  h->error_code = (uint32_t)code;
  cl_frame_printable(reason[0] ? reason : "refused", h->error, sizeof h->error);
  h->request_id = request_id;
  if (session) {
    h->session.size = CL_SESSION_ID_BYTES;
    memcpy(h->session.bytes, session, CL_SESSION_ID_BYTES);
  }
}

char *cl_frame_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
  return out;
}
