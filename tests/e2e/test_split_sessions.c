/* cleave end-to-end: the edge's sessions (docs/SECURITY.md, section 8): bounded per device key,
 * closed by BYE or when idle, never taken from a working device by a replayed HELLO. */
#include <time.h>

#include "security_util.h"

static cl_model_t *dev_model, *edge_model;
static cl_tensor input;
static int cut;

static void setup(void) {
  dev_model = load_case("oww_embedding", "real", &input);
  edge_model = load_again("oww_embedding", &input);
  cut = cl_model_node_count(dev_model) / 2;
}

static void teardown(void) {
  cl_model_free(&dev_model);
  cl_model_free(&edge_model);
  cl_tensor_release(&input);
}

TestSuite(sessions, .init = setup, .fini = teardown, .timeout = 60);

static void start(harness *h, int per_key, int idle_ms) {
  const cl_model_t *models[1] = {edge_model};
  cl_split_server_options o = {.workers = 2, .max_sessions_per_key = per_key,
                               .session_idle_ms = idle_ms};
  harness_start_with(h, models, 1, &o);
}

/* Waits (up to 3 s) until the server holds `want` sessions. */
static void wait_sessions(harness *h, uint64_t want) {
  for (int i = 0; i < 300 && harness_stats(h).sessions != want; i++)
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  cr_expect_eq(harness_stats(h).sessions, want);
}

Test(sessions, bounded_per_device_key_and_freed_by_bye) {
  harness h;
  start(&h, 4, 60000);
  device d[4];
  cl_error err = {0};
  for (int i = 0; i < 4; i++) {
    device_open(&d[i], &h, dev_model, &input, cut, "raw", 2000);
    cr_assert_eq(device_run(&d[i], &err), CL_OK, "%s", err.msg);
  }
  cl_split_client_options o = harness_client_options(&h, cut, "raw");
  cl_split_client_t *c = NULL;
  cr_assert_eq(cl_split_client_connect(dev_model, &o, &c, &err), CL_ERR_LIMIT, "%s", err.msg);
  cr_expect(strstr(err.msg, "too many sessions for this device key") != NULL, "%s", err.msg);
  cr_expect(harness_log_has(&h, "too many sessions"), "%s", h.log);
  device_close(&d[0]);                    /* BYE */
  wait_sessions(&h, 3);
  cl_error e2 = {0};
  cr_assert_eq(cl_split_client_connect(dev_model, &o, &c, &e2), CL_OK, "%s", e2.msg);
  cl_split_client_free(&c);
  for (int i = 1; i < 4; i++) {
    cr_expect_eq(device_run(&d[i], &err), CL_OK, "%s", err.msg);
    device_close(&d[i]);
  }
  wait_sessions(&h, 0);
  harness_stop(&h);
}

Test(sessions, replayed_hellos_never_take_a_working_session) {
  harness h;
  start(&h, 4, 60000);
  device d[2];
  cl_error err = {0};
  for (int i = 0; i < 2; i++) {
    device_open(&d[i], &h, dev_model, &input, cut, "raw", 2000);
    cr_assert_eq(device_run(&d[i], &err), CL_OK, "%s", err.msg);
  }
  /* A HELLO of this device key, as an attacker would have recorded it off the wire. */
  static cleave_Header x;
  cl_handshake hs;
  cl_frame_init(&x, cleave_MsgType_MSG_HELLO);
  x.model_hash.size = 32;
  memcpy(x.model_hash.bytes, cl_model_hash(dev_model), 32);
  x.static_key.size = x.ephemeral_key.size = CL_KEY_BYTES, x.proof.size = CL_PROOF_BYTES;
  memcpy(x.static_key.bytes, h.dev_key.pk, CL_KEY_BYTES);
  cr_assert_eq(cl_handshake_hello(&hs, &h.dev_key, h.edge_key.pk, x.ephemeral_key.bytes,
                                  x.proof.bytes, &err), CL_OK);
  sodium_memzero(&hs, sizeof hs);
  struct { uint8_t hdr[CL_FRAME_HEADER_CAP]; size_t hdr_len; } hello;
  cr_assert_eq(cl_frame_encode(&x, hello.hdr, sizeof hello.hdr, &hello.hdr_len, NULL), CL_OK);
  raw_peer p;
  raw_open(&p, cl_split_server_endpoint(h.srv));
  int welcomed = 0;
  for (int i = 0; i < 20; i++) {          /* an attacker replays it: sessions it cannot use */
    const void *frames[2] = {hello.hdr, ""};
    size_t lens[2] = {hello.hdr_len, 0};
    raw_send(&p, frames, lens, 2);
    static cleave_Header ans;
    raw_receive(&p, &ans);
    welcomed += ans.type == cleave_MsgType_MSG_WELCOME;
  }
  raw_close(&p);
  cr_expect_eq(welcomed, 20, "replayed HELLOs are answered (they replace each other)");
  cr_expect_leq(harness_stats(&h).sessions, 4);
  for (int i = 0; i < 2; i++) {
    cr_expect_eq(device_run(&d[i], &err), CL_OK, "device %d lost its session: %s", i, err.msg);
    device_close(&d[i]);
  }
  harness_stop(&h);
}

Test(sessions, idle_sessions_expire) {
  harness h;
  start(&h, 8, 300);
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  wait_sessions(&h, 0);                   /* idle 300 ms; the sweep runs every second */
  cr_expect_eq(device_run(&d, &err), CL_ERR_PROTOCOL);
  cr_expect(strstr(err.msg, "unknown or expired session") != NULL, "%s", err.msg);
  cr_expect(harness_log_has(&h, "idle session"), "%s", h.log);
  device_close(&d);
  harness_stop(&h);
}
