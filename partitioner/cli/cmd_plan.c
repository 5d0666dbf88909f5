/* cleave-partitioner plan: chooses the cut for a device, a worker and a link from their profiles. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "cleave/units.h"
#include "cli.h"

typedef struct plan_args {
  const char *device, *edge, *cloud, *out, *codec;
  const char *bandwidth, *rtt, *cloud_bandwidth, *cloud_rtt, *memory, *budget;
  const char *device_w, *radio_w, *idle_w, *objective;
  long min_cut;
  int json, quiet, no_dag, insecure;
} plan_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " plan --device PROFILE --edge PROFILE --bandwidth B --rtt T\n"
          "                       [--objective latency|energy|throughput] [--min-cut K]\n"
          "                       [--device-memory SIZE] [--codec auto|NAME] [--accuracy-budget X]\n"
          "                       [--device-power W --radio-power W --idle-power W]\n"
          "                       [--cloud PROFILE --cloud-bandwidth B --cloud-rtt T]\n"
          "                       [--insecure] [--no-dag] [--json] [--quiet] [-o PLAN]\n"
          "\n"
          "Predicts, for every cut k (nodes [0, k) on the device, [k, n) on the worker), the time of one\n"
          "request: device compute + encode + bytes/bandwidth + RTT + worker decode + worker compute +\n"
          "reply, and chooses the best cut for the objective under the constraints. Prints the whole\n"
          "table (the chosen cut marked '*'); -o writes it as a plan file.\n"
          "\n"
          "  --device, --edge P   profiles of the device and the worker (same model)\n"
          "  --bandwidth B        link bandwidth in bit/s: 10mbit, 10Mbit/s, 1gbit, 100kbit\n"
          "  --rtt T              round-trip time: 20ms, 500us, 0.1s\n"
          "  --objective O        latency (default): end-to-end time of one request;\n"
          "                       energy: the device's energy (needs the three powers);\n"
          "                       throughput: the slowest stage of a pipelined stream\n"
          "  --min-cut K          cuts below K are excluded (the raw input never leaves the device)\n"
          "  --device-memory S    cuts whose device peak memory exceeds S are excluded (64MiB, 512KiB)\n"
          "  --codec C            auto (default: per cut the best allowed codec) or one codec name\n"
          "  --accuracy-budget X  lossy codecs are allowed where their measured relative L2 error of\n"
          "                       the output is <= X (never without a measurement; none by default)\n"
          "  --device-power W, --radio-power W, --idle-power W   for --objective energy (2.5W, 300mW)\n"
          "  --cloud P            a third profile: two cuts, device -> edge -> cloud, with\n"
          "  --cloud-bandwidth B, --cloud-rtt T                  the edge -> cloud link\n"
          "  --insecure           count no sealing cost (for split runs with --insecure)\n"
          "  --no-dag             skip the DAG-aware (min-cut) search\n"
          "  --json               print the plan as JSON instead of the table\n"
          "  --quiet              print nothing (with -o)\n"
          "  -o PLAN              write the plan file\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time (bad profiles, no feasible cut), 2 bad usage.\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, plan_args *a) {
  static const struct option opts[] = {
      {"device", required_argument, 0, 'd'},        {"edge", required_argument, 0, 'e'},
      {"cloud", required_argument, 0, 'c'},         {"bandwidth", required_argument, 0, 'b'},
      {"rtt", required_argument, 0, 'r'},           {"cloud-bandwidth", required_argument, 0, 'B'},
      {"cloud-rtt", required_argument, 0, 'R'},     {"objective", required_argument, 0, 'O'},
      {"min-cut", required_argument, 0, 'k'},       {"device-memory", required_argument, 0, 'M'},
      {"codec", required_argument, 0, 'C'},         {"accuracy-budget", required_argument, 0, 'a'},
      {"device-power", required_argument, 0, 'P'},  {"radio-power", required_argument, 0, 'W'},
      {"idle-power", required_argument, 0, 'I'},    {"no-dag", no_argument, 0, 'D'},
      {"insecure", no_argument, 0, 'S'},
      {"json", no_argument, 0, 'j'},                {"quiet", no_argument, 0, 'q'},
      {"output", required_argument, 0, 'o'},        {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'},             {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'd': a->device = optarg; break;
    case 'e': a->edge = optarg; break;
    case 'c': a->cloud = optarg; break;
    case 'b': a->bandwidth = optarg; break;
    case 'r': a->rtt = optarg; break;
    case 'B': a->cloud_bandwidth = optarg; break;
    case 'R': a->cloud_rtt = optarg; break;
    case 'O': a->objective = optarg; break;
    case 'k': rc = cli_int(optarg, "--min-cut", 0, CL_PROFILE_MAX_NODES, &a->min_cut); break;
    case 'M': a->memory = optarg; break;
    case 'C': a->codec = optarg; break;
    case 'a': a->budget = optarg; break;
    case 'P': a->device_w = optarg; break;
    case 'W': a->radio_w = optarg; break;
    case 'I': a->idle_w = optarg; break;
    case 'D': a->no_dag = 1; break;
    case 'S': a->insecure = 1; break;
    case 'j': a->json = 1; break;
    case 'q': a->quiet = 1; break;
    case 'o': a->out = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': cli_version("plan"); return 0;
    case ':': return fprintf(stderr, PROG " plan: %s needs a value\n", argv[optind - 1]), 2;
    default: return fprintf(stderr, PROG " plan: unknown option '%s' (see --help)\n", argv[optind - 1]), 2;
    }
    if (rc) return rc;
  }
  if (optind < argc) return fprintf(stderr, PROG " plan: unexpected argument '%s'\n", argv[optind]), 2;
  const char *missing = !a->device ? "--device" : !a->edge ? "--edge" : !a->bandwidth ? "--bandwidth"
                        : !a->rtt ? "--rtt" : NULL;
  if (missing) return fprintf(stderr, PROG " plan: %s is needed (see --help)\n", missing), 2;
  if (!a->cloud != !a->cloud_bandwidth || !a->cloud != !a->cloud_rtt)
    return fprintf(stderr, PROG " plan: --cloud, --cloud-bandwidth and --cloud-rtt go together\n"), 2;
  return -1;
}

/* Turns the figures into options; returns -1 to go on, else 2 (printed). */
static int figures(const plan_args *a, cl_plan_options *o) {
  cl_error err = {0};
  memset(o, 0, sizeof *o);
  o->accuracy_budget = -1;
  o->codec = a->codec ? a->codec : "auto";
  if (cl_units_bandwidth(a->bandwidth, &o->link.bandwidth_bps, &err) != CL_OK ||
      cl_units_duration_ms(a->rtt, &o->link.rtt_ms, &err) != CL_OK ||
      (a->cloud_bandwidth && cl_units_bandwidth(a->cloud_bandwidth, &o->cloud_link.bandwidth_bps, &err) != CL_OK) ||
      (a->cloud_rtt && cl_units_duration_ms(a->cloud_rtt, &o->cloud_link.rtt_ms, &err) != CL_OK) ||
      (a->memory && cl_units_bytes(a->memory, &o->device_memory, &err) != CL_OK) ||
      (a->device_w && cl_units_power_w(a->device_w, &o->device_w, &err) != CL_OK) ||
      (a->radio_w && cl_units_power_w(a->radio_w, &o->radio_w, &err) != CL_OK) ||
      (a->idle_w && cl_units_power_w(a->idle_w, &o->idle_w, &err) != CL_OK))
    return cli_fail(2, "%s", err.msg);
  if (a->memory && o->device_memory == 0) return cli_fail(2, "--device-memory must be > 0");
  int obj = a->objective ? cl_plan_objective_parse(a->objective) : CL_PLAN_LATENCY;
  if (obj < 0) return cli_fail(2, "--objective must be latency, energy or throughput, not '%s'", a->objective);
  o->objective = (cl_plan_objective)obj;
  if (obj == CL_PLAN_ENERGY && (!a->device_w || !a->radio_w || !a->idle_w))
    return cli_fail(2, "--objective energy needs --device-power, --radio-power and --idle-power");
  if (a->budget) {
    char *end;
    double b = strtod(a->budget, &end);
    if (*a->budget == '\0' || *end != '\0' || !isfinite(b) || b < 0)
      return cli_fail(2, "--accuracy-budget must be a number >= 0 (a relative L2 error), not '%s'", a->budget);
    o->accuracy_budget = b;
  }
  cl_codec codec;
  if (strcmp(o->codec, "auto") != 0 && cl_codec_parse(o->codec, &codec, &err) != CL_OK)
    return cli_fail(2, "--codec: %s", err.msg);
  o->min_cut = (int)a->min_cut;
  o->no_dag = a->no_dag;
  o->insecure = a->insecure;
  o->device_path = a->device, o->edge_path = a->edge, o->cloud_path = a->cloud;
  return -1;
}

int cli_plan(int argc, char **argv) {
  plan_args a;
  cl_plan_options o;
  int rc = parse(argc, argv, &a);
  if (rc >= 0 || (rc = figures(&a, &o)) >= 0) return rc;
  cl_profile *dev = NULL, *edge = NULL, *cloud = NULL;
  cl_plan *p = NULL;
  cl_error err = {0};
  rc = 0;
  if (cl_profile_load(a.device, &dev, &err) != CL_OK || cl_profile_load(a.edge, &edge, &err) != CL_OK ||
      (a.cloud && cl_profile_load(a.cloud, &cloud, &err) != CL_OK))
    rc = cli_fail(1, "%s", err.msg);
  if (rc == 0 && o.min_cut > dev->n_nodes)
    rc = cli_fail(2, "--min-cut %d is beyond the model's cuts 0..%d", o.min_cut, dev->n_nodes);
  o.cloud = cloud;
  if (rc == 0 && cl_plan_make(dev, edge, &o, &p, &err) != CL_OK) rc = cli_fail(1, "%s", err.msg);
  if (rc == 0 && a.out && cl_plan_save(p, a.out, &err) != CL_OK) rc = cli_fail(1, "%s", err.msg);
  if (rc == 0 && !a.quiet) {
    if (a.json) cli_json_plan(stdout, p);
    else cli_print_plan(stdout, p);
  }
  cl_plan_free(&p);
  cl_profile_free(&dev);
  cl_profile_free(&edge);
  cl_profile_free(&cloud);
  return rc;
}
