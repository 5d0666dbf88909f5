/* cleave tests: message packing (runtime/wire/message.c) on a small in-memory model: the sets of
 * every cut, encode -> seal -> decode -> check -> open -> decode round trips under several codecs,
 * and every check that refuses a header that does not match the graph or the payload. */
#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/exec.h"
#include "test_wire_model.h"
#include "wire/keys_internal.h"
#include "wire/message.h"

static cl_model_t *m;
static cl_exec_t *ex;
static cleave_Header h, d;
static uint8_t hdr[CL_FRAME_HEADER_CAP];
static cl_session dev, edge;   /* a matching pair of sessions */

static void setup(void) {
  cl_error err = {0};
  m = wire_test_model(&err);
  cr_assert_not_null(m, "%s", err.msg);
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  float x[4 * 6 * 6];
  for (int i = 0; i < 4 * 6 * 6; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  cl_tensor in = {.dtype = CL_DTYPE_F32, .rank = 4, .dims = {1, 4, 6, 6}, .data = x,
                  .nbytes = sizeof x};
  cr_assert_eq(cl_exec_set_input(ex, 0, &in, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_seal_init(), 0);
  memset(&dev, 0, sizeof dev);
  randombytes_buf(dev.tx_key, 32);
  randombytes_buf(dev.rx_key, 32);
  edge = dev;
  memcpy(edge.tx_key, dev.rx_key, 32);
  memcpy(edge.rx_key, dev.tx_key, 32);
}

static void teardown(void) {
  cl_exec_free(&ex);
  cl_model_free(&m);
}

TestSuite(message, .init = setup, .fini = teardown);

/* A sealed (or plain) request for cut k under codec name, ready in hdr/payload. */
typedef struct packed {
  cl_msg_set s;
  uint8_t *payload;
  size_t hdr_len, payload_len;
  void *scratch;
} packed;

static void pack(packed *p, int k, const char *codec, int sealed) {
  cl_error err = {0};
  cl_codec c;
  cr_assert_eq(cl_codec_parse(codec, &c, &err), CL_OK);
  cr_assert_eq(cl_msg_set_init(m, k, &p->s, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_run(ex, 0, k, &err), CL_OK);
  size_t cap = cl_msg_payload_bound(&p->s, &c), sc = cl_msg_scratch_bound_any(&p->s);
  p->payload = malloc(cap + 1);
  p->scratch = malloc(sc + 1);
  const void *src[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < p->s.count; i++) src[i] = cl_exec_buffer(ex, p->s.t[i].value, NULL);
  cl_frame_init(&h, cleave_MsgType_MSG_REQUEST);
  h.session.size = 16, h.model_hash.size = 32, h.request_id = 5, h.cut = k;
  size_t body = 0;
  cr_assert_eq(cl_msg_encode(&p->s, &c, src, &h, p->payload, cap, &body, p->scratch, &err), CL_OK,
               "%s", err.msg);
  cr_assert_eq(cl_msg_seal(sealed ? &dev : NULL, &h, hdr, sizeof hdr, &p->hdr_len, p->payload, body,
                           &p->payload_len, &err), CL_OK, "%s", err.msg);
  cr_assert_leq(p->payload_len, cap);
}

static void unpack_free(packed *p) {
  cl_msg_set_free(&p->s);
  free(p->payload);
  free(p->scratch);
}

/* The receiving side: decode, check, open, decode the tensors; compares with the executor. */
static void receive_and_compare(packed *p, int sealed, int exact) {
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(hdr, p->hdr_len, &d, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_msg_check(&p->s, &d, p->payload_len, sealed, &err), CL_OK, "%s", err.msg);
  if (sealed)
    cr_assert_eq(cl_msg_open(&edge, &d, hdr, p->hdr_len, p->payload, p->payload_len, &err), CL_OK,
                 "%s", err.msg);
  void *dst[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < p->s.count; i++) dst[i] = calloc(1, p->s.t[i].geo.nbytes + 1);
  cr_assert_eq(cl_msg_decode(&p->s, &d, p->payload, dst, p->scratch, &err), CL_OK, "%s", err.msg);
  for (int i = 0; i < p->s.count; i++) {
    const float *want = cl_exec_buffer(ex, p->s.t[i].value, NULL), *got = dst[i];
    size_t n = p->s.t[i].geo.nbytes / 4;
    for (size_t e = 0; e < n; e++)
      cr_assert(exact ? got[e] == want[e] : fabsf(got[e] - want[e]) <= 0.02f * (1 + fabsf(want[e])),
                "tensor %d element %zu: %g vs %g", i, e, got[e], want[e]);
    free(dst[i]);
  }
}

Test(message, sets_are_the_frontiers) {
  int n = cl_model_node_count(m);
  cr_assert_gt(n, 2);
  int two = 0, cl = 0;
  for (int k = 0; k <= n; k++) {
    cl_msg_set s;
    cl_error err = {0};
    cr_assert_eq(cl_msg_set_init(m, k, &s, &err), CL_OK, "%s", err.msg);
    int ids[8];
    cr_assert_eq(s.count, cl_model_frontier(m, k, ids, 8));
    for (int i = 0; i < s.count; i++) {
      cr_assert_eq(s.t[i].value, ids[i]);
      cl += s.t[i].layout == CL_LAYOUT_CHANNELS_LAST;
      const cl_codec_tensor *g = &s.t[i].geo;
      cr_assert_eq(g->outer * g->channels * g->inner * 4, g->nbytes, "cut %d tensor %d", k, i);
    }
    two += s.count >= 2;
    cl_msg_set_free(&s);
  }
  cr_expect_gt(two, 0, "a skip connection crosses some cut");
  cr_expect_gt(cl, 0, "some frontier is channels-last");
  cl_msg_set s;
  cl_error err = {0};
  cr_expect_eq(cl_msg_set_init(m, n + 1, &s, &err), CL_ERR_ARG);
  cr_expect_eq(cl_msg_set_init(m, -1, &s, NULL), CL_ERR_ARG);
}

Test(message, round_trips_at_every_cut_and_codec) {
  static const struct { const char *codec; int exact; } codecs[] = {
      {"raw", 1}, {"raw+nolz4", 1}, {"raw+shuffle", 1}, {"f16+shuffle", 0}, {"int8", 0},
      {"int8c+nolz4", 0}};
  for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++)
    for (int k = 0; k <= cl_model_node_count(m); k++)
      for (int sealed = 0; sealed < 2; sealed++) {
        packed p = {0};
        pack(&p, k, codecs[c].codec, sealed);
        receive_and_compare(&p, sealed, codecs[c].exact);
        unpack_free(&p);
      }
}

/* Decodes the packed header into d, applies edit, and expects cl_msg_check to refuse. */
static void expect_check_refuses(packed *p, void (*edit)(cleave_Header *), size_t len_delta,
                                 const char *text) {
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(hdr, p->hdr_len, &d, &err), CL_OK);
  if (edit) edit(&d);
  cr_expect_eq(cl_msg_check(&p->s, &d, p->payload_len + len_delta, 1, &err), CL_ERR_PROTOCOL);
  cr_expect(strstr(err.msg, text) != NULL, "'%s' lacks '%s'", err.msg, text);
}

static void e_count(cleave_Header *x) { x->tensors_count++; }
static void e_value(cleave_Header *x) { x->tensors[0].value += 1; }
static void e_dtype(cleave_Header *x) { x->tensors[0].dtype = CL_DTYPE_I64; }
static void e_rank(cleave_Header *x) { x->tensors[0].dims_count = 3; }
static void e_dim(cleave_Header *x) { x->tensors[0].dims[3] = 7; }
static void e_layout(cleave_Header *x) { x->tensors[0].layout ^= 1; }
static void e_bytes(cleave_Header *x) { x->tensors[0].encoded_bytes = UINT64_MAX; }
static void e_sum(cleave_Header *x) { x->payload_bytes += 1; }

Test(message, check_refuses_what_does_not_match) {
  packed p = {0};
  pack(&p, 1, "raw", 1);
  expect_check_refuses(&p, e_count, 0, "tensors for cut 1 (its frontier has");
  expect_check_refuses(&p, e_value, 0, "is value");
  expect_check_refuses(&p, e_dtype, 0, "has dtype 7 (float expected)");
  expect_check_refuses(&p, e_rank, 0, "has shape [1,4,6] ([1,4,6,6] expected)");   /* x */
  expect_check_refuses(&p, e_dim, 0, "has shape [1,4,6,7]");
  expect_check_refuses(&p, e_layout, 0, "has layout");
  expect_check_refuses(&p, e_bytes, 0, "claims 18446744073709551615 encoded bytes (at most");
  expect_check_refuses(&p, e_sum, 0, "but the tensors and the tag add up to");
  expect_check_refuses(&p, NULL, 1, "payload frame of");
  unpack_free(&p);
}

Test(message, tampering_and_replay_do_not_open) {
  packed p = {0};
  pack(&p, 2, "raw", 1);
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(hdr, p.hdr_len, &d, &err), CL_OK);
  cl_session saved = edge;
  p.payload[3] ^= 4;
  cr_expect_eq(cl_msg_open(&edge, &d, hdr, p.hdr_len, p.payload, p.payload_len, &err), CL_ERR_AUTH);
  cr_expect_eq(memcmp(&saved, &edge, sizeof edge), 0, "a forged message leaves the session as it was");
  unpack_free(&p);
  pack(&p, 2, "raw", 1);
  cr_assert_eq(cl_frame_decode(hdr, p.hdr_len, &d, &err), CL_OK);
  uint8_t *copy = malloc(p.payload_len);
  memcpy(copy, p.payload, p.payload_len);
  cl_error_clear(&err);
  cr_expect_eq(cl_msg_open(&edge, &d, hdr, p.hdr_len, p.payload, p.payload_len, &err), CL_OK, "%s",
               err.msg);
  cr_expect_eq(cl_msg_open(&edge, &d, hdr, p.hdr_len, copy, p.payload_len, &err), CL_ERR_AUTH);
  cr_expect(strstr(err.msg, "replayed message") != NULL, "%s", err.msg);
  cr_expect_eq(cl_msg_open(&edge, &d, hdr, p.hdr_len, copy, 15, NULL), CL_ERR_PROTOCOL);
  free(copy);
  unpack_free(&p);
}

Test(message, a_corrupt_block_is_a_format_error_not_a_crash) {
  packed p = {0};
  pack(&p, 0, "raw", 0);   /* plain: the codec sees the bytes as they are */
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(hdr, p.hdr_len, &d, &err), CL_OK);
  void *dst[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < p.s.count; i++) dst[i] = malloc(p.s.t[i].geo.nbytes);
  int refused = 0;
  for (size_t b = 0; b < p.payload_len; b++) {
    p.payload[b] ^= 0x5a;
    cl_error e = {0};
    cl_status st = cl_msg_decode(&p.s, &d, p.payload, dst, p.scratch, &e);
    cr_assert(st == CL_OK || st == CL_ERR_FORMAT, "%s", e.msg);
    refused += st == CL_ERR_FORMAT;
    p.payload[b] ^= 0x5a;
  }
  cr_expect_gt(refused, 0);
  for (int i = 0; i < p.s.count; i++) free(dst[i]);
  unpack_free(&p);
}

/* === Seeds for tests/fuzz/frame_fuzz.c ===
 * CLEAVE_FRAME_SEEDS=tests/fuzz/corpus/frame_fuzz build/tests/test_wire_message \
 *   --filter 'message/writes_fuzz_seeds' writes them (the test does nothing otherwise). */

static void write_seed(const char *dir, const char *name, int flags, size_t hdr_len,
                       const uint8_t *payload, size_t payload_len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  uint8_t head[3] = {(uint8_t)flags, (uint8_t)hdr_len, (uint8_t)(hdr_len >> 8)};
  fwrite(head, 1, 3, f);
  fwrite(hdr, 1, hdr_len, f);
  if (payload_len) fwrite(payload, 1, payload_len, f);
  cr_assert_eq(fclose(f), 0);
}

Test(message, writes_fuzz_seeds) {
  const char *dir = getenv("CLEAVE_FRAME_SEEDS");
  if (!dir) return;
  static const char *codecs[] = {"raw", "raw+nolz4", "f16+shuffle", "int8c"};
  char name[64];
  int n = cl_model_node_count(m);
  for (int k = 0; k <= n; k++)
    for (int c = 0; c < 4; c++) {
      packed p = {0};
      int sealed = c == 0 && k % 2;
      pack(&p, k, codecs[c], sealed);
      snprintf(name, sizeof name, "request-cut%d-%s%s", k, codecs[c], sealed ? "-sealed" : "");
      write_seed(dir, name, sealed, p.hdr_len, p.payload, p.payload_len);
      if (k == n && c == 0) {   /* the same tensors as a reply */
        h.type = cleave_MsgType_MSG_REPLY;
        cr_assert_eq(cl_frame_encode(&h, hdr, sizeof hdr, &p.hdr_len, NULL), CL_OK);
        write_seed(dir, "reply", 2 | sealed, p.hdr_len, p.payload, p.payload_len);
      }
      unpack_free(&p);
    }
  size_t len = 0;
  cl_frame_error(&h, CL_ERR_AUTH, "refused", 3, NULL);
  cr_assert_eq(cl_frame_encode(&h, hdr, sizeof hdr, &len, NULL), CL_OK);
  write_seed(dir, "error", 0, len, NULL, 0);
  cl_frame_init(&h, cleave_MsgType_MSG_HELLO);
  h.model_hash.size = 32, h.static_key.size = h.ephemeral_key.size = 32, h.proof.size = 16;
  cr_assert_eq(cl_frame_encode(&h, hdr, sizeof hdr, &len, NULL), CL_OK);
  write_seed(dir, "hello", 0, len, NULL, 0);
  cl_frame_init(&h, cleave_MsgType_MSG_BYE);
  h.session.size = 16, h.seq = 1, h.payload_bytes = 16;
  cr_assert_eq(cl_frame_encode(&h, hdr, sizeof hdr, &len, NULL), CL_OK);
  write_seed(dir, "bye", 1, len, (const uint8_t *)"0123456789abcdef", 16);
}
