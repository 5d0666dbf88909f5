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
static fault_fixture fx;
static char back_ep[64];

static void setup(void) {
  fault_fixture_up(&fx, MODEL, &sh, dev, DEVICES);
  sh.inflight = 2;
  sh.retries = 2;
  sh.heartbeat_ms = 300;
  sh.deadline_ms = 5000;
}

static void teardown(void) {
  sh.endpoint[0] = back_ep[0] = '\0';
  fault_fixture_down(&fx, &sh, dev, DEVICES, 0);   /* CLEAVE_FAULT_KEEP: keep the logs */
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 300);

/* cleave-cloud on two free ports the first time (sh.endpoint and back_ep from its banner), on the
 * same ones after. */
static pid_t start_broker(void) {
  return fault_start_broker(fx.dir, sh.endpoint[0] ? "cloud-again.log" : "cloud.log", "200",
                            sh.endpoint, back_ep);
}

static pid_t start_worker(int i) {
  char log[32];
  snprintf(log, sizeof log, "worker%d.log", i);
  const char *args[] = {"--connect", back_ep, "--threads", "1", "--input-shape", fx.shape_arg,
                        "--heartbeat", "200"};
  return fault_spawn_edge(fx.dir, log, fx.model_path, args, 8, "serving through the broker");
}

/* Requests settled by all devices during [t, t + seconds), per second. */
static double rate_over(double seconds) {
  int a = fault_done(dev, DEVICES);
  proc_sleep_ms((long)(seconds * 1000));
  return (fault_done(dev, DEVICES) - a) / seconds;
}

static int log_has(const char *name, const char *needle) {
  char path[PROC_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", fx.dir, name);
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
