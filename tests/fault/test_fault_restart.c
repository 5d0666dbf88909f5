/* cleave fault test (issue 6, "must show"): 200 requests from 4 devices (50 each, paced) while the
 * cleave-edge process they split with is killed (SIGKILL) and restarted twice on the same port.
 * Every request completes with the right output (split, or run locally), none is lost or settled
 * twice, and after each restart every device is back to splitting within one second of the edge's
 * banner. A pause (SIGSTOP for longer than the deadline, then SIGCONT) and garbage sent to the edge
 * get the same promises, and so does a link cut (a relay that stops forwarding, then one that
 * drops every connection). Model: openWakeWord's embedding, cut in the middle, sealed.
 * Environment: CLEAVE_BIN (binaries), CLEAVE_TESTDATA. */
#include "cut_relay.h"
#include "fault_util.h"

#define MODEL "oww_embedding"
#define DEVICES 4
#define PER_DEVICE 50
#define BACK_WITHIN_S 1.0

static fault_shared sh;
static fault_device dev[DEVICES];
static fault_fixture fx;
static char listen_arg[64];

static void setup(void) {
  fault_fixture_up(&fx, MODEL, &sh, dev, DEVICES);
  sh.inflight = 1;
  sh.retries = 1;
  sh.heartbeat_ms = 300;
}

static void teardown(void) {
  fault_fixture_down(&fx, &sh, dev, DEVICES, 0);   /* CLEAVE_FAULT_KEEP: keep the logs */
}

TestSuite(fault, .init = setup, .fini = teardown, .timeout = 300);

/* Starts the edge on listen_arg (the first time on a free port, which is then kept). */
static pid_t start_edge(const char *log_name) {
  const char *args[] = {"--listen", listen_arg[0] ? listen_arg : "tcp://127.0.0.1:*",
                        "--threads", "2", "--input-shape", fx.shape_arg};
  pid_t pid = fault_spawn_edge(fx.dir, log_name, fx.model_path, args, 6, "listening on");
  if (!listen_arg[0]) {   /* read the port from the banner */
    char log[PROC_PATH_MAX];
    snprintf(log, sizeof log, "%s/%s", fx.dir, log_name);
    char *text = proc_read_text(log);
    const char *p = text ? strstr(text, "listening on tcp://127.0.0.1:") : NULL;
    int port = 0;
    cr_assert(p && sscanf(p, "listening on tcp://127.0.0.1:%d", &port) == 1);
    free(text);
    snprintf(listen_arg, sizeof listen_arg, "tcp://127.0.0.1:%d", port);
    snprintf(sh.endpoint, sizeof sh.endpoint, "%s", listen_arg);
  }
  return pid;
}

/* Waits until devices [0, n) have each settled at least `each` requests (at most timeout_s). */
static void wait_progress(int n, int each, double timeout_s) {
  for (double end = proc_now_s() + timeout_s; proc_now_s() < end; proc_sleep_ms(10)) {
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= __atomic_load_n(&dev[i].done, __ATOMIC_RELAXED) >= each;
    if (ok) return;
  }
}

/* The first split reply of device d at or after t (its first `n` requests); 0 when none. */
static double split_after(const fault_device *d, int n, double t) {
  double best = 0;
  for (int r = 0; r < n; r++)
    if (d->split_at[r] >= t && (best == 0 || d->split_at[r] < best)) best = d->split_at[r];
  return best;
}

Test(fault, edge_killed_and_restarted_twice_under_200_requests) {
  sh.requests = PER_DEVICE;
  sh.interval_s = 0.1;
  sh.deadline_ms = 800;
  pid_t edge = start_edge("edge0.log");
  fault_start_devices(&sh, dev, DEVICES);
  double up[2];
  for (int round = 0; round < 2; round++) {
    wait_progress(DEVICES, 8 + 17 * round, 30);
    fault_kill(edge, SIGKILL);
    proc_sleep_ms(400);   /* devices run locally meanwhile */
    edge = start_edge(round == 0 ? "edge1.log" : "edge2.log");
    up[round] = proc_now_s();
  }
  fault_join_devices(dev, DEVICES);
  double end = proc_now_s();
  fault_kill(edge, SIGTERM);
  cr_expect_eq(proc_wait(edge, 30), 0, "the edge stops cleanly");
  fault_check_all(dev, DEVICES, DEVICES * PER_DEVICE);
  for (int round = 0; round < 2; round++) {
    cr_assert_lt(up[round] + BACK_WITHIN_S, end, "the run ended too soon after restart %d", round);
    for (int i = 0; i < DEVICES; i++) {
      double back = split_after(&dev[i], PER_DEVICE, up[round]);
      cr_log_info("restart %d: device %d splits again %.0f ms after the edge's banner", round + 1,
                  i, back > 0 ? (back - up[round]) * 1e3 : -1.0);
      cr_expect(back > 0 && back - up[round] <= BACK_WITHIN_S,
                "device %d not back to splitting within %.1f s of restart %d", i, BACK_WITHIN_S,
                round + 1);
    }
  }
  int split = 0, fallback = 0;
  for (int i = 0; i < DEVICES; i++) split += dev[i].split, fallback += dev[i].fallback;
  cr_expect_gt(fallback, 0, "the kills were felt");
  cr_expect_gt(split, DEVICES * PER_DEVICE / 2, "most requests were split");
}

Test(fault, a_paused_edge_is_waited_for_then_used_again) {
  sh.requests = 40;
  sh.interval_s = 0.05;
  sh.deadline_ms = 300;
  pid_t edge = start_edge("edge0.log");
  fault_start_devices(&sh, dev, 2);
  wait_progress(2, 5, 30);
  fault_kill(edge, SIGSTOP);
  proc_sleep_ms(800);   /* longer than the deadline: requests fail over to local runs */
  fault_kill(edge, SIGCONT);
  double cont = proc_now_s();
  fault_join_devices(dev, 2);
  fault_kill(edge, SIGTERM);
  cr_expect_eq(proc_wait(edge, 30), 0);
  fault_check_all(dev, 2, 2 * 40);
  for (int i = 0; i < 2; i++) {
    double back = split_after(&dev[i], 40, cont);
    cr_expect(back > 0, "device %d split again after the pause", i);
    cr_expect_gt(dev[i].by_failure[CL_SPLIT_SLOW] + dev[i].by_failure[CL_SPLIT_GONE], 0,
                 "device %d fell back during the pause", i);
  }
}

Test(fault, garbage_does_not_disturb_the_devices) {
  sh.requests = 30;
  sh.interval_s = 0.03;
  sh.deadline_ms = 2000;
  pid_t edge = start_edge("edge0.log");
  fault_start_devices(&sh, dev, 2);
  wait_progress(2, 3, 30);
  fault_send_garbage(sh.endpoint, 500);
  fault_join_devices(dev, 2);
  int status;
  cr_expect_neq(waitpid(edge, &status, WNOHANG), edge, "the edge survived the garbage");
  fault_kill(edge, SIGTERM);
  cr_expect_eq(proc_wait(edge, 30), 0);
  fault_check_all(dev, 2, 2 * 30);
  cr_expect_eq(dev[0].fallback + dev[1].fallback, 0, "garbage from elsewhere costs no request");
}


Test(fault, a_cut_link_then_a_dropped_relay_are_survived) {
  sh.requests = 60;
  sh.interval_s = 0.05;
  sh.deadline_ms = 400;
  sh.heartbeat_ms = 200;
  pid_t edge = start_edge("edge0.log");
  int port = 0;
  cr_assert_eq(sscanf(sh.endpoint, "tcp://127.0.0.1:%d", &port), 1);
  cut_relay r;
  cut_relay_start(&r, port);
  snprintf(sh.endpoint, sizeof sh.endpoint, "tcp://127.0.0.1:%d", r.port);
  fault_start_devices(&sh, dev, 2);
  wait_progress(2, 5, 30);
  __atomic_store_n(&r.cut, 1, __ATOMIC_RELEASE);   /* nothing passes for 1 s */
  proc_sleep_ms(1000);
  __atomic_store_n(&r.cut, 0, __ATOMIC_RELEASE);
  double restored = proc_now_s();
  wait_progress(2, 40, 30);
  __atomic_store_n(&r.drop, 1, __ATOMIC_RELEASE);  /* every connection closed at once */
  double dropped = proc_now_s();
  fault_join_devices(dev, 2);
  cut_relay_stop(&r);
  fault_kill(edge, SIGTERM);
  cr_expect_eq(proc_wait(edge, 30), 0);
  fault_check_all(dev, 2, 2 * 60);
  for (int i = 0; i < 2; i++) {
    double back = split_after(&dev[i], 60, restored), again = split_after(&dev[i], 60, dropped);
    cr_log_info("device %d splits again %.0f ms after the link came back, %.0f ms after the drop",
                i, back > 0 ? (back - restored) * 1e3 : -1.0,
                again > 0 ? (again - dropped) * 1e3 : -1.0);
    cr_expect(back > 0 && back - restored <= BACK_WITHIN_S, "device %d back after the cut", i);
    cr_expect(again > 0 && again - dropped <= BACK_WITHIN_S, "device %d back after the drop", i);
    cr_expect_gt(dev[i].fallback, 0, "device %d ran locally while the link was cut", i);
  }
}
