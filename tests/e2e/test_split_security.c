/* cleave end-to-end: security of the split path, the edge's side. Each scenario sends something
 * wrong to a server on loopback TCP and checks that it is refused with a clear error on both sides
 * (the device's status and message, the edge's log line), that the session is unharmed where it
 * should be, and that the edge goes on serving a good device afterwards. Model: openWakeWord's
 * embedding (48 nodes, fast), cut in the middle. */
#include "security_util.h"

static harness h;
static cl_model_t *dev_model, *edge_model;
static cl_tensor input;
static int cut;

static void setup(void) {
  dev_model = load_case("oww_embedding", "real", &input);
  edge_model = load_again("oww_embedding", &input);
  cut = cl_model_node_count(dev_model) / 2;
  const cl_model_t *models[1] = {edge_model};
  harness_start(&h, models, 1, 0, 2);
}

static void teardown(void) {
  if (h.srv) {
    expect_still_serving(&h, dev_model, &input, cut);
    harness_stop(&h);
  }
  cl_model_free(&dev_model);
  cl_model_free(&edge_model);
  cl_tensor_release(&input);
}

TestSuite(security, .init = setup, .fini = teardown, .timeout = 120);

/* A device with a key pair of its own (not in the allow-list), or pinning another edge key. */
static cl_status connect_with(const cl_keypair *key, const uint8_t *edge_pk, int insecure,
                              cl_error *err) {
  cl_split_client_options o = harness_client_options(&h, cut, "raw");
  o.key = insecure ? NULL : key;
  o.edge_pk = insecure ? NULL : edge_pk;
  o.insecure = insecure;
  o.timeout_ms = 3000;
  cl_split_client_t *c = NULL;
  cl_status st = cl_split_client_connect(dev_model, &o, &c, err);
  cl_split_client_free(&c);
  return st;
}

Test(security, a_device_not_in_the_allow_list_is_refused) {
  cl_keypair stranger = harness_keypair();
  cl_error err = {0};
  cr_assert_eq(connect_with(&stranger, h.edge_key.pk, 0, &err), CL_ERR_AUTH, "%s", err.msg);
  cr_expect(strstr(err.msg, "not in the allow-list") != NULL, "%s", err.msg);
  cr_expect(harness_log_has(&h, "refused HELLO"), "%s", h.log);
  cr_expect(harness_log_has(&h, "is not in the allow-list"), "%s", h.log);
  cr_expect_eq(harness_stats(&h).handshakes, 0);
}

Test(security, a_device_pinning_another_edge_key_is_refused) {
  cl_keypair other = harness_keypair();
  cl_error err = {0};
  cr_assert_eq(connect_with(&h.dev_key, other.pk, 0, &err), CL_ERR_AUTH, "%s", err.msg);
  cr_expect(strstr(err.msg, "HELLO proof does not verify") != NULL, "%s", err.msg);
  cr_expect(harness_log_has(&h, "HELLO proof does not verify"), "%s", h.log);
}

Test(security, insecure_devices_are_refused_by_a_secure_edge) {
  cl_error err = {0};
  cr_assert_eq(connect_with(NULL, NULL, 1, &err), CL_ERR_AUTH, "%s", err.msg);
  cr_expect(strstr(err.msg, "--insecure") != NULL, "%s", err.msg);
  cr_expect(harness_log_has(&h, "the device runs --insecure but this edge does not"), "%s", h.log);
}

Test(security, a_secure_device_is_refused_by_an_insecure_edge) {
  harness open_edge;
  const cl_model_t *models[1] = {edge_model};
  harness_start(&open_edge, models, 1, 1, 1);
  cl_split_client_options o = harness_client_options(&open_edge, cut, "raw");
  o.key = &h.dev_key;
  o.edge_pk = h.edge_key.pk;
  cl_split_client_t *c = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(dev_model, &o, &c, &err), CL_ERR_AUTH, "%s", err.msg);
  cr_expect(harness_log_has(&open_edge, "this edge runs --insecure but the device does not"));
  o.key = NULL, o.edge_pk = NULL, o.insecure = 1;   /* both insecure: served, unsealed */
  cr_assert_eq(cl_split_client_connect(dev_model, &o, &c, &err), CL_OK, "%s", err.msg);
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = 1};
  cl_tensor out;
  cr_assert_eq(cl_exec_create(dev_model, &eo, &ex, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(dev_model, &out, 1, &err), CL_OK);
  cr_assert_eq(harness_split_run(c, ex, &input, cut, &out, 1, NULL, &err), CL_OK, "%s", err.msg);
  cl_split_client_free(&c);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
  harness_stop(&open_edge);
}

Test(security, every_flipped_header_bit_is_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 5000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  size_t bits = t.hdr_len * 8;
  int by_status[CL_ERR_CLOSED + 1] = {0}, unnamed = 0;
  for (size_t b = 0; b < bits; b++) {
    t.mode = T_FLIP_HDR, t.bit = b;
    uint64_t id;
    cl_split_result res;
    cr_assert_eq(device_submit(&d, &id, &err), CL_OK, "%s", err.msg);
    cl_error e = {0};
    cl_status st = device_receive(&d, &res, &e);
    cr_assert_neq(st, CL_OK, "header bit %zu flipped: served", b);
    by_status[st]++;
    if (cl_split_client_inflight(d.c) > 0) unnamed++, device_reconnect(&d);
  }
  cr_log_info("%zu header bits flipped: %d auth, %d protocol, %d format, %d other; %d refusals "
              "could not name the request", bits, by_status[CL_ERR_AUTH],
              by_status[CL_ERR_PROTOCOL], by_status[CL_ERR_FORMAT],
              (int)bits - by_status[CL_ERR_AUTH] - by_status[CL_ERR_PROTOCOL] -
                  by_status[CL_ERR_FORMAT], unnamed);
  cr_expect_gt(by_status[CL_ERR_AUTH], 0);
  cr_expect_geq(harness_stats(&h).refused, bits);
  cr_expect_eq(device_run(&d, &err), CL_OK, "the session did not survive: %s", err.msg);
  free(t.payload);
  device_close(&d);
}

Test(security, flipped_payload_bits_are_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  size_t bits = t.payload_len * 8, pos[96];
  int n = 0;
  for (size_t i = 0; i < 8; i++) pos[n++] = i, pos[n++] = bits - 1 - i;   /* first byte, tag */
  for (size_t i = 1; n < 96; i++) pos[n++] = bits / 81 * i + i % 8;        /* spread over the rest */
  for (int i = 0; i < n; i++) {
    t.mode = T_FLIP_PAYLOAD, t.bit = pos[i], t.once = 1;
    expect_refused(&h, &d, CL_ERR_AUTH, "does not authenticate");
  }
  cr_log_info("%d payload bits of %zu flipped (the first byte, the tag, spread): all refused", n,
              bits);
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  free(t.payload);
  device_close(&d);
}

Test(security, a_replayed_request_is_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  const void *frames[2] = {t.hdr, t.payload};
  size_t lens[2] = {t.hdr_len, t.payload_len};
  cr_assert_eq(cl_split_client_send_raw(d.c, frames, lens, 2, &err), CL_OK);
  int refused = 0, served = 0;
  for (int i = 0; i < 6 && (!refused || !served); i++) {   /* good requests, after the replay */
    uint64_t id;
    if (cl_split_client_inflight(d.c) == 0) cr_assert_eq(device_submit(&d, &id, &err), CL_OK);
    cl_split_result res;
    cl_error e = {0};
    if (device_receive(&d, &res, &e) == CL_OK) {
      served++;
    } else {
      refused++;
      cr_expect(strstr(e.msg, "replayed message") != NULL, "device said: %s", e.msg);
      cr_expect_eq(e.status, CL_ERR_AUTH);
    }
  }
  cr_expect_eq(refused, 1);
  cr_expect_eq(served, 1);
  cr_expect(harness_log_has(&h, "replayed message"), "%s", h.log);
  free(t.payload);
  device_close(&d);
}

Test(security, a_request_replayed_from_another_connection_is_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  raw_peer p;
  raw_open(&p, cl_split_server_endpoint(h.srv));
  const void *frames[2] = {t.hdr, t.payload};
  size_t lens[2] = {t.hdr_len, t.payload_len};
  raw_send(&p, frames, lens, 2);
  static cleave_Header ans;
  raw_receive(&p, &ans);
  cr_expect_eq(ans.type, cleave_MsgType_MSG_ERROR);
  cr_expect_eq(ans.error_code, CL_ERR_AUTH);
  cr_expect(strstr(ans.error, "another connection") != NULL, "%s", ans.error);
  raw_close(&p);
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  free(t.payload);
  device_close(&d);
}

Test(security, another_model_is_refused) {
  cl_tensor other_in = {0};
  cl_model_t *other = load_case("mobilenetv2", "real", &other_in);
  cl_split_client_options o = harness_client_options(&h, 3, "raw");
  cl_split_client_t *c = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(other, &o, &c, &err), CL_ERR_PROTOCOL, "%s", err.msg);
  cr_expect(strstr(err.msg, "is not served here") != NULL, "%s", err.msg);
  cl_model_free(&other);
  cl_tensor_release(&other_in);
}

static void edit_hash(cleave_Header *x) { x->model_hash.bytes[5] ^= 0x40; }
static void edit_cut(cleave_Header *x) { x->cut = 1 << 30; }
static void edit_bytes(cleave_Header *x) { x->tensors[0].encoded_bytes = (uint64_t)1 << 60; }
static void edit_payload_bytes(cleave_Header *x) { x->payload_bytes = (uint64_t)1 << 62; }
static void edit_dims(cleave_Header *x) { x->tensors[0].dims[1] = (int64_t)1 << 40; }
static void edit_count(cleave_Header *x) { x->tensors_count--; }
static void edit_value(cleave_Header *x) { x->tensors[0].value = 99999; }
static void edit_version(cleave_Header *x) { x->version = 7; }
static void edit_codec(cleave_Header *x) { x->tensors[0].codec = (cleave_Codec)9; }
static void edit_session(cleave_Header *x) { x->session.bytes[0] ^= 1; }

Test(security, absurd_or_inconsistent_headers_are_refused) {
  static const struct {
    void (*edit)(cleave_Header *);
    cl_status want;
    const char *text;
  } cases[] = {
      {edit_hash, CL_ERR_PROTOCOL, "is not served here"},
      {edit_cut, CL_ERR_PROTOCOL, "is outside [0,"},
      {edit_bytes, CL_ERR_PROTOCOL, "encoded bytes (at most"},
      {edit_payload_bytes, CL_ERR_PROTOCOL, "payload_bytes 4611686018427387904"},
      {edit_dims, CL_ERR_PROTOCOL, "has shape"},
      {edit_count, CL_ERR_PROTOCOL, "tensors for cut"},
      {edit_value, CL_ERR_PROTOCOL, "is value 99999"},
      {edit_version, CL_ERR_PROTOCOL, "protocol version 7"},
      {edit_codec, CL_ERR_PROTOCOL, "unknown codec 9"},
      {edit_session, CL_ERR_PROTOCOL, "unknown or expired session"},
  };
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    t.mode = T_EDIT, t.edit = cases[i].edit, t.once = 1;
    expect_refused(&h, &d, cases[i].want, cases[i].text);
  }
  cl_error err = {0};
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  device_close(&d);
}

Test(security, truncated_frames_are_refused) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  t.mode = T_TRUNC_PAYLOAD, t.bit = 1;
  expect_refused(&h, &d, CL_ERR_PROTOCOL, "payload frame of");
  t.mode = T_TRUNC_PAYLOAD, t.bit = 100000000, t.once = 1;   /* nothing left */
  expect_refused(&h, &d, CL_ERR_PROTOCOL, "payload frame of 0 bytes");
  t.mode = T_TRUNC_HDR, t.bit = 3, t.once = 1;
  expect_refused(&h, &d, CL_ERR_FORMAT, "header does not decode");
  cl_error err = {0};
  cr_expect_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  device_close(&d);

  raw_peer p;          /* wrong frame counts, an empty and an oversized header */
  raw_open(&p, cl_split_server_endpoint(h.srv));
  static cleave_Header ans;
  static uint8_t big[70000];
  const void *frames[3] = {"x", "", ""};
  size_t lens[3] = {1, 0, 0};
  const struct { int n; const char *text; } shapes[] = {
      {1, "message of 1 frame (2 expected"}, {3, "message of 3 frames"}};
  for (int i = 0; i < 2; i++) {
    raw_send(&p, frames, lens, shapes[i].n);
    raw_receive(&p, &ans);
    cr_expect_eq(ans.type, cleave_MsgType_MSG_ERROR);
    cr_expect(strstr(ans.error, shapes[i].text) != NULL, "%s", ans.error);
  }
  lens[0] = 0;
  raw_send(&p, frames, lens, 2);
  raw_receive(&p, &ans);
  cr_expect(strstr(ans.error, "empty header frame") != NULL, "%s", ans.error);
  frames[0] = big, lens[0] = sizeof big;
  raw_send(&p, frames, lens, 2);
  raw_receive(&p, &ans);
  cr_expect_eq(ans.error_code, CL_ERR_LIMIT);
  cr_expect(strstr(ans.error, "header of 70000 bytes refused (at most 65536)") != NULL, "%s",
            ans.error);
  raw_close(&p);
  cr_expect(harness_log_has(&h, "header of 70000 bytes refused"), "%s", h.log);
}

Test(security, too_many_tensors_are_refused_before_use) {
  device d;
  device_open(&d, &h, dev_model, &input, cut, "raw", 2000);
  tamper t = {.type = cleave_MsgType_MSG_REQUEST, .mode = T_RECORD, .once = 1};
  device_set_hook(&d, tamper_hook, &t);
  cl_error err = {0};
  cr_assert_eq(device_run(&d, &err), CL_OK, "%s", err.msg);
  static uint8_t hdr[16384];   /* the recorded header + 65 more TensorDesc fields */
  memcpy(hdr, t.hdr, t.hdr_len);
  size_t len = t.hdr_len;
  for (int i = 0; i < 65; i++) {
    static const uint8_t desc[] = {0x42, 0x04, 0x08, 0x01, 0x10, 0x01};   /* field 8: value, dtype */
    memcpy(hdr + len, desc, sizeof desc);
    len += sizeof desc;
  }
  raw_peer p;
  raw_open(&p, cl_split_server_endpoint(h.srv));
  const void *frames[2] = {hdr, t.payload};
  size_t lens[2] = {len, t.payload_len};
  raw_send(&p, frames, lens, 2);
  static cleave_Header ans;
  raw_receive(&p, &ans);
  cr_expect_eq(ans.error_code, CL_ERR_FORMAT);
  cr_expect(strstr(ans.error, "header does not decode") != NULL, "%s", ans.error);
  raw_close(&p);
  free(t.payload);
  device_close(&d);
}

Test(security, unexpected_message_types_are_refused) {
  raw_peer p;
  raw_open(&p, cl_split_server_endpoint(h.srv));
  static cleave_Header x, ans;
  uint8_t buf[CL_FRAME_HEADER_CAP];
  size_t len = 0;
  cl_frame_error(&x, CL_ERR_PROTOCOL, "an error from a device", 0, NULL);
  cr_assert_eq(cl_frame_encode(&x, buf, sizeof buf, &len, NULL), CL_OK);
  const void *frames[2] = {buf, ""};
  size_t lens[2] = {len, 0};
  raw_send(&p, frames, lens, 2);
  raw_receive(&p, &ans);
  cr_expect(strstr(ans.error, "unexpected ERROR") != NULL, "%s", ans.error);
  raw_close(&p);
}
