/* cleave end-to-end (issue 3, "A capture of the loopback traffic holds no plaintext tensor
 * bytes"): cleave-edge and cleave-device run as processes, the device connected through a relay
 * (capture_relay.h) that records every byte crossing between them, both ways. The capture is then
 * searched for every 16-byte window of
 *   input     the graph input as the device read it from its file,
 *   frontier  the frontier tensors' bytes as they lie in the device's buffers before encoding,
 *   request   the request payload encoded (codec, LZ4) but not sealed: what an attacker would see
 *             if sealing were off,
 *   output    the graph outputs' bytes as the edge holds them,
 *   reply     the reply payload encoded but not sealed;
 * this test computes each of them itself, the same way the device and the edge do (same model,
 * input, cut, codec, one thread: the bytes are the same, which the control proves).
 * Sealed, none may appear. The control: the same runs with --insecure on both sides, where every
 * window of the encoded payloads, and of the raw tensors when LZ4 is off, must be found, so the
 * search is shown able to find what it looks for. Runs: the openWakeWord embedding model, cuts 0
 * (the input itself crosses) and n/2, codecs raw and raw+nolz4, 4 requests each.
 * CLEAVE_CAPTURE_DIR=DIR keeps each capture there (RUN.up, RUN.down). */
#include "capture_relay.h"
#include "proc_util.h"
#include "split_harness.h"

#define MODEL "oww_embedding"
#define REPEAT "3"             /* timed runs after cleave-device's warm-up: 4 requests in all */

enum { P_INPUT, P_FRONTIER, P_REQUEST, P_OUTPUT, P_REPLY, P_COUNT };
static const char *const plain_names[P_COUNT] = {"input", "frontier", "request", "output", "reply"};

/* The plaintexts of one run, as bytes (kept alive for the window sets that point into them). */
typedef struct plaintexts {
  uint8_t *buf[P_COUNT][CL_FRAME_MAX_TENSORS]; /* malloc'ed copies */
  size_t len[P_COUNT][CL_FRAME_MAX_TENSORS];
  int n[P_COUNT];
} plaintexts;

static void keep(plaintexts *pt, int kind, const void *data, size_t len) {
  cr_assert_lt(pt->n[kind], CL_FRAME_MAX_TENSORS);
  uint8_t *copy = malloc(len ? len : 1);
  cr_assert_not_null(copy);
  memcpy(copy, data, len);
  pt->buf[kind][pt->n[kind]] = copy;
  pt->len[kind][pt->n[kind]++] = len;
}

static void plaintexts_free(plaintexts *pt) {
  for (int k = 0; k < P_COUNT; k++)
    for (int i = 0; i < pt->n[k]; i++) free(pt->buf[k][i]);
  memset(pt, 0, sizeof *pt);
}

/* Encodes set s from the executor's buffers with codec c; keeps the raw tensors as kind_raw and the
 * unsealed payload body as kind_enc. */
static void encode_set(plaintexts *pt, cl_exec_t *ex, const cl_msg_set *s, const cl_codec *c,
                       int kind_raw, int kind_enc) {
  const void *src[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < s->count; i++) {
    src[i] = cl_exec_buffer(ex, s->t[i].value, NULL);
    keep(pt, kind_raw, src[i], s->t[i].geo.nbytes);
  }
  size_t cap = cl_msg_payload_bound(s, c), body = 0;
  uint8_t *payload = malloc(cap), *scratch = malloc(cl_msg_scratch_bound(s, c) + 1);
  static cleave_Header h;
  cl_error err = {0};
  cl_frame_init(&h, cleave_MsgType_MSG_REQUEST);
  cr_assert_eq(cl_msg_encode(s, c, src, &h, payload, cap, &body, scratch, &err), CL_OK, "%s",
               err.msg);
  keep(pt, kind_enc, payload, body);
  free(payload);
  free(scratch);
}

/* What the device and the edge hold in plaintext for one request at this cut and codec. */
static void make_plaintexts(const cl_model_t *m, const cl_tensor *in, int cut, const char *codec,
                            plaintexts *pt) {
  memset(pt, 0, sizeof *pt);
  cl_error err = {0};
  cl_codec c, rc;
  cr_assert_eq(cl_codec_parse(codec, &c, &err), CL_OK, "%s", err.msg);
  rc = (cl_codec){.kind = CL_CODEC_RAW, .shuffle = c.shuffle, .lz4 = c.lz4};   /* the reply's */
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = 1};
  cl_msg_set req, rep;
  int n = cl_model_node_count(m);
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_msg_set_init(m, cut, &req, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_msg_set_init(m, n, &rep, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_set_input(ex, 0, in, &err), CL_OK, "%s", err.msg);
  keep(pt, P_INPUT, in->data, in->nbytes);
  cr_assert_eq(cl_exec_run(ex, 0, cut, &err), CL_OK, "%s", err.msg);
  encode_set(pt, ex, &req, &c, P_FRONTIER, P_REQUEST);
  cr_assert_eq(cl_exec_run(ex, cut, n, &err), CL_OK, "%s", err.msg);
  encode_set(pt, ex, &rep, &rc, P_OUTPUT, P_REPLY);
  cl_msg_set_free(&req);
  cl_msg_set_free(&rep);
  cl_exec_free(&ex);
}

/* === One run through the relay === */

typedef struct run_result {
  size_t up, down;             /* bytes captured each way */
  int conns;
  size_t windows[P_COUNT], found[P_COUNT], constant[P_COUNT];
} run_result;

typedef struct fixture {
  char dir[PROC_DIR_MAX];
  char model[PROC_PATH_MAX], input[PROC_PATH_MAX];
  cl_model_t *m;
  cl_tensor in;
  int insecure;
  edge_proc edge;
} fixture;

static void save_capture(const char *name, const char *suffix, const capture_buf *b) {
  const char *dir = getenv("CLEAVE_CAPTURE_DIR");
  if (!dir || !*dir) return;
  char path[PROC_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, suffix);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot write %s", path);
  cr_assert_eq(fwrite(b->data, 1, b->len, f), b->len);
  fclose(f);
}

/* Runs cleave-device through a fresh relay at this cut and codec; searches the capture. */
static run_result run_device(fixture *fx, int cut, const char *codec) {
  char bin[PROC_PATH_MAX], ep[64], cuts[16], key[PROC_PATH_MAX], pub[PROC_PATH_MAX],
      out[PROC_PATH_MAX], log[PROC_PATH_MAX], name[64];
  relay r;
  relay_start(&r, fx->edge.port);
  snprintf(bin, sizeof bin, "%s/cleave-device", proc_bin_dir());
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", r.port);
  snprintf(cuts, sizeof cuts, "%d", cut);
  snprintf(key, sizeof key, "%s/dev.key", fx->dir);
  snprintf(pub, sizeof pub, "%s/edge.pub", fx->dir);
  snprintf(out, sizeof out, "%s/out.npy", fx->dir);
  snprintf(log, sizeof log, "%s/device.log", fx->dir);
  snprintf(name, sizeof name, "%s-cut%d-%s", fx->insecure ? "insecure" : "sealed", cut, codec);
  char *argv[] = {bin, "--model", fx->model, "--input", fx->input, "--edge", ep, "--cut", cuts,
                  "--codec", (char *)codec, "--repeat", REPEAT, "--output", out, "--quiet",
                  fx->insecure ? "--insecure" : "--key", fx->insecure ? NULL : key, "--edge-pub",
                  pub, NULL};
  int rc = proc_wait(proc_spawn(argv, log, -1), 120);
  relay_stop(&r);
  char *text = proc_read_text(log);
  cr_assert_eq(rc, 0, "%s: cleave-device exited %d: %s", name, rc, text ? text : "");
  free(text);

  /* The device's answer is the whole model's (the plaintexts below are the right ones). */
  plaintexts pt;
  make_plaintexts(fx->m, &fx->in, cut, codec, &pt);
  cl_tensor got = {0};
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_read(out, &got, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(got.nbytes, pt.len[P_OUTPUT][0]);
  cr_assert_eq(memcmp(got.data, pt.buf[P_OUTPUT][0], got.nbytes), 0, "%s: output differs", name);
  cl_tensor_release(&got);

  run_result res = {.up = r.up.len, .down = r.down.len, .conns = r.conns};
  cr_assert_eq(r.failed, 0, "%s: the relay could not reach the edge", name);
  /* Every request and reply crossed the relay (the device did not finish locally): the capture
   * holds at least their payloads, 4 of each. */
  cr_assert_geq(r.up.len, 4 * pt.len[P_REQUEST][0], "%s: %zu bytes up for 4 requests of %zu", name,
                r.up.len, pt.len[P_REQUEST][0]);
  cr_assert_geq(r.down.len, 4 * pt.len[P_REPLY][0], "%s: %zu bytes down for 4 replies of %zu", name,
                r.down.len, pt.len[P_REPLY][0]);
  for (int k = 0; k < P_COUNT; k++) {
    window_set ws;
    size_t total = 0;
    for (int i = 0; i < pt.n[k]; i++) total += pt.len[k][i];
    window_set_init(&ws, total);
    for (int i = 0; i < pt.n[k]; i++) window_set_add(&ws, pt.buf[k][i], pt.len[k][i]);
    window_set_search(&ws, r.up.data, r.up.len);
    res.found[k] = window_set_search(&ws, r.down.data, r.down.len);
    res.windows[k] = ws.count;
    res.constant[k] = ws.constant;
    window_set_free(&ws);
  }
  save_capture(name, "up", &r.up);
  save_capture(name, "down", &r.down);
  char line[512];
  int len = snprintf(line, sizeof line, "capture %-30s up %7zu B, down %6zu B, %d conn:", name,
                     res.up, res.down, res.conns);
  for (int k = 0; k < P_COUNT && len > 0 && (size_t)len < sizeof line; k++)
    len += snprintf(line + len, sizeof line - (size_t)len, " %s %zu/%zu%s", plain_names[k],
                    res.found[k], res.windows[k], k + 1 < P_COUNT ? "," : "");
  cr_log_info("%s", line);
  relay_free(&r);
  plaintexts_free(&pt);
  return res;
}

/* === Fixture: model, keys, the edge (sealed or insecure) === */

static void fixture_start(fixture *fx, int insecure) {
  memset(fx, 0, sizeof *fx);
  fx->insecure = insecure;
  proc_mkdtemp(fx->dir);
  fx->m = load_case(MODEL, "real", &fx->in);
  snprintf(fx->model, sizeof fx->model, "%s/models/%s.onnx", testdata(), MODEL);
  snprintf(fx->input, sizeof fx->input, "%s/ref/%s/real/input_0.npy", testdata(), MODEL);
  char key[PROC_PATH_MAX], allow[PROC_PATH_MAX];
  proc_keygen(fx->dir, "edge");
  proc_keygen(fx->dir, "dev");
  snprintf(key, sizeof key, "%s/edge.key", fx->dir);
  snprintf(allow, sizeof allow, "%s/dev.pub", fx->dir);
  const char *sealed[] = {"--key", key, "--allow", allow, "--input-shape", "1x76x32x1"};
  const char *open[] = {"--insecure", "--input-shape", "1x76x32x1"};
  if (insecure) edge_start(&fx->edge, fx->dir, fx->model, open, 3, -1);
  else edge_start(&fx->edge, fx->dir, fx->model, sealed, 6, -1);
}

static void fixture_stop(fixture *fx) {
  int rc = edge_stop(&fx->edge);
  cr_expect_eq(rc, 0, "cleave-edge exited %d", rc);
  cl_model_free(&fx->m);
  cl_tensor_release(&fx->in);
  proc_rmdir(fx->dir);
}

static const char *const codecs[] = {"raw", "raw+nolz4"};

Test(capture, sealed_traffic_holds_no_plaintext, .timeout = 300) {
  fixture fx;
  fixture_start(&fx, 0);
  int cuts[2] = {0, cl_model_node_count(fx.m) / 2};
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 2; k++) {
      run_result r = run_device(&fx, cuts[c], codecs[k]);
      for (int p = 0; p < P_COUNT; p++) {
        cr_expect_gt(r.windows[p], 0);
        cr_expect_eq(r.found[p], 0, "cut %d, %s: %zu of %zu windows of the %s found in the sealed "
                     "traffic", cuts[c], codecs[k], r.found[p], r.windows[p], plain_names[p]);
      }
    }
  fixture_stop(&fx);
}

Test(capture, insecure_control_shows_plaintext, .timeout = 300) {
  fixture fx;
  fixture_start(&fx, 1);
  int cuts[2] = {0, cl_model_node_count(fx.m) / 2};
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 2; k++) {
      run_result r = run_device(&fx, cuts[c], codecs[k]);
      int lz4 = strstr(codecs[k], "nolz4") == NULL;
      /* The payloads travel as they are: every window must be found. */
      cr_expect_eq(r.found[P_REQUEST], r.windows[P_REQUEST], "cut %d, %s: request %zu/%zu",
                   cuts[c], codecs[k], r.found[P_REQUEST], r.windows[P_REQUEST]);
      cr_expect_eq(r.found[P_REPLY], r.windows[P_REPLY], "cut %d, %s: reply %zu/%zu", cuts[c],
                   codecs[k], r.found[P_REPLY], r.windows[P_REPLY]);
      if (c == 0 && !lz4)   /* cut 0 ships the input itself */
        cr_expect_eq(r.found[P_INPUT], r.windows[P_INPUT], "cut 0: input %zu/%zu", r.found[P_INPUT],
                     r.windows[P_INPUT]);
      if (!lz4) {   /* raw without LZ4: the tensors' own bytes are the payload */
        cr_expect_eq(r.found[P_FRONTIER], r.windows[P_FRONTIER], "cut %d: frontier %zu/%zu",
                     cuts[c], r.found[P_FRONTIER], r.windows[P_FRONTIER]);
        cr_expect_eq(r.found[P_OUTPUT], r.windows[P_OUTPUT], "cut %d: output %zu/%zu", cuts[c],
                     r.found[P_OUTPUT], r.windows[P_OUTPUT]);
      } else {      /* LZ4's literal runs still carry most of them */
        cr_expect_gt(r.found[P_FRONTIER], 0, "cut %d: no frontier window in LZ4", cuts[c]);
      }
    }
  fixture_stop(&fx);
}
