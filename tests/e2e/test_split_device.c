/* cleave end-to-end: security of the split path, the device's side. The server's test hook tampers
 * with its replies; the device must refuse each with a clear error and go on. Also: what travels
 * is sealed (no plaintext tensor bytes in either direction). Model: openWakeWord's embedding. */
#include "security_util.h"

static harness h;
static cl_model_t *dev_model, *edge_model;
static cl_tensor input;
static int cut;
static tamper t;   /* the server's hook */

static void setup(void) {
  dev_model = load_case("oww_embedding", "real", &input);
  edge_model = load_again("oww_embedding", &input);
  cut = cl_model_node_count(dev_model) / 2;
  const cl_model_t *models[1] = {edge_model};
  harness_start(&h, models, 1, 0, 1);
  memset(&t, 0, sizeof t);
  t.type = cleave_MsgType_MSG_REPLY;
  cl_split_server_set_hook(h.srv, tamper_hook, &t);
}

static void teardown(void) {
  if (h.srv) {
    t.mode = T_NONE;
    expect_still_serving(&h, dev_model, &input, cut);
    harness_stop(&h);
  }
  free(t.payload);
  cl_model_free(&dev_model);
  cl_model_free(&edge_model);
  cl_tensor_release(&input);
}

TestSuite(device_side, .init = setup, .fini = teardown, .timeout = 120);

/* The device refuses the next reply (tampered by the server's hook as t says). */
static cl_status refused_reply(device *d, cl_error *e) {
  uint64_t id;
  cl_split_result res;
  cl_error err = {0};
  cr_assert_eq(device_submit(d, &id, &err), CL_OK, "%s", err.msg);
  cl_status st = device_receive(d, &res, e);
  if (cl_split_client_inflight(d->c) > 0) device_reconnect(d);
  return st;
}

Test(device_side, every_flipped_reply_header_bit_is_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  t.mode = T_RECORD, t.once = 1;
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  size_t bits = t.hdr_len * 8;
  int by_status[CL_ERR_CLOSED + 1] = {0};
  for (size_t b = 0; b < bits; b++) {
    t.mode = T_FLIP_HDR, t.bit = b, t.once = 1;
    cl_error e = {0};
    cl_status st = refused_reply(&d, &e);
    cr_assert_neq(st, CL_OK, "reply header bit %zu flipped: accepted", b);
    by_status[st]++;
  }
  cr_log_info("%zu reply header bits flipped: %d auth, %d protocol, %d format, %d timeout", bits,
              by_status[CL_ERR_AUTH], by_status[CL_ERR_PROTOCOL], by_status[CL_ERR_FORMAT],
              by_status[CL_ERR_TIMEOUT]);
  cr_expect_eq(by_status[CL_ERR_TIMEOUT], 0, "every tampered reply is refused at once");
  cr_expect_gt(by_status[CL_ERR_AUTH], 0);
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  device_close(&d);
}

Test(device_side, flipped_reply_payload_bits_are_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  t.mode = T_RECORD, t.once = 1;
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  size_t bits = t.payload_len * 8;
  for (size_t b = 0; b < bits; b += 7) {
    t.mode = T_FLIP_PAYLOAD, t.bit = b, t.once = 1;
    cl_error e = {0};
    cr_assert_eq(refused_reply(&d, &e), CL_ERR_AUTH, "bit %zu: %s", b, e.msg);
    cr_assert(strstr(e.msg, "does not authenticate") != NULL, "%s", e.msg);
  }
  t.mode = T_TRUNC_PAYLOAD, t.bit = 1, t.once = 1;
  cl_error e = {0};
  cr_expect_eq(refused_reply(&d, &e), CL_ERR_PROTOCOL, "%s", e.msg);
  cr_expect(strstr(e.msg, "payload frame of") != NULL, "%s", e.msg);
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  device_close(&d);
}

Test(device_side, a_replayed_reply_is_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  t.mode = T_RECORD, t.once = 1;
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  t.mode = T_SWAP, t.once = 1;            /* the next reply is the first one again */
  cl_error e = {0};
  cr_expect_eq(refused_reply(&d, &e), CL_ERR_AUTH, "%s", e.msg);
  cr_expect(strstr(e.msg, "replayed message") != NULL, "%s", e.msg);
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  device_close(&d);
}

/* 1 when some 16-byte window of plain (at 64 spread offsets) occurs in sealed. */
static int holds_plaintext(const uint8_t *sealed, size_t n, const uint8_t *plain, size_t m) {
  for (int k = 0; k < 64 && m >= 16; k++) {
    const uint8_t *w = plain + (m - 16) / 63 * (size_t)k;
    if (memmem(sealed, n, w, 16)) return 1;
  }
  return 0;
}

Test(device_side, what_travels_is_sealed) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw+nolz4", 2000);
  tamper up = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &up);
  t.mode = T_RECORD, t.once = 1;
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  int ids[8], n = cl_model_frontier(dev_model, cut, ids, 8);
  cr_assert_gt(n, 0);
  size_t len = 0;
  const uint8_t *frontier = cl_exec_buffer(d.ex, ids[0], &len);
  cr_assert_gt(len, 64);
  cr_expect_not(holds_plaintext(up.payload, up.payload_len, frontier, len),
                "the request payload holds frontier bytes in clear");
  cr_expect_not(holds_plaintext(t.payload, t.payload_len, d.out[0].data, d.out[0].nbytes),
                "the reply payload holds output bytes in clear");
  cr_expect_eq(up.payload_len, len + CL_TAG_BYTES, "raw+nolz4: the bytes plus the tag");
  free(up.payload);
  device_close(&d);
}
