/* cleave-bench: child processes, placed where the sweep wants them.
 *
 * A child may be put into a network namespace (by name, /run/netns/NAME as `ip netns` makes it), a
 * cgroup v1 cpu group (by directory), and pinned to one CPU (sched_setaffinity, what `taskset -c`
 * does), with its stdout and stderr sent to files. Every child dies with cleave-bench
 * (PR_SET_PDEATHSIG): a killed sweep leaves no process running. Waiting honours a stop flag (set by
 * the SIGINT/SIGTERM handler) and a deadline. */
#ifndef CLEAVE_BENCH_PROC_H
#define CLEAVE_BENCH_PROC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "cleave/status.h"

typedef struct cl_proc_opts {
  const char *netns;      /* NULL: stay in this namespace */
  const char *cgroup;     /* NULL: none; else a cgroup v1 directory whose tasks file gets the child */
  int cpu;                /* -1: no pinning */
  const char *out_path;   /* NULL: /dev/null */
  const char *err_path;   /* NULL: /dev/null; may equal out_path (one file, appended) */
} cl_proc_opts;

/* The flag the signal handlers set; cl_proc_wait and cl_proc_run return CL_ERR_CLOSED once it is. */
extern volatile sig_atomic_t cl_proc_stop;

/* Starts argv[0] (a path) with argv. The caller keeps argv and o. A failure inside the child (no such
 * namespace, cgroup or binary) makes it exit with status 127 after writing one line to err_path.
 * Errors: CL_ERR_IO (fork). */
cl_status cl_proc_spawn(char *const *argv, const cl_proc_opts *o, pid_t *pid, cl_error *err) CL_MUST_CHECK;

/* Waits for pid to end, at most timeout_s seconds (< 0: no limit). *status gets the exit status
 * (128 + signal when killed). CL_ERR_TIMEOUT when the deadline passes (the child is left running),
 * CL_ERR_CLOSED when cl_proc_stop is set (left running too). */
cl_status cl_proc_wait(pid_t pid, double timeout_s, int *status) CL_MUST_CHECK;

/* 1 while pid runs (not yet reaped), 0 once it has ended (and reaps it). */
int cl_proc_alive(pid_t pid);

/* Ends a child: SIGTERM, up to grace_s seconds, then SIGKILL, then reaps it. Sets *pid to 0. Safe on
 * *pid == 0. */
void cl_proc_kill(pid_t *pid, double grace_s);

/* Runs argv to the end (at most timeout_s) with stdout captured into out (NUL-terminated, truncated to
 * cap; may be NULL) and stderr into err's message on failure. Returns CL_OK when it exits 0;
 * CL_ERR_IO naming the command and its first stderr line otherwise. */
cl_status cl_proc_run(char *const *argv, const cl_proc_opts *o, double timeout_s, char *out, size_t cap,
                      cl_error *err) CL_MUST_CHECK;

/* snprintf for paths and notes, which may be cut short (a cut path is then simply not found): never
 * overflows, always NUL-terminated. */
void cl_bench_fmt(char *buf, size_t cap, const char *fmt, ...) CL_PRINTF(3, 4);

/* Seconds on the monotonic clock. */
double cl_proc_now(void);

/* Sleeps s seconds unless cl_proc_stop is set. */
void cl_proc_sleep(double s);

#endif
