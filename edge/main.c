/* cleave-edge: serves the suffix [cut, n) of a model to devices (cleave-device --edge), sealed.
 * Exit status: 0 stopped cleanly (SIGINT, SIGTERM), 1 failed at run time (one line on stderr),
 * 2 bad usage. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleave/model.h"
#include "cleave/seal.h"
#include "cleave/split.h"

#define MAX_INPUTS 16

typedef struct edge_config {
  const char *model_path, *listen, *key_path, *allow_path;
  const char *broker;                       /* --connect: a worker of cleave-cloud */
  const char *shapes[CL_SPLIT_MAX_MODELS];  /* --input-shape values, one per model */
  int n_shapes;
  int insecure, quiet;
  cl_split_server_options so;
} edge_config;

static void usage(FILE *f) {
  fprintf(f,
          "usage: cleave-edge --model M.onnx --listen ENDPOINT|--connect BROKER --key edge.key\n"
          "                   --allow devices.pub\n"
          "                   [--threads N] [--input-shape DIMS[,DIMS]...]... [--insecure] [more]\n"
          "\n"
          "Serves split inference: devices (cleave-device --edge ENDPOINT --cut K) run nodes [0, K)\n"
          "of the model and send the frontier tensors, sealed; this edge runs [K, n) and replies with\n"
          "the outputs. Runs until SIGINT or SIGTERM; logs one line per refused message.\n"
          "\n"
          "  --model M.onnx        the model (the same file the devices load)\n"
          "  --listen ENDPOINT     ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:5555\n"
          "  --connect BROKER      instead of --listen: serve as a worker of cleave-cloud, whose\n"
          "                        --workers endpoint this is (devices connect to the broker)\n"
          "  --heartbeat MS        with --connect: heartbeat interval (default 1000)\n"
          "  --key edge.key        this edge's key pair (cleave-keygen)\n"
          "  --allow devices.pub   the device public keys allowed, one a line\n"
          "  --threads N           requests served at once, one worker thread each (default: cores)\n"
          "  --compute-threads N   threads per request (default 1)\n"
          "  --input-shape DIMS    bind the model's dynamic dimensions: one DIMS per graph input,\n"
          "                        comma-separated, e.g. 1x3x640x640 (float32; 'int64:1x16' for\n"
          "                        another type). Repeat to serve several shapes (at most %d);\n"
          "                        a device must use one of them. Needed only for dynamic models.\n"
          "  --insecure            no encryption, no authentication (the devices too): tests only\n"
          "  --max-sessions N      sessions in all (default 1024)\n"
          "  --max-sessions-per-key N  sessions per device key (default 8)\n"
          "  --idle SECONDS        close sessions idle this long (default 300)\n"
          "  --queue N             messages queued per device (default 64)\n"
          "  --quiet               log refusals and errors only\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 stopped by a signal, 1 failed at run time, 2 bad usage.\n",
          CL_SPLIT_MAX_MODELS);
}

static int parse_int(const char *s, const char *flag, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "cleave-edge: %s must be an integer in [%d, %d], not '%s'\n", flag, lo, hi, s);
    return 2;
  }
  *out = (int)v;
  return 0;
}

static int check_config(const edge_config *cfg) {
  const char *missing = !cfg->model_path ? "--model" : !cfg->listen && !cfg->broker ? "--listen"
                                                                                    : NULL;
  if (cfg->listen && cfg->broker) {
    fprintf(stderr, "cleave-edge: --listen and --connect exclude each other\n");
    return 2;
  }
  if (!missing && !cfg->insecure)
    missing = !cfg->key_path ? "--key" : !cfg->allow_path ? "--allow" : NULL;
  if (missing) {
    fprintf(stderr, "cleave-edge: %s is required (see --help)\n", missing);
    return 2;
  }
  if (cfg->insecure && (cfg->key_path || cfg->allow_path)) {
    fprintf(stderr, "cleave-edge: --insecure takes no --key or --allow\n");
    return 2;
  }
  return -1;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, edge_config *cfg) {
  static const struct option opts[] = {
      {"model", required_argument, 0, 'm'},  {"listen", required_argument, 0, 'l'},
      {"key", required_argument, 0, 'k'},    {"allow", required_argument, 0, 'a'},
      {"threads", required_argument, 0, 't'}, {"compute-threads", required_argument, 0, 'c'},
      {"input-shape", required_argument, 0, 's'}, {"insecure", no_argument, 0, 'I'},
      {"max-sessions", required_argument, 0, 'S'}, {"max-sessions-per-key", required_argument, 0, 'K'},
      {"idle", required_argument, 0, 'i'},   {"queue", required_argument, 0, 'q'},
      {"quiet", no_argument, 0, 'Q'},        {"help", no_argument, 0, 'h'},
      {"connect", required_argument, 0, 'C'}, {"heartbeat", required_argument, 0, 'H'},
      {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
  memset(cfg, 0, sizeof *cfg);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cfg->so.workers = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
  int c, idle_s = 300;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'm': cfg->model_path = optarg; break;
    case 'l': cfg->listen = optarg; break;
    case 'k': cfg->key_path = optarg; break;
    case 'a': cfg->allow_path = optarg; break;
    case 't': rc = parse_int(optarg, "--threads", 1, CL_SPLIT_MAX_WORKERS, &cfg->so.workers); break;
    case 'c': rc = parse_int(optarg, "--compute-threads", 1, 64, &cfg->so.compute_threads); break;
    case 's':
      if (cfg->n_shapes == CL_SPLIT_MAX_MODELS)
        return fprintf(stderr, "cleave-edge: at most %d --input-shape\n", CL_SPLIT_MAX_MODELS), 2;
      cfg->shapes[cfg->n_shapes++] = optarg;
      break;
    case 'I': cfg->insecure = 1; break;
    case 'S': rc = parse_int(optarg, "--max-sessions", 1, 1000000, &cfg->so.max_sessions); break;
    case 'K':
      rc = parse_int(optarg, "--max-sessions-per-key", 1, 1000, &cfg->so.max_sessions_per_key);
      break;
    case 'i': rc = parse_int(optarg, "--idle", 1, 86400, &idle_s); break;
    case 'q': rc = parse_int(optarg, "--queue", 1, 100000, &cfg->so.queue); break;
    case 'Q': cfg->quiet = 1; break;
    case 'C': cfg->broker = optarg; break;
    case 'H': rc = parse_int(optarg, "--heartbeat", 10, 60000, &cfg->so.heartbeat_ms); break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cleave-edge %s\n", cl_version()); return 0;
    default:
      fprintf(stderr, "cleave-edge: unknown or incomplete option '%s' (see --help)\n",
              argv[optind - 1]);
      return 2;
    }
    if (rc) return rc;
  }
  if (optind < argc) {
    fprintf(stderr, "cleave-edge: unexpected argument '%s' (see --help)\n", argv[optind]);
    return 2;
  }
  cfg->so.session_idle_ms = idle_s * 1000;
  return check_config(cfg);
}

/* === Input shapes === */

/* Parses "[TYPE:]AxBxC" into t (no data). Returns 0 or -1. */
static int parse_one_shape(const char *s, size_t len, cl_tensor *t) {
  char buf[256];
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  memset(t, 0, sizeof *t);
  t->dtype = CL_DTYPE_F32;
  char *dims = buf, *colon = strchr(buf, ':');
  if (colon) {
    *colon = '\0';
    dims = colon + 1;
    static const cl_dtype types[] = {CL_DTYPE_F32, CL_DTYPE_I64, CL_DTYPE_I32, CL_DTYPE_U8,
                                     CL_DTYPE_I8, CL_DTYPE_F16, CL_DTYPE_F64, CL_DTYPE_BOOL};
    t->dtype = CL_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcmp(buf, cl_dtype_name(types[i])) == 0) t->dtype = types[i];
    if (t->dtype == CL_DTYPE_UNDEFINED) return -1;
  }
  for (char *p = dims; *p; t->rank++) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0 || v > CL_MAX_DIM || t->rank == CL_MAX_RANK) return -1;
    t->dims[t->rank] = v;
    if (*end == 'x') end++;
    else if (*end != '\0') return -1;
    p = end;
  }
  return t->rank > 0 ? 0 : -1;
}

/* "DIMS[,DIMS]..." into ts[0, *n). Returns 0 or prints and returns 2. */
static int parse_shape_set(const char *arg, cl_tensor *ts, int *n) {
  *n = 0;
  for (const char *p = arg;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (*n == MAX_INPUTS || parse_one_shape(p, len, &ts[*n]) != 0) {
      fprintf(stderr, "cleave-edge: --input-shape '%s': expected DIMS[,DIMS]... with DIMS like "
              "1x3x640x640 or int64:1x16\n", arg);
      return 2;
    }
    (*n)++;
    if (!comma) return 0;
    p = comma + 1;
  }
}

/* Loads the model once per shape set (once when none). Returns 0, 1 or 2. */
static int load_models(const edge_config *cfg, cl_model_t **models, int *n_models) {
  int sets = cfg->n_shapes ? cfg->n_shapes : 1;
  *n_models = 0;
  for (int i = 0; i < sets; i++) {
    cl_tensor ts[MAX_INPUTS];
    int n = 0;
    if (cfg->n_shapes && parse_shape_set(cfg->shapes[i], ts, &n) != 0) return 2;
    cl_model_options opt = {.inputs = ts, .n_inputs = n};
    cl_error err = {0};
    if (cl_model_load(cfg->model_path, &opt, &models[i], &err) != CL_OK) {
      fprintf(stderr, "cleave-edge: %s%s\n", err.msg,
              err.status == CL_ERR_SHAPE && !cfg->n_shapes ? " (here: give --input-shape)" : "");
      return 1;
    }
    (*n_models)++;
  }
  return 0;
}

/* === Serving === */

static cl_split_server_t *g_server;

static void on_signal(int sig) {
  (void)sig;
  if (g_server) cl_split_server_stop(g_server);
}

static void log_line(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "cleave-edge: %s\n", line);
}

static int load_keys(const edge_config *cfg, cl_keypair *kp, cl_allowlist **allow) {
  cl_error err = {0};
  if (cfg->insecure) return 0;
  if (cl_keys_load_secret(cfg->key_path, kp, &err) != CL_OK ||
      cl_allowlist_load(cfg->allow_path, allow, &err) != CL_OK) {
    fprintf(stderr, "cleave-edge: %s\n", err.msg);
    return 1;
  }
  return 0;
}

static void print_banner(const edge_config *cfg, cl_model_t **models, int n_models,
                         const cl_allowlist *allow) {
  if (cfg->quiet) return;
  cl_split_server_t *s = g_server;
  for (int i = 0; i < n_models; i++) {
    const uint8_t *h = cl_model_hash(models[i]);
    fprintf(stderr, "cleave-edge: model %s: %d nodes, hash %02x%02x%02x%02x...\n", cfg->model_path,
            cl_model_node_count(models[i]), h[0], h[1], h[2], h[3]);
  }
  fprintf(stderr, "cleave-edge: %s %s, %d worker%s, %s\n",
          cfg->broker ? "serving through the broker at" : "listening on", cl_split_server_endpoint(s),
          cfg->so.workers, cfg->so.workers > 1 ? "s" : "",
          cfg->insecure ? "INSECURE (no encryption, no authentication)" : "sealed");
  if (allow) fprintf(stderr, "cleave-edge: %d device key%s allowed\n", cl_allowlist_count(allow),
                     cl_allowlist_count(allow) == 1 ? "" : "s");
}

static int serve(edge_config *cfg, cl_model_t **models, int n_models) {
  cl_keypair kp;
  cl_allowlist *allow = NULL;
  if (load_keys(cfg, &kp, &allow) != 0) return 1;
  cfg->so.endpoint = cfg->listen;
  cfg->so.broker = cfg->broker;
  cfg->so.insecure = cfg->insecure;
  cfg->so.key = cfg->insecure ? NULL : &kp;
  cfg->so.allow = allow;
  cfg->so.log = log_line;
  cl_error err = {0};
  int rc = 0;
  if (cl_split_server_create((const cl_model_t *const *)models, n_models, &cfg->so, &g_server,
                             &err) != CL_OK) {
    fprintf(stderr, "cleave-edge: %s\n", err.msg);
    rc = 1;
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    print_banner(cfg, models, n_models, allow);
    if (cl_split_server_run(g_server, &err) != CL_OK) {
      fprintf(stderr, "cleave-edge: %s\n", err.msg);
      rc = 1;
    }
    cl_split_server_stats st;
    cl_split_server_stats_get(g_server, &st);
    if (!cfg->quiet)
      fprintf(stderr, "cleave-edge: stopped: %llu requests served, %llu refused, %llu sessions\n",
              (unsigned long long)st.requests, (unsigned long long)st.refused,
              (unsigned long long)st.handshakes);
    cl_split_server_t *s = g_server;
    g_server = NULL;
    cl_split_server_free(&s);
  }
  cl_keys_wipe(&kp);
  cl_allowlist_free(&allow);
  return rc;
}

int main(int argc, char **argv) {
  edge_config cfg;
  int rc = parse_args(argc, argv, &cfg);
  if (rc >= 0) return rc;
  cl_model_t *models[CL_SPLIT_MAX_MODELS] = {0};
  int n_models = 0;
  rc = load_models(&cfg, models, &n_models);
  if (rc == 0) rc = serve(&cfg, models, n_models);
  for (int i = 0; i < n_models; i++) cl_model_free(&models[i]);
  return rc;
}
