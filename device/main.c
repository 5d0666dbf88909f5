/* cleave-device: runs a model on this device, or split with an edge worker (--edge).
 * Exit status: 0 done, 1 failed at run time (one line on stderr), 2 bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "cleave/model.h"
#include "cleave/split.h"
#include "cleave/tensorfile.h"
#include "cleave/units.h"
#include "local.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: cleave-device --model M.onnx --input IN [--input IN]... [--output OUT]...\n"
          "                     [--threads N] [--repeat N] [--stats FILE.json] [--profile] [--quiet]\n"
          "       cleave-device --model M.onnx --input IN... --edge ENDPOINT --cut N --key dev.key\n"
          "                     --edge-pub edge.pub [--codec C] [--inflight K] [--timeout MS]\n"
          "                     [--insecure] [--output OUT]... [--repeat N] [--stats FILE.json]\n"
          "       cleave-device ... --edge ENDPOINT --cut auto --plan PLAN ...\n"
          "       cleave-device ... --edge ENDPOINT --cut auto --profile-device P --profile-edge P\n"
          "                     [--bandwidth B] [--rtt T] [--min-cut K] [--codec C] ...\n"
          "       cleave-device --model M.onnx [--input IN]... --list-cuts\n"
          "\n"
          "Runs an ONNX model on this host with cleave's runtime (XNNPACK), whole or split with\n"
          "cleave-edge: nodes [0, N) here, the frontier tensors encoded, sealed and sent,\n"
          "[N, n) there.\n"
          "\n"
          "  --model M.onnx     the model\n"
          "  --input IN         an input tensor file (.pb ONNX TensorProto or .npy), in graph-input\n"
          "                     order; its shape binds the model's dynamic dimensions\n"
          "  --output OUT       write an output tensor (.pb or .npy), in graph-output order\n"
          "  --threads N        compute threads (default 1)\n"
          "  --repeat N         run N timed inferences after one warm-up (default: one run)\n"
          "  --stats FILE.json  write timing statistics as JSON (runs, median_ms, p90_ms, ...)\n"
          "  --list-cuts        print every cut of cleave's graph with its frontier tensors and bytes\n"
          "  --edge ENDPOINT    split with the cleave-edge at ENDPOINT (e.g. tcp://10.0.0.2:5555)\n"
          "  --cut N            nodes [0, N) run here, 0 <= N <= n (see --list-cuts)\n"
          "  --cut auto         the cut (and codec) from --plan, or chosen per request from two\n"
          "                     profiles and a live estimate of the link (below)\n"
          "  --key dev.key      this device's key pair (cleave-keygen)\n"
          "  --edge-pub edge.pub  the edge's public key (pinned)\n"
          "  --codec C          frontier codec: raw (default), f16, int8, int8c, with +shuffle,\n"
          "                     +nolz4 (docs/CODEC.md); outputs come back lossless\n"
          "  --inflight K       requests in flight at once with --repeat (default 1, at most 64;\n"
          "                     1 with --cut auto)\n"
          "  --timeout MS       handshake timeout, and the per-request deadline when no other\n"
          "                     is given (default 10000)\n"
          "  --deadline MS      per-request deadline (default: with --cut auto, the predicted time\n"
          "                     times --deadline-margin; else --timeout)\n"
          "  --deadline-margin X  times the predicted time (default 3)\n"
          "  --no-fallback      a request whose edge is slow, gone or refuses fails (exit 1)\n"
          "                     instead of being finished here from its frontier or input\n"
          "  --retries N        times a request whose connection was lost is sent again on the\n"
          "                     next one, within its deadline (default 1)\n"
          "  --interval MS      start a request every MS, as a camera would (default: back to back)\n"
          "  --insecure         no encryption, no authentication (the edge too): tests only\n"
          "  --profile          print the time per operator type (median run)\n"
          "  --quiet            print nothing but errors\n"
          "  --help, --version\n"
          "\n"
          "With --cut auto:\n"
          "  --plan PLAN        a plan of this model (cleave-partitioner plan): its chosen cut and\n"
          "                     codec for every request\n"
          "  --profile-device P, --profile-edge P\n"
          "                     profiles of this model on this device and on the edge\n"
          "                     (cleave-partitioner profile): each request's cut is the planner's\n"
          "                     choice for the link as measured by the previous requests (RTT and\n"
          "                     bandwidth, medians of the last 15 observations); the cut changes only\n"
          "                     when another one is predicted faster by 10%% and 0.25 ms at 3\n"
          "                     decisions in a row (one every 2 requests), at most once per 10\n"
          "                     requests. At cut n (all here) one request in 16 (then 32, ... 256)\n"
          "                     goes to the edge to keep measuring the link. Codec: --codec, or\n"
          "                     the best lossless codec per cut.\n"
          "  --bandwidth B      the starting bandwidth estimate (default 10mbit)\n"
          "  --rtt T            the starting round-trip estimate (default 20ms)\n"
          "  --min-cut K        never choose a cut below K (K = 1: the input never leaves)\n"
          "  --stats then also records the cut of every request (cut_per_request, cuts_used),\n"
          "  cut_switches, probes and the final link estimate (link).\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time, 2 bad usage.\n");
}

static int parse_int(const char *s, const char *flag, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "cleave-device: %s must be an integer in [%d, %d], not '%s'\n", flag, lo, hi, s);
    return 2;
  }
  *out = (int)v;
  return 0;
}

/* --deadline-margin: a number in [1, 1000]. Returns 0 or 2. */
static int parse_margin(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= 1 && v <= 1000)) {
    fprintf(stderr, "cleave-device: --deadline-margin must be a number in [1, 1000], not '%s'\n", s);
    return 2;
  }
  *out = v;
  return 0;
}

/* --cut auto and its sources. Returns -1 to go on, else the exit status. */
static int check_auto_args(const dev_config *cfg) {
  int profiles = (cfg->profile_dev != NULL) + (cfg->profile_edge != NULL);
  int hints = cfg->bandwidth_bps > 0 || cfg->rtt_ms >= 0 || cfg->min_cut >= 0;
  if (!cfg->cut_auto) {
    if (cfg->plan_path || profiles || hints) {
      fprintf(stderr, "cleave-device: --plan, --profile-device, --profile-edge, --bandwidth, --rtt and "
              "--min-cut go with --cut auto\n");
      return 2;
    }
    return -1;
  }
  const char *bad = NULL;
  if (!cfg->plan_path && profiles == 0)
    bad = "--cut auto needs --plan PLAN or --profile-device P --profile-edge P";
  else if (cfg->plan_path && profiles)
    bad = "--cut auto takes --plan or the two profiles, not both";
  else if (profiles == 1)
    bad = "--cut auto needs both --profile-device and --profile-edge";
  else if (cfg->plan_path && hints)
    bad = "--bandwidth, --rtt and --min-cut go with the profiles (a plan fixes the cut)";
  else if (cfg->plan_path && cfg->codec_given)
    bad = "--codec goes with the profiles (a plan chooses the codec)";
  else if (cfg->inflight > 1)
    bad = "--cut auto runs one request at a time (--inflight 1): the link estimate needs "
          "unqueued round trips";
  if (bad) {
    fprintf(stderr, "cleave-device: %s\n", bad);
    return 2;
  }
  return -1;
}

/* The split options: all or none. Returns -1 to go on, else the exit status. */
static int check_split_args(const dev_config *cfg) {
  cl_codec codec;
  cl_error err = {0};
  if (cl_codec_parse(cfg->codec, &codec, &err) != CL_OK) {
    fprintf(stderr, "cleave-device: --codec: %s\n", err.msg);
    return 2;
  }
  if (!cfg->edge) {
    int split_only = cfg->cut >= 0 || cfg->cut_auto || cfg->key_path || cfg->edge_pub || cfg->insecure;
    if (split_only && !cfg->list_cuts) {
      fprintf(stderr, "cleave-device: --cut, --key, --edge-pub and --insecure need --edge\n");
      return 2;
    }
    return check_auto_args(cfg);
  }
  const char *missing = cfg->cut < 0 && !cfg->cut_auto ? "--cut" : NULL;
  if (!missing && !cfg->insecure)
    missing = !cfg->key_path ? "--key" : !cfg->edge_pub ? "--edge-pub" : NULL;
  if (missing) {
    fprintf(stderr, "cleave-device: --edge needs %s (see --help)\n", missing);
    return 2;
  }
  if (cfg->insecure && (cfg->key_path || cfg->edge_pub)) {
    fprintf(stderr, "cleave-device: --insecure takes no --key or --edge-pub\n");
    return 2;
  }
  if (cfg->profile) {
    fprintf(stderr, "cleave-device: --profile is for local runs\n");
    return 2;
  }
  return check_auto_args(cfg);
}

/* A figure with a unit (--bandwidth, --rtt). Returns 0 or 2. */
static int parse_figure(const char *s, const char *flag, double *out) {
  cl_error err = {0};
  cl_status st = strcmp(flag, "--bandwidth") == 0 ? cl_units_bandwidth(s, out, &err)
                                                  : cl_units_duration_ms(s, out, &err);
  if (st == CL_OK) return 0;
  fprintf(stderr, "cleave-device: %s: %s\n", flag, err.msg);
  return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, dev_config *cfg) {
  static const struct option opts[] = {
      {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
      {"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 't'},
      {"repeat", required_argument, 0, 'r'}, {"stats", required_argument, 0, 's'},
      {"list-cuts", no_argument, 0, 'l'},    {"quiet", no_argument, 0, 'q'},
      {"profile", no_argument, 0, 'p'},      {"edge", required_argument, 0, 'e'},
      {"cut", required_argument, 0, 'c'},    {"key", required_argument, 0, 'k'},
      {"edge-pub", required_argument, 0, 'P'}, {"codec", required_argument, 0, 'C'},
      {"inflight", required_argument, 0, 'F'}, {"timeout", required_argument, 0, 'T'},
      {"insecure", no_argument, 0, 'I'},     {"plan", required_argument, 0, 'L'},
      {"profile-device", required_argument, 0, 'D'}, {"profile-edge", required_argument, 0, 'E'},
      {"bandwidth", required_argument, 0, 'B'}, {"rtt", required_argument, 0, 'R'},
      {"min-cut", required_argument, 0, 'M'}, {"deadline", required_argument, 0, 'd'},
      {"deadline-margin", required_argument, 0, 'g'}, {"no-fallback", no_argument, 0, 'N'},
      {"retries", required_argument, 0, 'y'}, {"interval", required_argument, 0, 'j'},
      {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
      {0, 0, 0, 0}};
  memset(cfg, 0, sizeof *cfg);
  cfg->threads = 1;
  cfg->cut = -1;
  cfg->codec = "raw";
  cfg->inflight = 1;
  cfg->timeout_ms = CL_SPLIT_DEFAULT_TIMEOUT_MS;
  cfg->rtt_ms = -1;
  cfg->min_cut = -1;
  cfg->deadline_margin = 3;
  cfg->retries = 1;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'm': cfg->model_path = optarg; break;
    case 'i':
      if (cfg->n_inputs == 16) return fprintf(stderr, "cleave-device: at most 16 --input\n"), 2;
      cfg->inputs[cfg->n_inputs++] = optarg;
      break;
    case 'o':
      if (cfg->n_outputs == 16) return fprintf(stderr, "cleave-device: at most 16 --output\n"), 2;
      cfg->outputs[cfg->n_outputs++] = optarg;
      break;
    case 't': rc = parse_int(optarg, "--threads", 1, 256, &cfg->threads); break;
    case 'r': rc = parse_int(optarg, "--repeat", 1, 1000000, &cfg->repeat); break;
    case 's': cfg->stats_path = optarg; break;
    case 'l': cfg->list_cuts = 1; break;
    case 'q': cfg->quiet = 1; break;
    case 'p': cfg->profile = 1; break;
    case 'e': cfg->edge = optarg; break;
    case 'c':
      if (strcmp(optarg, "auto") == 0) cfg->cut_auto = 1, cfg->cut = -1;
      else rc = parse_int(optarg, "--cut", 0, 1 << 30, &cfg->cut), cfg->cut_auto = 0;
      break;
    case 'k': cfg->key_path = optarg; break;
    case 'P': cfg->edge_pub = optarg; break;
    case 'C': cfg->codec = optarg, cfg->codec_given = 1; break;
    case 'F': rc = parse_int(optarg, "--inflight", 1, CL_SPLIT_MAX_INFLIGHT, &cfg->inflight); break;
    case 'T': rc = parse_int(optarg, "--timeout", 1, 3600000, &cfg->timeout_ms); break;
    case 'I': cfg->insecure = 1; break;
    case 'L': cfg->plan_path = optarg; break;
    case 'D': cfg->profile_dev = optarg; break;
    case 'E': cfg->profile_edge = optarg; break;
    case 'B': rc = parse_figure(optarg, "--bandwidth", &cfg->bandwidth_bps); break;
    case 'R': rc = parse_figure(optarg, "--rtt", &cfg->rtt_ms); break;
    case 'M': rc = parse_int(optarg, "--min-cut", 0, 1 << 30, &cfg->min_cut); break;
    case 'd': rc = parse_int(optarg, "--deadline", 1, 3600000, &cfg->deadline_ms); break;
    case 'g': rc = parse_margin(optarg, &cfg->deadline_margin); break;
    case 'N': cfg->no_fallback = 1; break;
    case 'y': rc = parse_int(optarg, "--retries", 0, 100, &cfg->retries); break;
    case 'j': rc = parse_int(optarg, "--interval", 0, 3600000, &cfg->interval_ms); break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cleave-device %s\n", cl_version()); return 0;
    default:
      fprintf(stderr, "cleave-device: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
      return 2;
    }
    if (rc) return rc;
  }
  if (optind < argc) {
    fprintf(stderr, "cleave-device: unexpected argument '%s' (see --help)\n", argv[optind]);
    return 2;
  }
  if (!cfg->model_path) {
    fprintf(stderr, "cleave-device: --model is required (see --help)\n");
    return 2;
  }
  return check_split_args(cfg);
}

int main(int argc, char **argv) {
  dev_config cfg;
  int rc = parse_args(argc, argv, &cfg);
  if (rc >= 0) return rc;
  cl_tensor inputs[16] = {0};
  if (dev_read_inputs(&cfg, inputs) != 0) return 1;
  cl_model_options opt = {.inputs = inputs, .n_inputs = cfg.n_inputs};
  cl_error err = {0};
  cl_model_t *m = NULL;
  if (cl_model_load(cfg.model_path, &opt, &m, &err) != CL_OK) {
    fprintf(stderr, "cleave-device: %s\n", err.msg);
    rc = 1;
  } else if (cfg.list_cuts) {
    dev_list_cuts(m);
    rc = 0;
  } else if (cfg.n_inputs != cl_model_input_count(m)) {
    fprintf(stderr, "cleave-device: the model has %d inputs, %d given with --input\n",
            cl_model_input_count(m), cfg.n_inputs);
    rc = 2;
  } else if (cfg.n_outputs > cl_model_output_count(m)) {
    fprintf(stderr, "cleave-device: the model has %d outputs, %d --output given\n",
            cl_model_output_count(m), cfg.n_outputs);
    rc = 2;
  } else if (cfg.cut_auto && cfg.min_cut > cl_model_node_count(m)) {
    fprintf(stderr, "cleave-device: --min-cut %d is outside [0, %d] (the graph has %d nodes)\n",
            cfg.min_cut, cl_model_node_count(m), cl_model_node_count(m));
    rc = 2;
  } else if (cfg.edge && cfg.cut > cl_model_node_count(m)) {
    fprintf(stderr, "cleave-device: --cut %d is outside [0, %d] (the graph has %d nodes)\n", cfg.cut,
            cl_model_node_count(m), cl_model_node_count(m));
    rc = 2;
  } else {
    rc = cfg.edge ? dev_run_split(&cfg, m, inputs) : dev_run_local(&cfg, m, inputs);
  }
  cl_model_free(&m);
  for (int i = 0; i < cfg.n_inputs; i++) cl_tensor_release(&inputs[i]);
  return rc;
}
