/* cleave-partitioner profile: measures a model on this host and writes a profile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleave/codec.h"
#include "cleave/model.h"
#include "cleave/tensorfile.h"
#include "cleave/units.h"
#include "cli.h"

#define MAX_INPUTS 16

typedef struct prof_args {
  const char *model, *out, *codecs, *pause;
  const char *inputs[MAX_INPUTS];
  int n_inputs, quiet;
  long runs, warmup, threads, reps, seed;
  int no_accuracy, warmup_given;
  double pause_ms;            /* from --pause: 0 default, < 0 none */
} prof_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " profile --model M.onnx [--input IN]... [--runs N] [--warmup N]\n"
          "                          [--threads N] [--codecs LIST] [--reps N] [--seed S]\n"
          "                          [--pause DUR] [--no-accuracy] [--quiet] -o PROFILE\n"
          "\n"
          "Runs the model on this host and writes a profile: the host, each node's time (median and\n"
          "p90 over the runs), and for every cut k in [0, n] the tensors crossing it, their bytes raw\n"
          "and under each codec, each codec's encode and decode time here (one core, on the real\n"
          "activations of the input), the device memory [0, k) needs, and each lossy codec's error on\n"
          "the final output (relative L2) at that cut.\n"
          "\n"
          "  --model M.onnx   the model\n"
          "  --input IN       an input tensor (.npy or .pb), in graph-input order; without it, random\n"
          "                   inputs (uniform in [-1, 1); the model needs static shapes)\n"
          "  --runs N         timed runs for the node times (default %d)\n"
          "  --warmup N       untimed runs first (default %d)\n"
          "  --pause DUR      sleep before each timed run, as each side of a split request waits for\n"
          "                   the other before it computes (default 5ms; 0: back to back)\n"
          "  --threads N      executor threads (default 1)\n"
          "  --codecs LIST    codecs to measure, comma-separated (default %s); each lossy codec's\n"
          "                   lossless counterpart is added (replies are lossless)\n"
          "  --reps N         timed repetitions per tensor and codec (default %d)\n"
          "  --seed S         random inputs' seed (default 1)\n"
          "  --no-accuracy    do not measure lossy codecs' error (the planner then never picks them)\n"
          "  --quiet          no progress line, no summary\n"
          "  -o PROFILE       the profile to write\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time, 2 bad usage.\n",
          CL_PROFILE_DEFAULT_RUNS, CL_PROFILE_DEFAULT_WARMUP, CL_PROFILE_DEFAULT_CODECS,
          CL_PROFILE_DEFAULT_REPS);
}

/* Every name of a --codecs list must parse: -1 when they do, else 2 (printed). */
static int check_codecs(const char *list) {
  char buf[512];
  if (!list) return -1;
  if (strlen(list) >= sizeof buf) return cli_fail(2, "--codecs: list too long");
  snprintf(buf, sizeof buf, "%s", list);
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
    cl_codec c;
    cl_error err = {0};
    if (cl_codec_parse(tok, &c, &err) != CL_OK) return cli_fail(2, "--codecs: %s", err.msg);
  }
  return n ? -1 : cli_fail(2, "--codecs: no codec given");
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, prof_args *a) {
  static const struct option opts[] = {
      {"model", required_argument, 0, 'm'},  {"input", required_argument, 0, 'i'},
      {"runs", required_argument, 0, 'r'},   {"warmup", required_argument, 0, 'w'},
      {"threads", required_argument, 0, 't'}, {"codecs", required_argument, 0, 'c'},
      {"reps", required_argument, 0, 'R'},   {"seed", required_argument, 0, 's'},
      {"no-accuracy", no_argument, 0, 'A'},  {"quiet", no_argument, 0, 'q'},
      {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'},      {"pause", required_argument, 0, 'P'},
      {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  a->threads = 1, a->seed = 1;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'm': a->model = optarg; break;
    case 'i':
      if (a->n_inputs == MAX_INPUTS) return fprintf(stderr, PROG ": at most %d --input\n", MAX_INPUTS), 2;
      a->inputs[a->n_inputs++] = optarg;
      break;
    case 'r': rc = cli_int(optarg, "--runs", 1, 100000, &a->runs); break;
    case 'w': rc = cli_int(optarg, "--warmup", 0, 100000, &a->warmup), a->warmup_given = 1; break;
    case 't': rc = cli_int(optarg, "--threads", 1, 256, &a->threads); break;
    case 'R': rc = cli_int(optarg, "--reps", 1, 64, &a->reps); break;
    case 's': rc = cli_int(optarg, "--seed", 0, 2147483647L, &a->seed); break;
    case 'c': a->codecs = optarg; break;
    case 'P': a->pause = optarg; break;
    case 'A': a->no_accuracy = 1; break;
    case 'q': a->quiet = 1; break;
    case 'o': a->out = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': cli_version("profile"); return 0;
    case ':': return fprintf(stderr, PROG " profile: %s needs a value\n", argv[optind - 1]), 2;
    default: return fprintf(stderr, PROG " profile: unknown option '%s' (see --help)\n", argv[optind - 1]), 2;
    }
    if (rc) return rc;
  }
  if (optind < argc) return fprintf(stderr, PROG " profile: unexpected argument '%s'\n", argv[optind]), 2;
  if (!a->model || !a->out) return fprintf(stderr, PROG " profile: --model and -o are needed (see --help)\n"), 2;
  if (a->pause) {
    cl_error err = {0};
    if (cl_units_duration_ms(a->pause, &a->pause_ms, &err) != CL_OK || a->pause_ms > 1e4)
      return cli_fail(2, "--pause: %s", err.msg[0] ? err.msg : "at most 10 s");
    if (a->pause_ms == 0) a->pause_ms = -1; /* none */
  }
  return check_codecs(a->codecs);
}

/* === Progress: one line on stderr, overwritten in place, only on a terminal === */

typedef struct progress {
  int on;
  double last;                /* ms of the last update */
  const char *phase;
} progress;

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_progress(void *ctx, const char *phase, int done, int total) {
  progress *p = ctx;
  double t = wall_ms();
  if (!p->on || (phase == p->phase && done < total && t - p->last < 100)) return;
  p->last = t, p->phase = phase;
  fprintf(stderr, "\r\033[K" PROG ": %s %d/%d", phase, done, total);
  fflush(stderr);
}

/* === Running === */

static int load(const prof_args *a, cl_tensor *ts, cl_model_t **m) {
  cl_error err = {0};
  for (int i = 0; i < a->n_inputs; i++)
    if (cl_tensorfile_read(a->inputs[i], &ts[i], &err) != CL_OK) return cli_fail(1, "%s", err.msg);
  cl_model_options mo = {.inputs = a->n_inputs ? ts : NULL, .n_inputs = a->n_inputs};
  if (cl_model_load(a->model, &mo, m, &err) != CL_OK)
    return cli_fail(1, "%s: %s%s", a->model, err.msg,
                    a->n_inputs ? "" : " (give --input to bind the model's shapes)");
  return 0;
}

int cli_profile(int argc, char **argv) {
  prof_args a;
  int rc = parse(argc, argv, &a);
  if (rc >= 0) return rc;
  cl_tensor ts[MAX_INPUTS];
  memset(ts, 0, sizeof ts);
  cl_model_t *m = NULL;
  cl_profile *p = NULL;
  double t0 = wall_ms();
  rc = load(&a, ts, &m);
  char desc[256] = "";
  for (int i = 0; i < a.n_inputs; i++)
    snprintf(desc + strlen(desc), sizeof desc - strlen(desc), "%s%s", i ? "," : "", a.inputs[i]);
  progress pr = {.on = !a.quiet && isatty(2)};
  cl_profile_options o = {.model_path = a.model, .inputs = a.n_inputs ? ts : NULL, .n_inputs = a.n_inputs,
                          .input_desc = desc, .threads = (int)a.threads, .runs = (int)a.runs,
                          .warmup = (int)a.warmup, .codec_reps = (int)a.reps, .codecs = a.codecs,
                          .no_accuracy = a.no_accuracy, .seed = (uint64_t)a.seed, .pause_ms = a.pause_ms,
                          .progress = on_progress, .progress_ctx = &pr};
  if (a.warmup_given && a.warmup == 0) o.warmup = -1; /* none */
  cl_error err = {0};
  if (rc == 0 && cl_profile_measure(m, &o, &p, &err) != CL_OK)
    rc = cli_fail(err.status == CL_ERR_ARG ? 2 : 1, "%s", err.msg);
  if (pr.on && pr.phase) fprintf(stderr, "\r\033[K");
  if (rc == 0 && cl_profile_save(p, a.out, &err) != CL_OK) rc = cli_fail(1, "%s", err.msg);
  if (rc == 0 && !a.quiet)
    printf("profile: %s, %d nodes, %d cuts, %d codecs, %d runs on %d thread%s: run median %.3f ms "
           "(p90 %.3f), took %.1f s -> %s\n", a.model, p->n_nodes, p->n_nodes + 1, p->n_codecs, p->runs,
           p->host.threads, p->host.threads == 1 ? "" : "s", p->run_median_ms, p->run_p90_ms,
           (wall_ms() - t0) / 1e3, a.out);
  cl_profile_free(&p);
  cl_model_free(&m);
  for (int i = 0; i < a.n_inputs; i++) cl_tensor_release(&ts[i]);
  return rc;
}
