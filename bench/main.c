/* cleave-bench: shaped links, a slow device, every strategy side by side (docs/BENCH.md).
 * Exit status: 0 done, 1 failed at run time (one line on stderr), 2 bad usage. */
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "camera.h"
#include "cleave/model.h"
#include "goodput.h"
#include "lab.h"
#include "proc.h"
#include "relay.h"
#include "runner.h"
#include "sweep.h"

#define PROG "cleave-bench"

/* === Signals === */

static cl_relay_t *g_relay;   /* the relay subcommand's, stopped from the handler */

static void on_signal(int sig) {
  (void)sig;
  cl_proc_stop = 1;
  if (g_relay) cl_relay_stop(g_relay);
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* === Usage === */

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [--quick] [--out DIR] [sweep options]\n"
          "       " PROG " report DIR [--from RECORDED_DIR]\n"
          "       " PROG " linktest [--rates LIST] [--rtt MS] [--seconds S]\n"
          "       " PROG " cleanup\n"
          "       " PROG " relay|goodput|camera-edge|camera-device ...   (the sweep's helpers)\n"
          "\n"
          "Runs cleave split across an emulated link and a slowed device, every cut and every baseline\n"
          "measured, the partitioner's choice and prediction beside them (needs root: network\n"
          "namespaces, tbf, a cgroup v1 CPU quota). Writes DIR/results.csv, DIR/summary.md, DIR/plots/.\n"
          "\n"
          "Sweep:\n"
          "  --out DIR            output directory (default bench-out)\n"
          "  --quick              one model, two bandwidths, one RTT, one slowdown: under 2 minutes\n"
          "  --models LIST        testdata model names (default mobilenetv2,ppocr_det,oww_embedding)\n"
          "  --bandwidths LIST    Mbit/s (default 1,3,10,30,100,300,1000)\n"
          "  --rtts LIST          ms (default 2,20,80)\n"
          "  --slowdowns LIST     device CPU slowdown factors (default 1,4,10)\n"
          "  --bin DIR            cleave binaries (default: this binary's directory)\n"
          "  --testdata DIR       models/ and ref/ (default $CLEAVE_TESTDATA or BIN/../testdata)\n"
          "  --no-planner         measure without cleave-partitioner\n"
          "  --no-calibrate       plan with the device profile as measured under the quota (no\n"
          "                       throttle calibration, no planner_uncal rows)\n"
          "  --all-cuts           measure every cut (under --max-request)\n"
          "  --top-k N            best-predicted cuts measured per point (default 3)\n"
          "  --probes N           cuts spread over the model measured per point (default 1)\n"
          "  --target S           seconds of timed requests per measurement (default 0.3)\n"
          "  --runs MIN,MAX       bounds on the timed requests per measurement (default 3,8)\n"
          "  --max-request S      a request expected to take longer is not measured (default 2)\n"
          "  --jpeg-quality Q     the camera baseline's JPEG quality (default 90)\n"
          "  --device-cpu N       the device's CPU (default 0); --edge-cpu N the edge's (default 1)\n"
          "  --goodput-seconds S  per goodput measurement (default 2)\n"
          "  --profile-runs N     timed runs per profile (default 20)\n"
          "  --plan-set-rate      give the planner the set rate (default: the measured goodput)\n"
          "  --resume             keep DIR/results.csv and skip the points it holds\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time, 2 bad usage.\n");
}

/* === Small parsers === */

static int parse_list(const char *s, double *v, int cap, double lo, double hi) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", s);
  int n = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *end;
    double x = strtod(t, &end);
    if (*end || !(x >= lo && x <= hi) || n == cap) return -1;
    v[n++] = x;
  }
  return n;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  double x = strtod(s, &end);
  if (!*s || *end || !(x >= lo && x <= hi)) return -1;
  *out = x;
  return 0;
}

/* "HOST:PORT" into host (cap bytes) and port. */
static int parse_hostport(const char *s, char *host, size_t cap, int *port) {
  const char *c = strrchr(s, ':');
  if (!c || (size_t)(c - s) >= cap) return -1;
  memcpy(host, s, (size_t)(c - s));
  host[c - s] = '\0';
  double p;
  if (parse_num(c + 1, 0, 65535, &p) != 0) return -1;
  *port = (int)p;
  return 0;
}

static int bad(const char *fmt, ...) CL_PRINTF(1, 2);
static int bad(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see " PROG " --help)\n");
  va_end(ap);
  return 2;
}

static int common_flag(const char *a, int *rc) {
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); *rc = 0; return 1; }
  if (strcmp(a, "--version") == 0) { printf(PROG " %s\n", cl_version()); *rc = 0; return 1; }
  return 0;
}

/* === Subcommands === */

static int cmd_relay(int argc, char **argv) {
  cl_relay_opts o = {0};
  char lh[64] = "", th[64] = "";
  double d = 0;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (common_flag(argv[i], &rc)) return rc;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--listen") == 0 && v) { if (parse_hostport(v, lh, sizeof lh, &o.listen_port)) return bad("bad --listen '%s'", v); i++; }
    else if (strcmp(argv[i], "--to") == 0 && v) { if (parse_hostport(v, th, sizeof th, &o.target_port)) return bad("bad --to '%s'", v); i++; }
    else if (strcmp(argv[i], "--delay-ms") == 0 && v) { if (parse_num(v, 0, 59999, &d)) return bad("bad --delay-ms '%s'", v); i++; }
    else return bad("relay: unknown or incomplete option '%s'", argv[i]);
  }
  if (!lh[0] || !th[0]) return bad("%s", "relay needs --listen HOST:PORT --to HOST:PORT [--delay-ms D]");
  o.listen_host = lh;
  o.target_host = th;
  o.delay_ms = d;
  o.log = stderr;
  cl_error err = {0};
  if (cl_relay_create(&o, &g_relay, &err) != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
  fprintf(stderr, "relay: listening on %s:%d, to %s:%d, %.3g ms each way\n", lh, cl_relay_port(g_relay), th,
          o.target_port, d);
  cl_status st = cl_relay_run(g_relay, &err);
  long conns;
  unsigned long long up, down;
  cl_relay_counts(g_relay, &conns, &up, &down);
  fprintf(stderr, "relay: stopped: %ld connections, %llu bytes up, %llu down\n", conns, up, down);
  cl_relay_t *r = g_relay;
  g_relay = NULL;
  cl_relay_free(&r);
  if (st != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
  return 0;
}

static void goodput_ready(int port, void *ctx) {
  fprintf(stderr, "goodput: listening on %s:%d\n", (const char *)ctx, port);
}

static int cmd_goodput(int argc, char **argv) {
  char host[64] = "";
  int port = 0, serve = 0, mode = 0, rc;
  double amount = 0;
  for (int i = 1; i < argc; i++) {
    if (common_flag(argv[i], &rc)) return rc;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if ((strcmp(argv[i], "--serve") == 0 || strcmp(argv[i], "--connect") == 0) && v) {
      serve = argv[i][2] == 's';
      if (parse_hostport(v, host, sizeof host, &port)) return bad("bad address '%s'", v);
      i++;
    } else if ((strcmp(argv[i], "--up") == 0 || strcmp(argv[i], "--down") == 0 || strcmp(argv[i], "--ping") == 0) && v) {
      mode = argv[i][2];
      if (parse_num(v, 1, 1e13, &amount)) return bad("bad count '%s'", v);
      i++;
    } else return bad("goodput: unknown or incomplete option '%s'", argv[i]);
  }
  if (!host[0] || (!serve && !mode)) return bad("%s", "goodput needs --serve HOST:PORT, or --connect HOST:PORT with --up N, --down N or --ping N");
  cl_error err = {0};
  if (serve) {
    if (cl_goodput_serve(host, port, &cl_proc_stop, NULL, goodput_ready, host, &err) != CL_OK) {
      fprintf(stderr, PROG ": %s\n", err.msg);
      return 1;
    }
    return 0;
  }
  if (mode == 'p') {
    double med, mx;
    if (cl_goodput_ping(host, port, (int)amount, 60, &med, &mx, &err) != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
    printf("goodput: ping median %.3f ms, max %.3f ms\n", med, mx);
    return 0;
  }
  cl_goodput_result g;
  if (cl_goodput_measure(host, port, mode == 'u', (size_t)amount, 600, &g, &err) != CL_OK) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    return 1;
  }
  printf("goodput: %s %.4f Mbit/s, %.0f bytes in %.6f s\n", mode == 'u' ? "up" : "down", g.mbit, g.bytes, g.seconds);
  return 0;
}

static int cmd_camera(int argc, char **argv, int edge) {
  cl_camera_edge_opts eo = {0};
  cl_camera_device_opts dop = {0};
  char host[64] = "";
  int port = -1, rc;
  double q = 90, rep = 10, to = 30;
  for (int i = 1; i < argc; i++) {
    if (common_flag(argv[i], &rc)) return rc;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) return bad("camera: '%s' needs a value", a);
    i++;
    if (strcmp(a, "--model") == 0) eo.model = v;
    else if (strcmp(a, "--input") == 0) eo.input = dop.input = v;
    else if (strcmp(a, "--preproc") == 0) eo.preproc = dop.preproc = v;
    else if (strcmp(a, "--key") == 0) eo.key_file = dop.key_file = v;
    else if (strcmp(a, "--reference") == 0) dop.reference = v;
    else if (strcmp(a, "--stats") == 0) dop.stats = v;
    else if (strcmp(a, "--listen") == 0 || strcmp(a, "--connect") == 0) {
      if (parse_hostport(v, host, sizeof host, &port)) return bad("bad address '%s'", v);
    } else if (strcmp(a, "--quality") == 0) { if (parse_num(v, 1, 100, &q)) return bad("bad --quality '%s'", v); }
    else if (strcmp(a, "--repeat") == 0) { if (parse_num(v, 1, 100000, &rep)) return bad("bad --repeat '%s'", v); }
    else if (strcmp(a, "--timeout") == 0) { if (parse_num(v, 1, 86400, &to)) return bad("bad --timeout '%s'", v); }
    else return bad("camera: unknown option '%s'", a);
  }
  cl_error err = {0};
  cl_status st;
  if (edge) {
    if (!eo.model || !eo.input || !eo.preproc || !eo.key_file || port < 0)
      return bad("%s", "camera-edge needs --model --input --preproc --key --listen HOST:PORT");
    eo.listen_host = host;
    eo.listen_port = port;
    eo.threads = 1;
    st = cl_camera_edge_run(&eo, &cl_proc_stop, &err);
  } else {
    if (!dop.input || !dop.preproc || !dop.key_file || !dop.stats || port <= 0)
      return bad("%s", "camera-device needs --input --preproc --key --stats --connect HOST:PORT");
    dop.host = host;
    dop.port = port;
    dop.quality = (int)q;
    dop.repeat = (int)rep;
    dop.timeout_s = to;
    st = cl_camera_device_run(&dop, &err);
  }
  if (st != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
  return 0;
}

/* Shaping is real: goodput within 10% of the set rate both ways, and the relay's round trip. */
static int cmd_linktest(int argc, char **argv, const char *bin_dir) {
  double rates[16] = {5, 50, 500}, rtt = 20, secs = 2;
  int nr = 3, rc;
  for (int i = 1; i < argc; i++) {
    if (common_flag(argv[i], &rc)) return rc;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--rates") == 0 && v) { if ((nr = parse_list(v, rates, 16, 0.01, 10000)) <= 0) return bad("bad --rates '%s'", v); i++; }
    else if (strcmp(argv[i], "--rtt") == 0 && v) { if (parse_num(v, 0, 10000, &rtt)) return bad("bad --rtt '%s'", v); i++; }
    else if (strcmp(argv[i], "--seconds") == 0 && v) { if (parse_num(v, 0.1, 600, &secs)) return bad("bad --seconds '%s'", v); i++; }
    else return bad("linktest: unknown or incomplete option '%s'", argv[i]);
  }
  cl_error err = {0};
  if (cl_lab_check(&err) != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
  cl_lab_clean_leftovers(stderr);
  cl_lab lab;
  cl_runner run;
  char dir[] = "/tmp/cleave-bench-linktest-XXXXXX";
  if (!mkdtemp(dir)) { perror(PROG ": mkdtemp"); return 1; }
  int fail = 0;
  if (cl_lab_up(&lab, &err) != CL_OK || cl_runner_init(&run, bin_dir, dir, &lab, 0, 1, &err) != CL_OK) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    cl_lab_down(&lab, stderr);
    return 1;
  }
  printf("set Mbit/s   up Mbit/s  (ratio)   down Mbit/s  (ratio)\n");
  for (int i = 0; i < nr && !fail && !cl_proc_stop; i++) {
    cl_goodput_result up, down;
    if (cl_lab_shape(&lab, rates[i] * 1e6, &err) != CL_OK ||
        cl_runner_goodput(&run, rates[i] * 1e6, secs, &up, &down, &err) != CL_OK) {
      fprintf(stderr, PROG ": %s\n", err.msg);
      fail = 1;
      break;
    }
    double ru = up.mbit / rates[i], rd = down.mbit / rates[i];
    printf("%10g %12.4g  (%5.1f%%) %12.4g  (%5.1f%%)%s\n", rates[i], up.mbit, 100 * ru, down.mbit, 100 * rd,
           fabs(ru - 1) > 0.1 || fabs(rd - 1) > 0.1 ? "   <- more than 10% off" : "");
    fail |= fabs(ru - 1) > 0.1 || fabs(rd - 1) > 0.1;
  }
  if (!fail && !cl_proc_stop) {
    double med, mx;
    if (cl_lab_shape(&lab, 1e9, &err) != CL_OK || cl_runner_ping(&run, rtt / 2, 20, &med, &mx, &err) != CL_OK) {
      fprintf(stderr, PROG ": %s\n", err.msg);
      fail = 1;
    } else {
      int off = fabs(med - rtt) > 0.1 * rtt + 1;
      printf("relay RTT set %g ms: median %.2f ms, max %.2f ms%s\n", rtt, med, mx, off ? "   <- off" : "");
      fail |= off;
    }
  }
  cl_runner_stop_all(&run);
  cl_lab_down(&lab, stderr);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "%s", dir);
  char *rmargv[] = {"/bin/rm", "-rf", cmd, NULL};
  cl_error e2 = {0};
  (void)!cl_proc_run(rmargv, NULL, 30, NULL, 0, &e2);
  if (cl_proc_stop) { fprintf(stderr, PROG ": interrupted\n"); return 1; }
  if (fail) fprintf(stderr, PROG ": linktest failed\n");
  return fail ? 1 : 0;
}

static int cmd_report(int argc, char **argv) {
  const char *dir = NULL, *from = NULL;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (common_flag(argv[i], &rc)) return rc;
    if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) from = argv[++i];
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else return bad("report: unknown or extra argument '%s'", argv[i]);
  }
  if (!dir) return bad("%s", "report needs DIR (with results.csv, or --from RECORDED_DIR)");
  return cl_sweep_report(dir, from);
}

/* === The sweep === */

static int cmd_sweep(int argc, char **argv, const char *bin_dir) {
  cl_sweep_opts o;
  cl_sweep_defaults(&o);
  o.bin_dir = bin_dir;
  static char testdata[1024], cmdline[2048];
  const char *env = getenv("CLEAVE_TESTDATA");
  snprintf(testdata, sizeof testdata, "%s", env && *env ? env : "");
  if (!testdata[0]) cl_bench_fmt(testdata, sizeof testdata, "%s/../testdata", bin_dir);
  o.testdata = testdata;
  size_t k = 0;
  for (int i = 0; i < argc && k < sizeof cmdline - 1; i++)
    k += (size_t)snprintf(cmdline + k, sizeof cmdline - k, "%s%s", i ? " " : "", argv[i]);
  o.command_line = cmdline;
  enum { OUT = 256, MODELS, BWS, RTTS, SLOWS, BIN, TD, NOPLAN, NOCAL, ALLCUTS, TOPK, PROBES, TARGET, RUNS,
         MAXREQ, JPEGQ, DEVCPU, EDGECPU, GPS, PROFRUNS, SETRATE, RESUME, QUICK, HELP, VERSION };
  static const struct option longopts[] = {
      {"out", required_argument, 0, OUT}, {"models", required_argument, 0, MODELS},
      {"bandwidths", required_argument, 0, BWS}, {"rtts", required_argument, 0, RTTS},
      {"slowdowns", required_argument, 0, SLOWS}, {"bin", required_argument, 0, BIN},
      {"testdata", required_argument, 0, TD}, {"no-planner", no_argument, 0, NOPLAN},
      {"no-calibrate", no_argument, 0, NOCAL}, {"all-cuts", no_argument, 0, ALLCUTS},
      {"top-k", required_argument, 0, TOPK}, {"probes", required_argument, 0, PROBES},
      {"target", required_argument, 0, TARGET}, {"runs", required_argument, 0, RUNS},
      {"max-request", required_argument, 0, MAXREQ}, {"jpeg-quality", required_argument, 0, JPEGQ},
      {"device-cpu", required_argument, 0, DEVCPU}, {"edge-cpu", required_argument, 0, EDGECPU},
      {"goodput-seconds", required_argument, 0, GPS}, {"profile-runs", required_argument, 0, PROFRUNS},
      {"plan-set-rate", no_argument, 0, SETRATE}, {"resume", no_argument, 0, RESUME},
      {"quick", no_argument, 0, QUICK}, {"help", no_argument, 0, HELP}, {"version", no_argument, 0, VERSION},
      {0, 0, 0, 0}};
  /* Lists given explicitly win over --quick's: applied after it. */
  const char *models = NULL, *bws = NULL, *rtts = NULL, *slows = NULL;
  int quick = 0, c;
  double x;
  static char model_buf[512];
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
    switch (c) {
      case OUT: o.out_dir = optarg; break;
      case MODELS: models = optarg; break;
      case BWS: bws = optarg; break;
      case RTTS: rtts = optarg; break;
      case SLOWS: slows = optarg; break;
      case BIN: o.bin_dir = optarg; break;
      case TD: o.testdata = optarg; break;
      case NOPLAN: o.no_planner = 1; break;
      case NOCAL: o.no_calibrate = 1; break;
      case ALLCUTS: o.all_cuts = 1; break;
      case TOPK: if (parse_num(optarg, 0, 100, &x)) return bad("bad --top-k '%s'", optarg); o.top_k = (int)x; break;
      case PROBES: if (parse_num(optarg, 0, 100, &x)) return bad("bad --probes '%s'", optarg); o.probes = (int)x; break;
      case TARGET: if (parse_num(optarg, 0.01, 600, &o.target_s)) return bad("bad --target '%s'", optarg); break;
      case RUNS: {
        double v[2];
        if (parse_list(optarg, v, 2, 1, 100000) != 2 || v[0] > v[1]) return bad("bad --runs '%s' (MIN,MAX)", optarg);
        o.min_runs = (int)v[0];
        o.max_runs = (int)v[1];
        break;
      }
      case MAXREQ: if (parse_num(optarg, 0.001, 3600, &o.max_request_s)) return bad("bad --max-request '%s'", optarg); break;
      case JPEGQ: if (parse_num(optarg, 1, 100, &x)) return bad("bad --jpeg-quality '%s'", optarg); o.jpeg_quality = (int)x; break;
      case DEVCPU: if (parse_num(optarg, 0, 4095, &x)) return bad("bad --device-cpu '%s'", optarg); o.dev_cpu = (int)x; break;
      case EDGECPU: if (parse_num(optarg, 0, 4095, &x)) return bad("bad --edge-cpu '%s'", optarg); o.edge_cpu = (int)x; break;
      case GPS: if (parse_num(optarg, 0.1, 600, &o.goodput_s)) return bad("bad --goodput-seconds '%s'", optarg); break;
      case PROFRUNS: if (parse_num(optarg, 1, 10000, &x)) return bad("bad --profile-runs '%s'", optarg); o.profile_runs = (int)x; break;
      case SETRATE: o.plan_with_set_rate = 1; break;
      case RESUME: o.resume = 1; break;
      case QUICK: quick = 1; break;
      case HELP: usage(stdout); return 0;
      case VERSION: printf(PROG " %s\n", cl_version()); return 0;
      default: return bad("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return bad("unexpected argument '%s'", argv[optind]);
  if (quick) cl_sweep_quick(&o);
  if (models) {
    snprintf(model_buf, sizeof model_buf, "%s", models);
    o.n_models = 0;
    for (char *save = NULL, *t = strtok_r(model_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (o.n_models == CL_SWEEP_MAX_MODELS || strchr(t, '/')) return bad("bad --models '%s'", models);
      o.models[o.n_models++] = t;
    }
    if (!o.n_models) return bad("bad --models '%s'", models);
  }
  if (bws && (o.n_bandwidths = parse_list(bws, o.bandwidths, CL_SWEEP_MAX_VALUES, 0.01, 100000)) <= 0)
    return bad("bad --bandwidths '%s' (Mbit/s, comma-separated)", bws);
  if (rtts && (o.n_rtts = parse_list(rtts, o.rtts, CL_SWEEP_MAX_VALUES, 0, 10000)) <= 0)
    return bad("bad --rtts '%s' (ms, comma-separated)", rtts);
  if (slows && (o.n_slowdowns = parse_list(slows, o.slowdowns, CL_SWEEP_MAX_VALUES, 1, 1000)) <= 0)
    return bad("bad --slowdowns '%s' (factors >= 1, comma-separated)", slows);
  if (o.dev_cpu == o.edge_cpu) return bad("%s", "--device-cpu and --edge-cpu must differ");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (o.dev_cpu >= ncpu || o.edge_cpu >= ncpu) return bad("%s", "--device-cpu/--edge-cpu beyond the online CPUs");
  return cl_sweep_run(&o);
}

int main(int argc, char **argv) {
  install_signals();
  setvbuf(stdout, NULL, _IOLBF, 0);
  static char bin_dir[1024];
  ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof bin_dir - 1);
  if (n > 0) {
    bin_dir[n] = '\0';
    char *d = dirname(bin_dir);
    memmove(bin_dir, d, strlen(d) + 1);
  } else {
    snprintf(bin_dir, sizeof bin_dir, ".");
  }
  const char *sub = argc > 1 ? argv[1] : "";
  if (strcmp(sub, "relay") == 0) return cmd_relay(argc - 1, argv + 1);
  if (strcmp(sub, "goodput") == 0) return cmd_goodput(argc - 1, argv + 1);
  if (strcmp(sub, "camera-edge") == 0) return cmd_camera(argc - 1, argv + 1, 1);
  if (strcmp(sub, "camera-device") == 0) return cmd_camera(argc - 1, argv + 1, 0);
  if (strcmp(sub, "linktest") == 0) return cmd_linktest(argc - 1, argv + 1, bin_dir);
  if (strcmp(sub, "report") == 0) return cmd_report(argc - 1, argv + 1);
  if (strcmp(sub, "cleanup") == 0) {
    if (argc > 2) {
      int rc;
      if (common_flag(argv[2], &rc)) return rc;
      return bad("cleanup: unexpected argument '%s'", argv[2]);
    }
    cl_error err = {0};
    if (cl_lab_check(&err) != CL_OK) { fprintf(stderr, PROG ": %s\n", err.msg); return 1; }
    int k = cl_lab_clean_leftovers(stderr);
    fprintf(stderr, PROG ": removed %d leftover object%s\n", k, k == 1 ? "" : "s");
    return 0;
  }
  if (strcmp(sub, "run") == 0) return cmd_sweep(argc - 1, argv + 1, bin_dir);
  if (sub[0] && sub[0] != '-') return bad("unknown command '%s'", sub);
  return cmd_sweep(argc, argv, bin_dir);
}
