/* cleave end-to-end: split equals whole. For EVERY cut k in [0, n] of three trained or standard
 * models, the device runs [0, k), the frontier goes through the real wire path (raw codec with
 * LZ4, sealed, ZeroMQ over loopback TCP) to a server with its own executor, which runs [k, n) and
 * replies; the outputs must equal a local run of the whole model (bit-exact expected; 1e-6 relative
 * tolerated). Also: several requests in flight with replies out of order, several devices at once. */
#include "split_harness.h"

#define REL_TOL 1e-6
#define MAX_OUTS 8

/* The whole model on this host: the reference. */
static void local_outputs(const cl_model_t *m, const cl_tensor *in, cl_tensor *ref, int n_outs) {
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_set_input(ex, 0, in, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
  for (int j = 0; j < n_outs; j++) {
    cl_tensor view;
    cl_exec_output(ex, j, &view);
    memcpy(ref[j].data, view.data, view.nbytes);
  }
  cl_exec_free(&ex);
}

static void check_every_cut(const char *name, const char *cs) {
  cl_tensor in = {0}, ref[MAX_OUTS], outs[MAX_OUTS];
  cl_model_t *dev = load_case(name, cs, &in), *edge = load_again(name, &in);
  cr_assert_eq(memcmp(cl_model_hash(dev), cl_model_hash(edge), 32), 0, "both sides: same graph");
  int n = cl_model_node_count(dev), n_outs = cl_model_output_count(dev);
  cr_assert_leq(n_outs, MAX_OUTS);
  cl_error err = {0};
  cr_assert_eq(cl_split_outputs_alloc(dev, ref, n_outs, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(dev, outs, n_outs, &err), CL_OK);
  local_outputs(dev, &in, ref, n_outs);
  harness h;
  const cl_model_t *models[1] = {edge};
  harness_start(&h, models, 1, 0, 1);
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(dev, &eo, &ex, &err), CL_OK, "%s", err.msg);
  int exact = 0;
  double worst = 0;
  for (int k = 0; k <= n; k++) {
    cl_split_client_t *c = harness_connect(&h, dev, k, "raw");
    for (int j = 0; j < n_outs; j++) memset(outs[j].data, 0xff, outs[j].nbytes);   /* NaNs */
    cl_split_result res;
    cr_assert_eq(harness_split_run(c, ex, &in, k, outs, n_outs, &res, &err), CL_OK, "%s cut %d: %s",
                 name, k, err.msg);
    int same = 1;
    for (int j = 0; j < n_outs; j++) {
      double d = rel_diff(&outs[j], &ref[j]);
      cr_assert_leq(d, REL_TOL, "%s cut %d output %d: relative difference %g", name, k, j, d);
      if (d > worst) worst = d;
      same &= memcmp(outs[j].data, ref[j].data, ref[j].nbytes) == 0;
    }
    exact += same;
    cl_split_client_free(&c);
  }
  cl_split_server_stats st = harness_stats(&h);
  cr_log_info("%s: %d cuts, %d bit-exact, largest relative difference %g; server: %llu requests, "
              "%llu refused", name, n + 1, exact, worst, (unsigned long long)st.requests,
              (unsigned long long)st.refused);
  cr_expect_eq(st.requests, (uint64_t)n + 1);
  cr_expect_eq(st.refused, 0);
  harness_stop(&h);
  cl_exec_free(&ex);
  for (int j = 0; j < n_outs; j++) cl_tensor_release(&ref[j]), cl_tensor_release(&outs[j]);
  cl_model_free(&dev);
  cl_model_free(&edge);
  cl_tensor_release(&in);
}

Test(split_whole, mobilenetv2_every_cut, .timeout = 120) { check_every_cut("mobilenetv2", "real"); }
Test(split_whole, ppocr_det_every_cut, .timeout = 300) { check_every_cut("ppocr_det", "real"); }
Test(split_whole, oww_embedding_every_cut, .timeout = 120) {
  check_every_cut("oww_embedding", "real");
}

/* === Several requests in flight, several devices === */

#define N_INPUTS 8

/* Inputs that differ (the real one, scaled), and the whole model's outputs for each. */
static void make_inputs(const cl_model_t *m, const cl_tensor *in, cl_tensor *ins, cl_tensor *refs) {
  cl_error err = {0};
  for (int i = 0; i < N_INPUTS; i++) {
    cr_assert_eq(cl_tensor_alloc(&ins[i], NULL, in->dtype, in->rank, in->dims, &err), CL_OK);
    const float *x = in->data;
    float *y = ins[i].data;
    for (size_t e = 0; e < in->nbytes / 4; e++) y[e] = x[e] * (1.0f + 0.1f * (float)i);
    cr_assert_eq(cl_split_outputs_alloc(m, &refs[i], 1, &err), CL_OK);
    local_outputs(m, &ins[i], &refs[i], 1);
  }
}

Test(split_inflight, replies_out_of_order_match_their_requests, .timeout = 60) {
  cl_tensor in = {0}, ins[N_INPUTS], refs[N_INPUTS], out;
  cl_model_t *dev = load_case("mobilenetv2", "real", &in), *edge = load_again("mobilenetv2", &in);
  make_inputs(dev, &in, ins, refs);
  harness h;
  const cl_model_t *models[1] = {edge};
  harness_start(&h, models, 1, 0, 2);
  int cut = cl_model_node_count(dev) / 3;
  cl_split_client_options o = harness_client_options(&h, cut, "raw");
  o.max_inflight = 4;
  cl_split_client_t *c = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(dev, &o, &c, &err), CL_OK, "%s", err.msg);
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(dev, &eo, &ex, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(dev, &out, 1, &err), CL_OK);
  uint64_t ids[N_INPUTS];
  int next = 0, done = 0, seen[N_INPUTS] = {0};
  while (done < N_INPUTS) {
    if (next < N_INPUTS && cl_split_client_inflight(c) < 4) {
      cr_assert_eq(cl_exec_set_input(ex, 0, &ins[next], &err), CL_OK);
      cr_assert_eq(cl_exec_run(ex, 0, cut, &err), CL_OK);
      cr_assert_eq(cl_split_client_submit(c, ex, &ids[next], &err), CL_OK, "%s", err.msg);
      next++;
      continue;
    }
    cl_split_result res;
    cr_assert_eq(cl_split_client_receive(c, &out, 1, &res, &err), CL_OK, "%s", err.msg);
    int i = 0;
    while (i < next && ids[i] != res.request_id) i++;
    cr_assert_lt(i, next, "reply to an unknown request %llu", (unsigned long long)res.request_id);
    cr_assert_eq(seen[i]++, 0, "two replies for request %d", i);
    cr_assert_eq(memcmp(out.data, refs[i].data, out.nbytes), 0, "reply %d is not its input's", i);
    done++;
  }
  cr_expect_eq(cl_split_client_submit(c, ex, &ids[0], &err), CL_OK);
  cl_split_client_free(&c);   /* with a request in flight: abandoned cleanly */
  harness_stop(&h);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
  for (int i = 0; i < N_INPUTS; i++) cl_tensor_release(&ins[i]), cl_tensor_release(&refs[i]);
  cl_model_free(&dev);
  cl_model_free(&edge);
  cl_tensor_release(&in);
}

/* Four devices (threads, each its own client and executor), two requests in flight each. */
typedef struct device_job {
  harness *h;
  const cl_model_t *m;
  const cl_tensor *ins, *refs;
  int cut, failures;
  char error[CL_ERROR_MSG_MAX];
} device_job;

static void *device_thread(void *arg) {
  device_job *d = arg;
  cl_split_client_options o = harness_client_options(d->h, d->cut, "f16+shuffle");
  o.max_inflight = 2;
  cl_split_client_t *c = NULL;
  cl_exec_t *ex = NULL;
  cl_tensor out;
  cl_error err = {0};
  cl_exec_options eo = {.threads = 1};
  if (cl_split_client_connect(d->m, &o, &c, &err) != CL_OK || cl_exec_create(d->m, &eo, &ex, &err) ||
      cl_split_outputs_alloc(d->m, &out, 1, &err)) {
    snprintf(d->error, sizeof d->error, "%s", err.msg);
    d->failures++;
    cl_split_client_free(&c);
    return NULL;
  }
  uint64_t ids[N_INPUTS];
  for (int next = 0, done = 0; done < N_INPUTS && !d->failures;) {
    cl_split_result res;
    if (next < N_INPUTS && cl_split_client_inflight(c) < 2) {
      if (cl_exec_set_input(ex, 0, &d->ins[next], &err) || cl_exec_run(ex, 0, d->cut, &err) ||
          cl_split_client_submit(c, ex, &ids[next], &err))
        d->failures++;
      next++;
    } else if (cl_split_client_receive(c, &out, 1, &res, &err) != CL_OK) {
      d->failures++;
    } else {
      int i = 0;
      while (i < next && ids[i] != res.request_id) i++;
      /* f16 on the way up: close to the whole model, not equal */
      if (i == next || rel_diff(&out, &d->refs[i]) > 1e-2) d->failures++;
      done++;
    }
    if (d->failures && !d->error[0]) snprintf(d->error, sizeof d->error, "%s", err.msg);
  }
  cl_split_client_free(&c);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
  return NULL;
}

Test(split_inflight, four_devices_at_once, .timeout = 60) {
  cl_tensor in = {0}, ins[N_INPUTS], refs[N_INPUTS];
  cl_model_t *dev = load_case("mobilenetv2", "real", &in), *edge = load_again("mobilenetv2", &in);
  make_inputs(dev, &in, ins, refs);
  harness h;
  const cl_model_t *models[1] = {edge};
  harness_start(&h, models, 1, 0, 2);
  device_job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (device_job){.h = &h, .m = dev, .ins = ins, .refs = refs, .cut = 10 + 12 * i};
    cr_assert_eq(pthread_create(&th[i], NULL, device_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_expect_eq(jobs[i].failures, 0, "device %d: %s", i, jobs[i].error);
  }
  cl_split_server_stats st = harness_stats(&h);
  cr_expect_eq(st.requests, 4 * N_INPUTS);
  cr_expect_eq(st.refused, 0, "%s", h.log);
  harness_stop(&h);
  for (int i = 0; i < N_INPUTS; i++) cl_tensor_release(&ins[i]), cl_tensor_release(&refs[i]);
  cl_model_free(&dev);
  cl_model_free(&edge);
  cl_tensor_release(&in);
}
