/* cleave fuzzer: the frame decoder, as the edge runs it on what a peer sends. Input:
 *   byte 0         flags: bit 0 sealed (the message is opened with a fixed session first, so
 *                  only the checks before the seal are reachable), bit 1 read as a device reads a
 *                  reply (the frontier of n) rather than as the edge reads a request
 *   bytes 1..2     header length L, little-endian
 *   bytes 3..3+L   the header frame; the rest is the payload frame
 * Then: cl_frame_decode (64 KiB bound, nanopb, structure), for REQUEST/REPLY the set of the
 * header's cut in a small model (tests/unit/test_wire_model.h), cl_msg_check, cl_msg_open when
 * sealed, cl_msg_decode into an executor's buffers, and the run of [cut, n) on what was decoded.
 * Invariants checked: every refusal has a message; a header that decodes re-encodes to a header
 * that decodes to the same thing. Seeds: tests/fuzz/corpus/frame_fuzz/ (written by
 * CLEAVE_FRAME_SEEDS=DIR build/tests/test_wire_message --filter 'message/writes_fuzz_seeds'). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test_wire_model.h"
#include "cleave/exec.h"
#include "wire/message.h"

static cl_model_t *model;
static cl_exec_t *ex;
static cl_msg_set *sets;   /* every cut */
static int n_nodes;
static void *scratch;
static cl_session fixed;   /* the edge's session for sealed inputs */
static cleave_Header h, again;
static uint8_t reencoded[CL_FRAME_HEADER_CAP];

static void init(void) {
  cl_error err = {0};
  model = wire_test_model(&err);
  cl_exec_options eo = {.threads = 1};
  if (!model || cl_exec_create(model, &eo, &ex, &err) != CL_OK) abort();
  n_nodes = cl_model_node_count(model);
  sets = calloc((size_t)n_nodes + 1, sizeof *sets);
  size_t sc = 1;
  for (int k = 0; k <= n_nodes; k++) {
    if (cl_msg_set_init(model, k, &sets[k], &err) != CL_OK) abort();
    size_t x = cl_msg_scratch_bound_any(&sets[k]);
    if (x > sc) sc = x;
  }
  scratch = malloc(sc);
  memset(&fixed, 0x5c, sizeof fixed);
  fixed.rx_max = 0;
  memset(fixed.rx_seen, 0, sizeof fixed.rx_seen);
}

static void must_have_message(cl_status st, const cl_error *err) {
  if (st != CL_OK && err->msg[0] == '\0') abort();
}

/* A decoded header encodes again (within the cap) to bytes that decode and encode to the same
 * bytes: one canonical form. (Structs are not compared: a string with a NUL inside loses its
 * tail on encoding, harmlessly.) */
static void check_round_trip(void) {
  static uint8_t twice[CL_FRAME_HEADER_CAP];
  size_t len = 0, len2 = 0;
  if (cl_frame_encode(&h, reencoded, sizeof reencoded, &len, NULL) != CL_OK) abort();
  if (cl_frame_decode(reencoded, len, &again, NULL) != CL_OK) abort();
  if (cl_frame_encode(&again, twice, sizeof twice, &len2, NULL) != CL_OK) abort();
  if (len != len2 || memcmp(reencoded, twice, len) != 0) abort();
}

static void data_message(const uint8_t *hdr, size_t hl, uint8_t *payload, size_t pl, int sealed,
                         int as_reply) {
  cl_error err = {0};
  if (h.cut > n_nodes) return;
  const cl_msg_set *s = &sets[as_reply ? n_nodes : h.cut];
  cl_status st = cl_msg_check(s, &h, pl, sealed, &err);
  must_have_message(st, &err);
  if (st != CL_OK) return;
  if (sealed) {
    cl_session sess = fixed;
    st = cl_msg_open(&sess, &h, hdr, hl, payload, pl, &err);
    must_have_message(st, &err);
    if (st != CL_OK) return;
  }
  void *dst[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < s->count; i++) dst[i] = cl_exec_buffer(ex, s->t[i].value, NULL);
  st = cl_msg_decode(s, &h, payload, dst, scratch, &err);
  must_have_message(st, &err);
  if (st == CL_OK && !as_reply && cl_exec_run(ex, (int)h.cut, n_nodes, &err) != CL_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!model) init();
  if (size < 3) return 0;
  int sealed = data[0] & 1, as_reply = (data[0] >> 1) & 1;
  size_t hl = (size_t)data[1] | (size_t)data[2] << 8;
  if (hl > size - 3) hl = size - 3;
  const uint8_t *hdr = data + 3;
  size_t pl = size - 3 - hl;
  uint8_t *payload = malloc(pl + 1);   /* writable, as a received frame is (opened in place) */
  if (pl) memcpy(payload, hdr + hl, pl);
  cl_error err = {0};
  cl_status st = cl_frame_decode(hdr, hl, &h, &err);
  must_have_message(st, &err);
  if (st == CL_OK) {
    check_round_trip();
    if (h.type == cleave_MsgType_MSG_REQUEST || h.type == cleave_MsgType_MSG_REPLY)
      data_message(hdr, hl, payload, pl, sealed, as_reply);
  }
  free(payload);
  return 0;
}
