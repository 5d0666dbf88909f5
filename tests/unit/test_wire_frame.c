/* cleave tests: the wire header (runtime/wire/frame.c): encode/decode round trips of every message
 * type, the 64 KiB bound (refused before decoding), nanopb's field bounds, every structural check,
 * every truncation, and the text of refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "cleave/seal.h"
#include "wire/frame.h"

static cleave_Header h, d;   /* large: not on the stack */
static uint8_t buf[CL_FRAME_MAX_HEADER + 1024];

static void fill_bytes(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + 7 * i);
}

/* A REQUEST with every field at its largest. */
static void largest_request(cleave_Header *x) {
  cl_frame_init(x, cleave_MsgType_MSG_REQUEST);
  x->session.size = CL_SESSION_ID_BYTES;
  fill_bytes(x->session.bytes, CL_SESSION_ID_BYTES, 1);
  x->model_hash.size = CL_FRAME_HASH_BYTES;
  fill_bytes(x->model_hash.bytes, CL_FRAME_HASH_BYTES, 2);
  x->seq = UINT64_MAX, x->request_id = UINT64_MAX, x->cut = INT32_MAX;
  x->payload_bytes = UINT64_MAX;
  x->tensors_count = CL_FRAME_MAX_TENSORS;
  for (int i = 0; i < CL_FRAME_MAX_TENSORS; i++) {
    cleave_TensorDesc *t = &x->tensors[i];
    t->value = INT32_MIN, t->dtype = INT32_MIN, t->layout = INT32_MIN;
    t->dims_count = CL_MAX_RANK;
    for (int k = 0; k < CL_MAX_RANK; k++) t->dims[k] = INT64_MIN;
    t->codec = cleave_Codec_CODEC_INT8_CHANNEL, t->shuffle = t->lz4 = 1;
    t->encoded_bytes = UINT64_MAX;
  }
  x->worker_decode_us = x->worker_compute_us = x->worker_encode_us = UINT64_MAX;
}

static void hello(cleave_Header *x) {
  cl_frame_init(x, cleave_MsgType_MSG_HELLO);
  x->model_hash.size = CL_FRAME_HASH_BYTES;
  x->static_key.size = x->ephemeral_key.size = CL_KEY_BYTES;
  x->proof.size = CL_PROOF_BYTES;
  fill_bytes(x->static_key.bytes, CL_KEY_BYTES, 3);
}

static size_t encode(const cleave_Header *x) {
  size_t len = 0;
  cl_error err = {0};
  cr_assert_eq(cl_frame_encode(x, buf, sizeof buf, &len, &err), CL_OK, "%s", err.msg);
  return len;
}

static void expect_refused(const cleave_Header *x, cl_status want, const char *text) {
  size_t len = encode(x);
  cl_error err = {0};
  cr_expect_eq(cl_frame_decode(buf, len, &d, &err), want, "%s", err.msg);
  cr_expect(strstr(err.msg, text) != NULL, "'%s' lacks '%s'", err.msg, text);
}

Test(frame, the_largest_header_round_trips_within_its_cap) {
  largest_request(&h);
  size_t len = encode(&h);
  cr_expect_leq(len, CL_FRAME_HEADER_CAP);
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(buf, len, &d, &err), CL_OK, "%s", err.msg);
  cr_expect_eq(memcmp(&h, &d, sizeof h), 0, "decoded differs");
  size_t small = 0;
  cr_expect_eq(cl_frame_encode(&h, buf, len - 1, &small, &err), CL_ERR_LIMIT);
}

Test(frame, every_type_round_trips) {
  cleave_Header x;
  hello(&x);
  size_t len = encode(&x);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_OK);
  cr_expect_eq(memcmp(&x, &d, sizeof x), 0);
  cl_frame_init(&x, cleave_MsgType_MSG_WELCOME);
  x.session.size = 16, x.model_hash.size = 32, x.ephemeral_key.size = 32, x.proof.size = 16;
  len = encode(&x);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_OK);
  cl_frame_error(&x, CL_ERR_AUTH, "no\nway\x01", 42, NULL);
  cr_expect_str_eq(x.error, "no?way?");
  len = encode(&x);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_OK);
  cr_expect_eq(d.request_id, 42);
  cl_frame_init(&x, cleave_MsgType_MSG_BYE);
  x.session.size = 16, x.seq = 3, x.payload_bytes = CL_TAG_BYTES;
  len = encode(&x);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_OK);
  x.insecure = 1, x.seq = 0, x.payload_bytes = 0;
  len = encode(&x);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_OK);
}

Test(frame, more_than_64_KiB_is_refused_before_decoding) {
  hello(&h);
  size_t len = encode(&h);
  /* pad with an unknown field (number 99, bytes) up to exactly 64 KiB: still a valid header */
  size_t pad = CL_FRAME_MAX_HEADER - len - 5;
  buf[len] = (uint8_t)(((99 << 3 | 2) & 0x7f) | 0x80), buf[len + 1] = (99 << 3) >> 7;
  buf[len + 2] = (uint8_t)(pad & 0x7f) | 0x80, buf[len + 3] = (uint8_t)((pad >> 7) & 0x7f) | 0x80;
  buf[len + 4] = (uint8_t)(pad >> 14);
  memset(buf + len + 5, 0, pad);
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(buf, CL_FRAME_MAX_HEADER, &d, &err), CL_OK, "%s", err.msg);
  cl_error_clear(&err);
  cr_expect_eq(cl_frame_decode(buf, CL_FRAME_MAX_HEADER + 1, &d, &err), CL_ERR_LIMIT);
  cr_expect_str_eq(err.msg, "header of 65537 bytes refused (at most 65536)");
  cl_error_clear(&err);
  cr_expect_eq(cl_frame_decode(buf, 0, &d, &err), CL_ERR_FORMAT);
  cr_expect_str_eq(err.msg, "empty header frame");
}

Test(frame, every_truncation_is_refused_or_well_formed) {
  largest_request(&h);
  size_t len = encode(&h);
  int ok = 0;
  for (size_t n = 1; n < len; n++) {   /* a prefix ending between fields is a smaller header */
    cl_error err = {0};
    cl_status st = cl_frame_decode(buf, n, &d, &err);
    cr_assert(st == CL_OK || st == CL_ERR_FORMAT || st == CL_ERR_PROTOCOL, "prefix %zu", n);
    cr_assert_eq(st == CL_OK, err.msg[0] == '\0', "prefix %zu: %s", n, err.msg);
    if (st == CL_OK) {
      cr_assert_neq(memcmp(&d, &h, sizeof d), 0, "prefix %zu decodes to the whole", n);
      ok++;
    }
  }
  cr_expect_lt(ok, 80, "most prefixes are refused (%d decoded)", ok);
}

Test(frame, nanopb_bounds_are_enforced) {
  static const struct { uint8_t field; size_t n; } over[] = {
      {3, 17}, {6, 33}, {10, 33}, {11, 33}, {12, 17}, {14, 256}};
  for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
    hello(&h);
    size_t len = encode(&h);
    buf[len] = (uint8_t)(over[i].field << 3 | 2);
    buf[len + 1] = (uint8_t)(over[i].n & 0x7f) | (over[i].n > 127 ? 0x80 : 0);
    size_t at = len + 2;
    if (over[i].n > 127) buf[at++] = (uint8_t)(over[i].n >> 7);
    memset(buf + at, 'a', over[i].n);
    cl_error err = {0};
    cr_expect_eq(cl_frame_decode(buf, at + over[i].n, &d, &err), CL_ERR_FORMAT, "field %d",
                 over[i].field);
  }
  largest_request(&h);   /* a 65th tensor, a 9th dim */
  size_t len = encode(&h);
  static const uint8_t desc[] = {0x42, 0x02, 0x08, 0x01};
  memcpy(buf + len, desc, sizeof desc);
  cl_error err = {0};
  cr_expect_eq(cl_frame_decode(buf, len + sizeof desc, &d, &err), CL_ERR_FORMAT, "%s", err.msg);
  h.tensors_count = 1;   /* a tensor with 9 dims (packed field 3 of 9 elements) */
  len = encode(&h);
  static const uint8_t nine[] = {0x42, 0x0b, 0x1a, 0x09, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  memcpy(buf + len, nine, sizeof nine);
  cl_error_clear(&err);
  cr_expect_eq(cl_frame_decode(buf, len + sizeof nine, &d, &err), CL_ERR_FORMAT, "%s", err.msg);
}

Test(frame, structural_checks_name_the_field) {
  hello(&h), h.version = 2;
  expect_refused(&h, CL_ERR_PROTOCOL, "protocol version 2 (this side speaks 1)");
  hello(&h), h.type = (cleave_MsgType)9;
  expect_refused(&h, CL_ERR_PROTOCOL, "unknown message type 9");
  hello(&h), h.static_key.size = 31;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO: static_key is 31 bytes (32 expected)");
  hello(&h), h.proof.size = 0;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO: proof is missing");
  hello(&h), h.model_hash.size = 20;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO: model_hash is 20 bytes");
  hello(&h), h.session.size = 16;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO must not carry a session");
  hello(&h), h.insecure = 1;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO must not carry keys or proofs (insecure)");
  hello(&h), h.tensors_count = 1;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO must not carry tensors");
  hello(&h), h.payload_bytes = 5;
  expect_refused(&h, CL_ERR_PROTOCOL, "HELLO must not carry a payload");
  largest_request(&h), h.session.size = 15;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST: session is 15 bytes (16 expected)");
  largest_request(&h), h.request_id = 0;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST: request_id 0");
  largest_request(&h), h.cut = -1;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST: negative cut -1");
  largest_request(&h), h.seq = 0;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST: sealed message without sequence number");
  largest_request(&h), h.tensors[63].codec = (cleave_Codec)4;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST: tensor 63 has unknown codec 4");
  largest_request(&h), h.proof.size = 16;
  expect_refused(&h, CL_ERR_PROTOCOL, "REQUEST must not carry keys or proofs");
  cl_frame_init(&h, cleave_MsgType_MSG_ERROR);
  expect_refused(&h, CL_ERR_PROTOCOL, "ERROR without an error code");
  h.error_code = 3;
  expect_refused(&h, CL_ERR_PROTOCOL, "ERROR without a reason");
  cl_frame_init(&h, cleave_MsgType_MSG_BYE);
  h.session.size = 16, h.seq = 1, h.payload_bytes = 99;
  expect_refused(&h, CL_ERR_PROTOCOL, "BYE: payload_bytes 99 (16 expected)");
}

Test(frame, a_malformed_header_keeps_what_decoded) {
  largest_request(&h);
  h.request_id = 77, h.cut = -3;
  size_t len = encode(&h);
  cr_assert_eq(cl_frame_decode(buf, len, &d, NULL), CL_ERR_PROTOCOL);
  cr_expect_eq(d.request_id, 77, "the refusal can name the request");
  buf[0] ^= 0xff;   /* no longer protobuf */
  cl_status st = cl_frame_decode(buf, len, &d, NULL);
  cr_assert(st == CL_ERR_FORMAT || st == CL_ERR_PROTOCOL);
  if (st == CL_ERR_FORMAT) cr_expect_eq(d.request_id, 0, "zeroed");
}

Test(frame, log_text_helpers) {
  char out[8], hex[9];
  cl_frame_printable("ab\x1b[31mcdefgh", out, sizeof out);
  cr_expect_str_eq(out, "ab?[31m");
  cr_expect_str_eq(cl_frame_hex((const uint8_t *)"\x01\xab\xff\x10", 4, hex), "01abff10");
  char tb[16];
  cr_expect_str_eq(cl_frame_type_name(4, tb, sizeof tb), "REPLY");
  cr_expect_str_eq(cl_frame_type_name(42, tb, sizeof tb), "type 42");
}
