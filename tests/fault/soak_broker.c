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
static fault_fixture fx;
static char back_ep[64];

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
  fault_fixture_up(&fx, MODEL, &sh, dev, devices);
  sh.inflight = 1, sh.retries = 1, sh.deadline_ms = 10000, sh.heartbeat_ms = 1000;
  proc_mem mem[2 + MAX_WORKERS];
  int n_mem = 0;
  pid_t broker = fault_start_broker(fx.dir, "cloud.log", NULL, sh.endpoint, back_ep);
  mem[n_mem++] = (proc_mem){"broker", broker, 0, 0, 0};
  for (int i = 0; i < workers; i++) {
    char log[32];
    snprintf(log, sizeof log, "worker%d.log", i);
    const char *args[] = {"--connect", back_ep, "--threads", "1", "--input-shape", fx.shape_arg};
    mem[n_mem++] = (proc_mem){"worker", fault_spawn_edge(fx.dir, log, fx.model_path, args, 6,
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
  fault_fixture_down(&fx, &sh, dev, devices, errors != 0 || fallbacks != 0);
}
