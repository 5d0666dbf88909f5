/* cleave-device: runs a model on this device, or (later) split with an edge worker.
 * Exit status: 0 done, 1 failed at run time (one line on stderr), 2 bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/model.h"
#include "cleave/tensorfile.h"
#include "local.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: cleave-device --model M.onnx --input IN [--input IN]... [--output OUT]...\n"
          "                     [--threads N] [--repeat N] [--stats FILE.json] [--profile] [--quiet]\n"
          "       cleave-device --model M.onnx [--input IN]... --list-cuts\n"
          "\n"
          "Runs an ONNX model on this host with cleave's runtime (XNNPACK).\n"
          "\n"
          "  --model M.onnx     the model\n"
          "  --input IN         an input tensor file (.pb ONNX TensorProto or .npy), in graph-input\n"
          "                     order; its shape binds the model's dynamic dimensions\n"
          "  --output OUT       write an output tensor (.pb or .npy), in graph-output order\n"
          "  --threads N        compute threads (default 1)\n"
          "  --repeat N         run N timed inferences after one warm-up (default: one run)\n"
          "  --stats FILE.json  write timing statistics as JSON (runs, median_ms, p90_ms, ...)\n"
          "  --list-cuts        print every cut of cleave's graph with its frontier tensors and bytes\n"
          "  --profile          print the time per operator type (median run)\n"
          "  --quiet            print nothing but errors\n"
          "  --help, --version\n"
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

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, dev_config *cfg) {
  static const struct option opts[] = {
      {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
      {"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 't'},
      {"repeat", required_argument, 0, 'r'}, {"stats", required_argument, 0, 's'},
      {"list-cuts", no_argument, 0, 'l'},    {"quiet", no_argument, 0, 'q'},
      {"profile", no_argument, 0, 'p'},
      {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
      {0, 0, 0, 0}};
  memset(cfg, 0, sizeof *cfg);
  cfg->threads = 1;
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
  return -1;
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
  } else {
    rc = dev_run_local(&cfg, m, inputs);
  }
  cl_model_free(&m);
  for (int i = 0; i < cfg.n_inputs; i++) cl_tensor_release(&inputs[i]);
  return rc;
}
