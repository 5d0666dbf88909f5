/* cleave fault test: unauthenticated ERRORs in place of replies (what anyone on the path can send).
 * The server's test hook turns one REPLY into an ERROR naming the request and the session. With
 * code `closed` (a broker's "worker lost") the device handshakes again and sends the request again:
 * it gets the right answer. With code `protocol` the request fails (the caller runs it locally) and
 * the next one is split on a new session. Never is a wrong output accepted. In-process server. */
#include "split_harness.h"
#include "wire/transport.h"

static harness h;
static cl_model_t *dev_model, *edge_model;
static cl_tensor input, expect;
static int cut;

typedef struct forge {
  int armed;                   /* atomic: the next REPLY becomes an ERROR with this code */
  cl_status code;
} forge;
static forge fg;

static void forge_hook(void *ctx, int type, uint8_t *hdr, size_t *hdr_len, size_t hdr_cap,
                       uint8_t *payload, size_t *payload_len, size_t payload_cap) {
  (void)payload, (void)payload_cap;
  forge *f = ctx;
  if (type != cleave_MsgType_MSG_REPLY || !__atomic_exchange_n(&f->armed, 0, __ATOMIC_ACQ_REL))
    return;
  cleave_Header in, out;
  if (cl_frame_decode(hdr, *hdr_len, &in, NULL) != CL_OK) return;
  cl_frame_error(&out, f->code, "forged", in.request_id, in.session.bytes);
  if (cl_frame_encode(&out, hdr, hdr_cap, hdr_len, NULL) == CL_OK) *payload_len = 0;
}

static void setup(void) {
  dev_model = load_case("oww_embedding", "real", &input);
  edge_model = load_again("oww_embedding", &input);
  cut = cl_model_node_count(dev_model) / 2;
  const cl_model_t *models[1] = {edge_model};
  harness_start(&h, models, 1, 0, 2);
  cl_split_server_set_hook(h.srv, forge_hook, &fg);
  cl_error err = {0};
  cr_assert_eq(cl_split_outputs_alloc(dev_model, &expect, 1, &err), CL_OK);
  cl_exec_t *ex = NULL;
  cr_assert_eq(cl_exec_create(dev_model, NULL, &ex, &err), CL_OK);
  cr_assert_eq(cl_exec_set_input(ex, 0, &input, &err), CL_OK);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(dev_model), &err), CL_OK);
  cl_tensor view;
  cl_exec_output(ex, 0, &view);
  memcpy(expect.data, view.data, view.nbytes);
  cl_exec_free(&ex);
}

static void teardown(void) {
  harness_stop(&h);
  cl_tensor_release(&expect);
  cl_tensor_release(&input);
  cl_model_free(&dev_model);
  cl_model_free(&edge_model);
}

TestSuite(forged, .init = setup, .fini = teardown, .timeout = 120);

static cl_split_client_t *connect_reconnecting(void) {
  cl_split_client_options o = harness_client_options(&h, cut, "raw");
  o.reconnect = 1;
  o.retries = 1;
  o.deadline_ms = 3000;
  cl_split_client_t *c = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(dev_model, &o, &c, &err), CL_OK, "%s", err.msg);
  return c;
}

/* One request: its status, failure and whether the output is right. */
static cl_status one(cl_split_client_t *c, cl_exec_t *ex, cl_tensor *out, cl_split_result *res) {
  cl_error err = {0};
  cl_status st = harness_split_run(c, ex, &input, cut, out, 1, res, &err);
  if (st == CL_OK) cr_expect_leq(rel_diff(out, &expect), 1e-6, "a split output is right");
  return st;
}

Test(forged, a_forged_worker_lost_makes_the_device_send_again) {
  cl_split_client_t *c = connect_reconnecting();
  cl_exec_t *ex = NULL;
  cl_tensor out;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(dev_model, NULL, &ex, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(dev_model, &out, 1, &err), CL_OK);
  cl_split_result res;
  cr_assert_eq(one(c, ex, &out, &res), CL_OK);
  fg.code = CL_ERR_CLOSED;
  __atomic_store_n(&fg.armed, 1, __ATOMIC_RELEASE);
  cr_expect_eq(one(c, ex, &out, &res), CL_OK, "sent again on a new session, answered");
  cl_split_client_stats st;
  cl_split_client_stats_get(c, &st);
  cr_expect_eq(st.resent, 1);
  cr_expect_eq(st.handshakes, 2);
  cr_expect_eq(one(c, ex, &out, &res), CL_OK);
  cl_split_client_free(&c);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
}

Test(forged, a_forged_refusal_fails_one_request_and_the_next_is_split) {
  cl_split_client_t *c = connect_reconnecting();
  cl_exec_t *ex = NULL;
  cl_tensor out;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(dev_model, NULL, &ex, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(dev_model, &out, 1, &err), CL_OK);
  cl_split_result res;
  fg.code = CL_ERR_PROTOCOL;
  __atomic_store_n(&fg.armed, 1, __ATOMIC_RELEASE);
  cr_expect_eq(one(c, ex, &out, &res), CL_ERR_PROTOCOL);
  cr_expect_eq(res.failure, CL_SPLIT_REFUSED);
  cr_expect_neq(res.request_id, 0);
  cr_expect(cl_split_client_wait_ready(c, 5000), "a new session");
  cr_expect_eq(one(c, ex, &out, &res), CL_OK);
  cl_split_client_stats st;
  cl_split_client_stats_get(c, &st);
  cr_expect_eq(st.handshakes, 2);
  cl_split_client_free(&c);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
}
