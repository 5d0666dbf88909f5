/* cleave end-to-end: the binaries as child processes of a Criterion test. A scratch directory,
 * keys written as files (cleave-keygen's format), cleave-edge started and its endpoint read from its
 * banner, any binary run to its exit, and the resident memory of a process. A child dies with the
 * test (PR_SET_PDEATHSIG), so a failed assert leaves no edge behind. Include from test files only. */
#ifndef CLEAVE_TESTS_PROC_UTIL_H
#define CLEAVE_TESTS_PROC_UTIL_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleave/seal.h"

#ifndef CLEAVE_BIN_DIR
#define CLEAVE_BIN_DIR "build/bin"
#endif

#define PROC_PATH_MAX 1024
#define PROC_DIR_MAX 256          /* scratch directories: short, so DIR/NAME always fits a path */
#define PROC_MAX_ARGS 48

/* The directory of cleave's binaries: $CLEAVE_BIN, else the build's. */
static inline const char *proc_bin_dir(void) {
  const char *d = getenv("CLEAVE_BIN");
  return d && *d ? d : CLEAVE_BIN_DIR;
}

static inline void proc_sleep_ms(long ms) {
  nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static inline double proc_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A scratch directory under $TMPDIR (or /tmp); removed with everything in it by proc_rmdir. */
static inline void proc_mkdtemp(char dir[PROC_DIR_MAX]) {
  const char *t = getenv("TMPDIR");
  int n = snprintf(dir, PROC_DIR_MAX, "%s/cleave-e2e-XXXXXX", t && *t ? t : "/tmp");
  cr_assert(n > 0 && n < PROC_DIR_MAX, "TMPDIR is too long");
  cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

static inline void proc_rmdir(const char *dir) {
  char cmd[PROC_PATH_MAX + 16];
  if (!dir[0] || strstr(dir, "cleave-e2e-") == NULL) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Writes DIR/NAME.key and DIR/NAME.pub (cl_keys_generate). */
static inline void proc_keygen(const char *dir, const char *name) {
  char path[PROC_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(path, name, &err), CL_OK, "%s", err.msg);
}

/* Appends file src to file dst. */
static inline void proc_append_file(const char *dst, const char *src) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "ab");
  cr_assert(in && out, "cannot append %s to %s", src, dst);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) cr_assert_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  cr_assert_eq(fclose(out), 0);
}

/* Starts argv[0] (a path) with stdout to /dev/null and stderr to log_path; cpu >= 0 pins it to
 * that CPU. The child gets SIGKILL when the calling thread ends. Returns its pid. */
static inline pid_t proc_spawn(char *const argv[], const char *log_path, int cpu) {
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = open("/dev/null", O_WRONLY), log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || log < 0) _exit(127);
    dup2(out, 1);
    dup2(log, 2);
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* Waits for pid to exit (at most timeout_s; then SIGKILL) and returns its exit status (128 + the
 * signal when killed). */
static inline int proc_wait(pid_t pid, double timeout_s) {
  double end = proc_now_s() + timeout_s;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    cr_assert_geq(r, 0, "waitpid");
    if (proc_now_s() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    proc_sleep_ms(5);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads a whole text file into a malloc'ed string (NULL when it cannot). */
static inline char *proc_read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0, n;
  char *s = malloc(cap);
  while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 1024) s = realloc(s, cap *= 2);
  }
  fclose(f);
  if (s) s[len] = '\0';
  return s;
}

/* Resident memory of a process (its VmRSS), KiB; -1 when unknown. */
static inline long proc_rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  fclose(f);
  return kib;
}

/* === cleave-edge as a process === */

typedef struct edge_proc {
  pid_t pid;
  char log[PROC_PATH_MAX];     /* its stderr */
  char endpoint[128];          /* "tcp://127.0.0.1:PORT", from its banner */
  int port;
} edge_proc;

/* Starts BIN/cleave-edge on tcp://127.0.0.1:* with the extra arguments args[0, n) and waits (up to
 * 60 s: sanitizer builds load slowly) for its "listening on" line. */
static inline void edge_start(edge_proc *e, const char *dir, const char *model,
                              const char *const *args, int n, int cpu) {
  char bin[PROC_PATH_MAX];
  char *argv[PROC_MAX_ARGS];
  int k = 0;
  cr_assert_leq(n, PROC_MAX_ARGS - 8);
  snprintf(bin, sizeof bin, "%s/cleave-edge", proc_bin_dir());
  cr_assert_eq(access(bin, X_OK), 0, "%s is missing (CLEAVE_BIN?)", bin);
  argv[k++] = bin;
  argv[k++] = "--model";
  argv[k++] = (char *)model;
  argv[k++] = "--listen";
  argv[k++] = "tcp://127.0.0.1:*";
  for (int i = 0; i < n; i++) argv[k++] = (char *)args[i];
  argv[k] = NULL;
  memset(e, 0, sizeof *e);
  snprintf(e->log, sizeof e->log, "%s/edge.log", dir);
  e->pid = proc_spawn(argv, e->log, cpu);
  double end = proc_now_s() + 60;
  while (proc_now_s() < end) {
    char *text = proc_read_text(e->log);
    const char *p = text ? strstr(text, "listening on tcp://127.0.0.1:") : NULL;
    if (p && sscanf(p, "listening on tcp://127.0.0.1:%d", &e->port) == 1) {
      snprintf(e->endpoint, sizeof e->endpoint, "tcp://127.0.0.1:%d", e->port);
      free(text);
      return;
    }
    free(text);
    int status;
    if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
      text = proc_read_text(e->log);
      cr_assert_fail("cleave-edge exited at start: %s", text ? text : "(no log)");
    }
    proc_sleep_ms(20);
  }
  cr_assert_fail("cleave-edge did not start within 60 s");
}

/* SIGTERM, then its exit status (0 is a clean stop). */
static inline int edge_stop(edge_proc *e) {
  if (e->pid <= 0) return -1;
  kill(e->pid, SIGTERM);
  int rc = proc_wait(e->pid, 30);
  e->pid = 0;
  return rc;
}

#endif
