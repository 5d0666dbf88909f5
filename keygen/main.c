/* cleave-keygen: writes a long-term X25519 key pair for cleave's secure channel: PATH.key (the
 * secret key and its public key, mode 0600) and PATH.pub (the public key, one line). Refuses to
 * overwrite either file. Exit status: 0 done, 1 failed at run time (one line on stderr), 2 bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleave/model.h"
#include "cleave/seal.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: cleave-keygen PATH [--comment TEXT]\n"
          "\n"
          "Writes a new X25519 key pair for cleave's secure channel:\n"
          "  PATH.key  the secret key (mode 0600): give it to --key on this host only\n"
          "  PATH.pub  the public key, one line 'cleave-x25519 <base64> <comment>': give it to the\n"
          "            peer (--edge-pub on a device, a line of --allow on an edge)\n"
          "Existing files are never overwritten.\n"
          "\n"
          "  --comment TEXT  the comment on the public key line (default: PATH's last component);\n"
          "                  one line of at most 256 bytes\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time, 2 bad usage.\n");
}

/* The last component of path, the default comment. */
static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **path, const char **comment) {
  static const struct option opts[] = {{"comment", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {"version", no_argument, 0, 'V'},
                                       {0, 0, 0, 0}};
  int c;
  opterr = 0;
  *comment = NULL;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'c': *comment = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cleave-keygen %s\n", cl_version()); return 0;
    default:
      fprintf(stderr, "cleave-keygen: unknown or incomplete option '%s' (see --help)\n",
              argv[optind - 1]);
      return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "cleave-keygen: %s (see --help)\n",
            optind == argc ? "PATH is required" : "exactly one PATH expected");
    return 2;
  }
  *path = argv[optind];
  if (**path == '\0' || (*path)[strlen(*path) - 1] == '/') {
    fprintf(stderr, "cleave-keygen: PATH must name a file prefix, not '%s'\n", *path);
    return 2;
  }
  if (!*comment) *comment = base_name(*path);
  return -1;
}

int main(int argc, char **argv) {
  const char *path, *comment;
  int rc = parse_args(argc, argv, &path, &comment);
  if (rc >= 0) return rc;
  cl_error err = {0};
  cl_status s = cl_keys_generate(path, comment, &err);
  if (s != CL_OK) {
    fprintf(stderr, "cleave-keygen: %s\n", err.msg);
    return s == CL_ERR_ARG ? 2 : 1;
  }
  printf("cleave-keygen: wrote %s.key (secret, mode 0600) and %s.pub\n", path, path);
  return 0;
}
