/* cleave-partitioner: measures a model on this host (profile), chooses where to cut it for a device,
 * a worker and a link (plan), and prints profiles and plans (show). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/model.h"
#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " profile --model M.onnx [--input IN]... [--runs N] [--threads N]\n"
          "                          [--codecs LIST] -o PROFILE\n"
          "       " PROG " plan --device PROFILE --edge PROFILE --bandwidth 10mbit --rtt 20ms\n"
          "                          [--objective latency|energy|throughput] [...] [-o PLAN]\n"
          "       " PROG " show PROFILE|PLAN [--json]\n"
          "\n"
          "Measures every layer and every cut of a model on this host, and chooses the cut that is\n"
          "best for a device, a worker and a link. `" PROG " SUBCOMMAND --help` for each.\n"
          "docs/PARTITIONER.md describes the files and the cost model.\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time, 2 bad usage.\n");
}

int cli_int(const char *s, const char *flag, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) {
    fprintf(stderr, PROG ": %s must be an integer in [%ld, %ld], not '%s'\n", flag, lo, hi, s);
    return 2;
  }
  *out = v;
  return 0;
}

int cli_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return status;
}

void cli_version(const char *sub) { printf(PROG "%s%s %s\n", sub ? " " : "", sub ? sub : "", cl_version()); }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, PROG ": which subcommand? profile, plan or show (see --help)\n");
    return 2;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) return usage(stdout), 0;
  if (!strcmp(sub, "--version")) return cli_version(NULL), 0;
  if (!strcmp(sub, "profile")) return cli_profile(argc - 1, argv + 1);
  if (!strcmp(sub, "plan")) return cli_plan(argc - 1, argv + 1);
  if (!strcmp(sub, "show")) return cli_show(argc - 1, argv + 1);
  fprintf(stderr, PROG ": unknown subcommand '%s' (profile, plan, show; see --help)\n", sub);
  return 2;
}
