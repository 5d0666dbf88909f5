/* cleave fault test (issue 6, "must show"): cleave-cloud between 6 devices (2 requests in flight
 * each) and 3 workers (cleave-edge --connect, one thread each, the same edge key); one worker is
 * killed (SIGKILL) mid-run. No request is lost (each settles once, with the right output, split or
 * run locally), the dead worker's requests are sent again through another worker, and throughput
 * after the kill recovers (at least half the rate before it: the machine is shared, the figures
 * are logged). The broker holds no key: it is given none. Garbage at both of its endpoints is
 * refused and the devices are served all the same. Model: openWakeWord's embedding. */
#include "fault_util.h"

#define MODEL "oww_embedding"
#define DEVICES 6
#define WORKERS 3

static fault_shared sh;
static fault_device dev[DEVICES];
static cl_model_t *model;
static cl_tensor input;
static char dir[PROC_DIR_MAX], model_path[PROC_PATH_MAX], shape_arg[64], back_ep[64];

static void setup(void) {
  model = load_case(MODEL, "real", &input);
  memset(&sh, 0, sizeof sh);
  memset(dev, 0, sizeof dev);
  sh.m = model;
  sh.in = &input;
  sh.cut = cl_model_node_count(model) / 2;
  sh.inflight = 2;
  sh.retries = 2;
  sh.heartbeat_ms = 300;
  sh.deadline_ms = 5000;
  fault_expect(model, &input, &sh.expect);
  proc_mkdtemp(dir);
  fault_keys(dir, &sh, dev, DEVICES);
  snprintf(model_path, sizeof model_path, "%s/models/%s.onnx", testdata(), MODEL);
  snprintf(shape_arg, sizeof shape_arg, "%lldx%lldx%lldx%lld", (long long)input.dims[0],
           (long long)input.dims[1], (long long)input.dims[2], (long long)input.dims[3]);
}

static void teardown(void) {
  sh.endpoint[0] = back_ep[0] = '\0';
  for (int i = 0; i < DEVICES; i++) free(dev[i].split_at);
  cl_tensor_release(&sh.expect);
  cl_tensor_release(&input);
  cl_model_free(&model);
  if (!getenv("CLEAVE_FAULT_KEEP")) proc_rmdir(dir);   /* keep the logs to look at */
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 300);

/* cleave-cloud on two free ports the first time (sh.endpoint and back_ep from its banner), on the
 * same ones after. */
static pid_t start_broker(void) {
  char bin[PROC_PATH_MAX], log[PROC_PATH_MAX], front[160], back[160];
  snprintf(bin, sizeof bin, "%s/cleave-cloud", proc_bin_dir());
  snprintf(log, sizeof log, "%s/cloud%s.log", dir, sh.endpoint[0] ? "-again" : "");
  snprintf(front, sizeof front, "%s", sh.endpoint[0] ? sh.endpoint : "tcp://127.0.0.1:*");
  snprintf(back, sizeof back, "%s", back_ep[0] ? back_ep : "tcp://127.0.0.1:*");
  char *argv[] = {bin, "--devices", front, "--workers", back, "--heartbeat", "200", NULL};
  pid_t pid = proc_spawn(argv, log, -1);
  for (double end = proc_now_s() + 30; proc_now_s() < end; proc_sleep_ms(10)) {
    char *text = proc_read_text(log);
    int fp = 0, bp = 0;
    const char *p = text ? strstr(text, "devices on tcp://127.0.0.1:") : NULL;
    int ok = p && sscanf(p, "devices on tcp://127.0.0.1:%d, workers on tcp://127.0.0.1:%d", &fp,
                         &bp) == 2;
    free(text);
    if (ok) {
      snprintf(sh.endpoint, sizeof sh.endpoint, "tcp://127.0.0.1:%d", fp);
      snprintf(back_ep, sizeof back_ep, "tcp://127.0.0.1:%d", bp);
      return pid;
    }
  }
  cr_assert_fail("cleave-cloud did not start (%s)", log);
  return -1;
}

static pid_t start_worker(int i) {
  char log[32];
  snprintf(log, sizeof log, "worker%d.log", i);
  const char *args[] = {"--connect", back_ep, "--threads", "1", "--input-shape", shape_arg,
                        "--heartbeat", "200"};
  return fault_spawn_edge(dir, log, model_path, args, 8, "serving through the broker");
}

/* Requests settled by all devices during [t, t + seconds), per second. */
static double rate_over(double seconds) {
  int a = fault_done(dev, DEVICES);
  proc_sleep_ms((long)(seconds * 1000));
  return (fault_done(dev, DEVICES) - a) / seconds;
}

static int log_has(const char *name, const char *needle) {
  char path[PROC_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *text = proc_read_text(path);
  int found = text && strstr(text, needle);
  free(text);
  return found;
}

Test(broker, a_worker_killed_mid_run_loses_no_request) {
  pid_t broker = start_broker();
  pid_t workers[WORKERS];
  for (int i = 0; i < WORKERS; i++) workers[i] = start_worker(i);
  proc_sleep_ms(300);   /* every READY in */
  fault_start_devices(&sh, dev, DEVICES);
  proc_sleep_ms(1000);  /* warm-up */
  double before = rate_over(2.0);
  fault_kill(workers[0], SIGKILL);
  proc_sleep_ms(1500);  /* detection (3 heartbeats) and re-routing */
  double after = rate_over(2.0);
  __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
  fault_join_devices(dev, DEVICES);
  cr_log_info("throughput: %.0f requests/s with 3 workers, %.0f after one was killed", before,
              after);
  int sent = 0, done = 0;
  uint64_t resent = 0;
  for (int i = 0; i < DEVICES; i++) sent += dev[i].sent, done += dev[i].done, resent += dev[i].cst.resent;
  fault_check_all(dev, DEVICES, sent);
  cr_expect_eq(done, sent, "no request lost");
  cr_expect_gt(resent, 0, "the dead worker's requests were sent again");
  cr_expect_geq(after, 0.5 * before, "throughput recovers (%.0f/s before, %.0f/s after)", before,
                after);
  cr_expect(log_has("cloud.log", "lost (s") || log_has("cloud.log", "lost (unreachable)"),
            "the broker noticed the dead worker");
  for (int i = 1; i < WORKERS; i++) {
    fault_kill(workers[i], SIGTERM);
    cr_expect_eq(proc_wait(workers[i], 30), 0, "worker %d stops cleanly", i);
  }
  fault_kill(broker, SIGTERM);
  cr_expect_eq(proc_wait(broker, 30), 0, "the broker stops cleanly");
}

Test(broker, garbage_at_both_ends_is_refused_and_serving_goes_on) {
  pid_t broker = start_broker();
  pid_t w = start_worker(0);
  proc_sleep_ms(300);
  fault_send_garbage(sh.endpoint, 300);   /* as a device */
  fault_send_garbage(back_ep, 300);       /* as a worker */
  sh.requests = 30;
  fault_start_devices(&sh, dev, 2);
  fault_join_devices(dev, 2);
  int status;
  cr_expect_neq(waitpid(broker, &status, WNOHANG), broker, "the broker survived the garbage");
  fault_check_all(dev, 2, 2 * 30);
  cr_expect_eq(dev[0].fallback + dev[1].fallback, 0, "every request was split");
  fault_kill(w, SIGTERM);
  cr_expect_eq(proc_wait(w, 30), 0);
  fault_kill(broker, SIGTERM);
  cr_expect_eq(proc_wait(broker, 30), 0);
}

Test(broker, a_restarted_broker_is_found_again_by_devices_and_workers) {
  pid_t broker = start_broker();
  pid_t w[2] = {start_worker(0), start_worker(1)};
  proc_sleep_ms(300);
  sh.requests = 80;
  sh.interval_s = 0.05;
  sh.deadline_ms = 500;
  fault_start_devices(&sh, dev, 2);
  proc_sleep_ms(1000);
  fault_kill(broker, SIGKILL);
  proc_sleep_ms(300);
  broker = start_broker();
  double up = proc_now_s();
  fault_join_devices(dev, 2);
  fault_check_all(dev, 2, 2 * 80);
  for (int i = 0; i < 2; i++) {
    double back = 0;
    for (int r = 0; r < 80; r++)
      if (dev[i].split_at[r] >= up && (back == 0 || dev[i].split_at[r] < back))
        back = dev[i].split_at[r];
    cr_log_info("device %d splits again %.0f ms after the broker's restart", i,
                back > 0 ? (back - up) * 1e3 : -1.0);
    cr_expect(back > 0, "device %d splits again through the new broker", i);
  }
  for (int i = 0; i < 2; i++) {
    fault_kill(w[i], SIGTERM);
    cr_expect_eq(proc_wait(w[i], 30), 0);
  }
  fault_kill(broker, SIGTERM);
  cr_expect_eq(proc_wait(broker, 30), 0);
}
