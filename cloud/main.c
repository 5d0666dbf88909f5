/* cleave-cloud: the broker between devices (cleave-device --edge BROKER) and workers (cleave-edge
 * --connect BROKER_WORKERS). Exit status: 0 stopped by a signal, 1 failed at run time, 2 bad usage. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cleave/model.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: cleave-cloud --devices ENDPOINT --workers ENDPOINT [--heartbeat MS]\n"
          "                    [--max-pending N] [--max-message BYTES] [--queue N] [--quiet]\n"
          "\n"
          "Brokers split inference between many devices and many workers. Devices connect to\n"
          "--devices exactly as to one cleave-edge (cleave-device --edge ENDPOINT); workers are\n"
          "cleave-edge --connect ENDPOINT-of---workers, all with the same model and edge key.\n"
          "Each device's session lands on the readiest worker; a worker silent for 3 heartbeats\n"
          "is dropped and its devices are sent to another one. The broker holds no key: it reads\n"
          "headers and forwards the sealed payloads as they are. Runs until SIGINT or SIGTERM.\n"
          "\n"
          "  --devices ENDPOINT    where devices connect, e.g. tcp://0.0.0.0:5555\n"
          "  --workers ENDPOINT    where workers connect, e.g. tcp://0.0.0.0:5556\n"
          "  --heartbeat MS        heartbeat interval, both ways (default 1000)\n"
          "  --max-pending N       messages in flight to workers, and sessions routed (default 8192)\n"
          "  --max-message BYTES   largest frame accepted (default 268435456)\n"
          "  --queue N             messages queued per peer (default 1000)\n"
          "  --quiet               log errors only (workers joining and lost are still logged)\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 stopped by a signal, 1 failed at run time, 2 bad usage.\n");
}

static int parse_long(const char *s, const char *flag, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "cleave-cloud: %s must be an integer in [%ld, %ld], not '%s'\n", flag, lo, hi,
            s);
    return 2;
  }
  *out = v;
  return 0;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, cl_broker_options *o, int *quiet) {
  static const struct option opts[] = {
      {"devices", required_argument, 0, 'd'}, {"workers", required_argument, 0, 'w'},
      {"heartbeat", required_argument, 0, 'H'}, {"max-pending", required_argument, 0, 'p'},
      {"max-message", required_argument, 0, 'm'}, {"queue", required_argument, 0, 'q'},
      {"quiet", no_argument, 0, 'Q'}, {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  int c;
  long v = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'd': o->front = optarg; break;
    case 'w': o->back = optarg; break;
    case 'H': rc = parse_long(optarg, "--heartbeat", 10, 60000, &v), o->heartbeat_ms = (int)v; break;
    case 'p': rc = parse_long(optarg, "--max-pending", 1, 1000000, &v), o->max_pending = (int)v; break;
    case 'm': rc = parse_long(optarg, "--max-message", 65536, 1L << 34, &v), o->max_message = v; break;
    case 'q': rc = parse_long(optarg, "--queue", 1, 1000000, &v), o->queue = (int)v; break;
    case 'Q': *quiet = 1; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cleave-cloud %s\n", cl_version()); return 0;
    default:
      fprintf(stderr, "cleave-cloud: unknown or incomplete option '%s' (see --help)\n",
              argv[optind - 1]);
      return 2;
    }
    if (rc) return rc;
  }
  if (optind < argc) {
    fprintf(stderr, "cleave-cloud: unexpected argument '%s' (see --help)\n", argv[optind]);
    return 2;
  }
  if (!o->front || !o->back) {
    fprintf(stderr, "cleave-cloud: %s is required (see --help)\n", !o->front ? "--devices" : "--workers");
    return 2;
  }
  return -1;
}

static cl_broker_t *g_broker;

static void on_signal(int sig) {
  (void)sig;
  if (g_broker) cl_broker_stop(g_broker);
}

static void log_line(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "cleave-cloud: %s\n", line);
}

int main(int argc, char **argv) {
  cl_broker_options o;
  int quiet = 0;
  int rc = parse_args(argc, argv, &o, &quiet);
  if (rc >= 0) return rc;
  o.log = log_line;
  cl_error err = {0};
  if (cl_broker_create(&o, &g_broker, &err) != CL_OK) {
    fprintf(stderr, "cleave-cloud: %s\n", err.msg);
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  fprintf(stderr, "cleave-cloud: devices on %s, workers on %s\n",
          cl_broker_front_endpoint(g_broker), cl_broker_back_endpoint(g_broker));
  if (cl_broker_run(g_broker, &err) != CL_OK) {
    fprintf(stderr, "cleave-cloud: %s\n", err.msg);
    rc = 1;
  } else {
    rc = 0;
  }
  cl_broker_stats st;
  cl_broker_stats_get(g_broker, &st);
  if (!quiet)
    fprintf(stderr, "cleave-cloud: stopped: %llu forwarded, %llu answered, %llu workers lost, "
            "%llu requests re-routed, %llu refused, %llu dropped\n",
            (unsigned long long)st.forwarded, (unsigned long long)st.answered,
            (unsigned long long)st.workers_lost, (unsigned long long)st.requests_lost,
            (unsigned long long)st.refused, (unsigned long long)st.dropped);
  cl_broker_t *b = g_broker;
  g_broker = NULL;
  cl_broker_free(&b);
  return rc;
}
