/* cleave soak (issue 6, `make soak`, not part of `make test`): cleave-cloud with CLEAVE_SOAK_WORKERS
 * workers (cleave-edge --connect, default 2, one thread each) and CLEAVE_SOAK_DEVICES devices
 * (threads of this process, default 64, one request at a time, back to back) for
 * CLEAVE_SOAK_SECONDS (default 600) after CLEAVE_SOAK_WARMUP (default 10). Reports requests per
 * second, p50/p99 latency (request start, device compute included, to its output checked), the
 * resident memory (VmRSS) of every process after the warm-up and at the end, and the errors (wrong
 * outputs, requests settled twice or never, local runs). Fails on any error or fallback, or when a
 * process grew by more than CLEAVE_SOAK_RSS_KIB (default 8192). CLEAVE_SOAK_REPORT: a file to append
 * the figures to (markdown). Model: openWakeWord's embedding, cut in the middle, sealed. */
#include <sys/utsname.h>

#include "fault_util.h"

#define MODEL "oww_embedding"
#define MAX_WORKERS 8

static double env_num(const char *name, double dflt, double lo, double hi) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  double v = strtod(s, &end);
  cr_assert(*end == '\0' && v >= lo && v <= hi, "%s=%s: a number in [%g, %g]", name, s, lo, hi);
  return v;
}

static fault_shared sh;
static fault_device dev[FAULT_MAX_DEVICES];
static char dir[PROC_DIR_MAX], back_ep[64];

static pid_t start_broker(void) {
  char bin[PROC_PATH_MAX], log[PROC_PATH_MAX];
  snprintf(bin, sizeof bin, "%s/cleave-cloud", proc_bin_dir());
  snprintf(log, sizeof log, "%s/cloud.log", dir);
  char *argv[] = {bin, "--devices", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", NULL};
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
  cr_assert_fail("cleave-cloud did not start");
  return -1;
}

typedef struct proc_mem {
  const char *name;
  pid_t pid;
  long start_kib, mid_kib, end_kib;   /* after the warm-up, half way, at the end */
} proc_mem;

static void report(FILE *f, double seconds, int devices, int workers, uint64_t done, double p50,
                   double p99, const proc_mem *mem, int n_mem, int errors, int fallbacks) {
  struct utsname u;
  uname(&u);
  double load[3] = {0};
  if (getloadavg(load, 3) < 0) load[0] = load[1] = load[2] = -1;
  time_t now = time(NULL);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(f, "soak %s: %.0f s, %d devices, %d workers, broker; %s %s, %ld cores, load %.2f %.2f %.2f"
          " at the end\n", date, seconds, devices, workers, u.nodename, u.machine,
          sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
  fprintf(f, "  requests %llu, %.1f requests/s, p50 %.3f ms, p99 %.3f ms, errors %d, fallbacks %d\n",
          (unsigned long long)done, (double)done / seconds, p50, p99, errors, fallbacks);
  for (int i = 0; i < n_mem; i++)
    fprintf(f, "  %-8s pid %-7d VmRSS %ld KiB at start, %ld half way, %ld at the end (%+ld KiB, "
            "%+ld in the second half)\n", mem[i].name, (int)mem[i].pid, mem[i].start_kib,
            mem[i].mid_kib, mem[i].end_kib, mem[i].end_kib - mem[i].start_kib,
            mem[i].end_kib - mem[i].mid_kib);
}

Test(soak, devices_through_the_broker, .timeout = 0) {
  double seconds = env_num("CLEAVE_SOAK_SECONDS", 600, 1, 86400);
  double warmup = env_num("CLEAVE_SOAK_WARMUP", 10, 1, 600);
  int devices = (int)env_num("CLEAVE_SOAK_DEVICES", 64, 1, FAULT_MAX_DEVICES);
  int workers = (int)env_num("CLEAVE_SOAK_WORKERS", 2, 1, MAX_WORKERS);
  long rss_bound = (long)env_num("CLEAVE_SOAK_RSS_KIB", 8192, 0, 1e9);
  cl_tensor input;
  cl_model_t *model = load_case(MODEL, "real", &input);
  memset(&sh, 0, sizeof sh);
  sh.m = model, sh.in = &input, sh.cut = cl_model_node_count(model) / 2;
  sh.inflight = 1, sh.retries = 1, sh.deadline_ms = 10000, sh.heartbeat_ms = 1000;
  fault_expect(model, &input, &sh.expect);
  proc_mkdtemp(dir);
  fault_keys(dir, &sh, dev, devices);
  char model_path[PROC_PATH_MAX], shape[64];
  snprintf(model_path, sizeof model_path, "%s/models/%s.onnx", testdata(), MODEL);
  snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", (long long)input.dims[0],
           (long long)input.dims[1], (long long)input.dims[2], (long long)input.dims[3]);
  proc_mem mem[2 + MAX_WORKERS];
  int n_mem = 0;
  mem[n_mem++] = (proc_mem){"broker", start_broker(), 0, 0, 0};
  for (int i = 0; i < workers; i++) {
    char log[32];
    snprintf(log, sizeof log, "worker%d.log", i);
    const char *args[] = {"--connect", back_ep, "--threads", "1", "--input-shape", shape};
    mem[n_mem++] = (proc_mem){"worker", fault_spawn_edge(dir, log, model_path, args, 6,
                                                         "serving through"), 0, 0, 0};
  }
  mem[n_mem++] = (proc_mem){"devices", getpid(), 0, 0, 0};
  proc_sleep_ms(500);
  fault_start_devices(&sh, dev, devices);
  proc_sleep_ms((long)(warmup * 1000));
  for (int i = 0; i < n_mem; i++) mem[i].start_kib = proc_rss_kib(mem[i].pid);
  uint64_t h0[FAULT_HIST] = {0}, h1[FAULT_HIST] = {0};
  for (int i = 0; i < devices; i++)
    for (int b = 0; b < FAULT_HIST; b++) h0[b] += __atomic_load_n(&dev[i].hist[b], __ATOMIC_RELAXED);
  int done0 = fault_done(dev, devices);
  double t0 = proc_now_s();
  proc_sleep_ms((long)(seconds * 500));
  for (int i = 0; i < n_mem; i++) mem[i].mid_kib = proc_rss_kib(mem[i].pid);
  proc_sleep_ms((long)(seconds * 500));
  int done1 = fault_done(dev, devices);
  double t1 = proc_now_s();
  for (int i = 0; i < devices; i++)
    for (int b = 0; b < FAULT_HIST; b++) h1[b] += __atomic_load_n(&dev[i].hist[b], __ATOMIC_RELAXED);
  for (int i = 0; i < n_mem; i++) mem[i].end_kib = proc_rss_kib(mem[i].pid);
  __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
  fault_join_devices(dev, devices);
  for (int b = 0; b < FAULT_HIST; b++) h1[b] -= h0[b];
  int errors = 0, fallbacks = 0, sent = 0, done = 0;
  for (int i = 0; i < devices; i++) {
    errors += dev[i].wrong + dev[i].settle_errors;
    fallbacks += dev[i].fallback, sent += dev[i].sent, done += dev[i].done;
  }
  errors += sent - done;
  report(stderr, t1 - t0, devices, workers, (uint64_t)(done1 - done0), fault_quantile(h1, 0.5),
         fault_quantile(h1, 0.99), mem, n_mem, errors, fallbacks);
  const char *rp = getenv("CLEAVE_SOAK_REPORT");
  FILE *f = rp && *rp ? fopen(rp, "a") : NULL;
  if (f) {
    report(f, t1 - t0, devices, workers, (uint64_t)(done1 - done0), fault_quantile(h1, 0.5),
           fault_quantile(h1, 0.99), mem, n_mem, errors, fallbacks);
    fclose(f);
  }
  fault_check_all(dev, devices, sent);
  cr_expect_eq(errors, 0);
  cr_expect_eq(fallbacks, 0, "no request ran locally on a healthy system");
  for (int i = 0; i < n_mem; i++)
    cr_expect_leq(mem[i].end_kib - mem[i].start_kib, rss_bound, "%s grew by %ld KiB", mem[i].name,
                  mem[i].end_kib - mem[i].start_kib);
  for (int i = 0; i + 1 < n_mem; i++) {
    fault_kill(mem[i].pid, SIGTERM);
    cr_expect_eq(proc_wait(mem[i].pid, 30), 0, "%s stops cleanly", mem[i].name);
  }
  for (int i = 0; i < devices; i++) free(dev[i].split_at);
  cl_tensor_release(&sh.expect);
  cl_tensor_release(&input);
  cl_model_free(&model);
  if (!getenv("CLEAVE_FAULT_KEEP") && errors == 0 && fallbacks == 0) proc_rmdir(dir);
  else cr_log_info("logs kept in %s", dir);
}
