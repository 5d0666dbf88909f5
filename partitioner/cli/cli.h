/* cleave-partitioner: the subcommands and what they share.
 * Exit status everywhere: 0 done, 1 failed at run time (one line on stderr), 2 bad usage. */
#ifndef CLEAVE_PARTITIONER_CLI_H
#define CLEAVE_PARTITIONER_CLI_H

#include <stdio.h>

#include "cleave/plan.h"
#include "cleave/profile.h"

#define PROG "cleave-partitioner"

/* Subcommands: argv[0] is the subcommand's name. */
int cli_profile(int argc, char **argv);
int cli_plan(int argc, char **argv);
int cli_show(int argc, char **argv);

/* Parses an integer in [lo, hi] for flag; prints the error and returns 2 when it is not one. */
int cli_int(const char *s, const char *flag, long lo, long hi, long *out);
/* Prints "cleave-partitioner: <msg>" and returns status. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "cleave-partitioner SUB VERSION". */
void cli_version(const char *sub);

/* Tables (show.c) and JSON (show_json.c). */
void cli_print_profile(FILE *f, const cl_profile *p);
void cli_print_plan(FILE *f, const cl_plan *p);
void cli_json_profile(FILE *f, const cl_profile *p);
void cli_json_plan(FILE *f, const cl_plan *p);

#endif
