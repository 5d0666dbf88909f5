/* cleave-bench: child processes (proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t cl_proc_stop = 0;

double cl_proc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cl_bench_fmt(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
}

void cl_proc_sleep(double s) {
  double end = cl_proc_now() + s;
  while (!cl_proc_stop) {
    double left = end - cl_proc_now();
    if (left <= 0) break;
    if (left > 0.05) left = 0.05;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

/* === In the child (async-signal-safe calls only until exec) === */

static void child_fail(const char *what, const char *arg) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "cleave-bench: child: %s %s: %s\n", what, arg ? arg : "",
                   strerror(errno));
  if (n > 0) (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  _exit(127);
}

static void child_setup(char *const *argv, const cl_proc_opts *o, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);          /* the parent died before prctl */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) dup2(devnull, 0);
  int out = devnull, errfd = devnull;
  if (o->out_path) {
    out = open(o->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) child_fail("open", o->out_path);
  }
  if (o->err_path && o->out_path && strcmp(o->err_path, o->out_path) == 0) errfd = out;
  else if (o->err_path) {
    errfd = open(o->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (errfd < 0) child_fail("open", o->err_path);
  }
  if (errfd >= 0) dup2(errfd, 2);
  if (out >= 0) dup2(out, 1);
  if (o->netns) {
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", o->netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail("enter network namespace", o->netns);
    close(fd);
  }
  if (o->cgroup) {
    char path[512], pid[32];
    snprintf(path, sizeof path, "%s/tasks", o->cgroup);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (fd < 0 || write(fd, pid, (size_t)n) != n) child_fail("join cgroup", o->cgroup);
    close(fd);
  }
  if (o->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o->cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) child_fail("pin to cpu", NULL);
  }
  execv(argv[0], argv);
  child_fail("exec", argv[0]);
}

/* === In the parent === */

cl_status cl_proc_spawn(char *const *argv, const cl_proc_opts *o, pid_t *pid, cl_error *err) {
  static const cl_proc_opts none = {NULL, NULL, -1, NULL, NULL};
  if (!o) o = &none;
  pid_t parent = getpid();
  fflush(NULL);
  pid_t p = fork();
  if (p < 0) return cl_error_set(err, CL_ERR_IO, "fork: %s", strerror(errno));
  if (p == 0) child_setup(argv, o, parent);
  *pid = p;
  return CL_OK;
}

static int decode_status(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return 255;
}

cl_status cl_proc_wait(pid_t pid, double timeout_s, int *status) {
  double end = timeout_s < 0 ? 0 : cl_proc_now() + timeout_s;
  for (;;) {
    int ws;
    pid_t r = waitpid(pid, &ws, WNOHANG);
    if (r == pid) { *status = decode_status(ws); return CL_OK; }
    if (r < 0 && errno != EINTR) { *status = 255; return CL_OK; }   /* not our child any more */
    if (cl_proc_stop) return CL_ERR_CLOSED;
    if (timeout_s >= 0 && cl_proc_now() > end) return CL_ERR_TIMEOUT;
    struct timespec ts = {0, 2000000};    /* 2 ms: fine enough next to the runs it waits for */
    nanosleep(&ts, NULL);
  }
}

int cl_proc_alive(pid_t pid) {
  int ws;
  pid_t r = waitpid(pid, &ws, WNOHANG);
  return r == 0;
}

void cl_proc_kill(pid_t *pid, double grace_s) {
  if (!pid || *pid <= 0) return;
  kill(*pid, SIGTERM);
  double end = cl_proc_now() + grace_s;
  int ws;
  while (cl_proc_now() < end) {
    pid_t r = waitpid(*pid, &ws, WNOHANG);
    if (r == *pid || (r < 0 && errno == ECHILD)) { *pid = 0; return; }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  kill(*pid, SIGKILL);
  while (waitpid(*pid, &ws, 0) < 0 && errno == EINTR) {}
  *pid = 0;
}

cl_status cl_proc_run(char *const *argv, const cl_proc_opts *o, double timeout_s, char *out, size_t cap,
                      cl_error *err) {
  char outp[] = "/tmp/cleave-bench-out-XXXXXX", errp[] = "/tmp/cleave-bench-err-XXXXXX";
  int fo = mkstemp(outp), fe = mkstemp(errp);
  if (fo < 0 || fe < 0) {
    if (fo >= 0) { close(fo); unlink(outp); }
    if (fe >= 0) { close(fe); unlink(errp); }
    return cl_error_set(err, CL_ERR_IO, "temporary file: %s", strerror(errno));
  }
  cl_proc_opts po = o ? *o : (cl_proc_opts){NULL, NULL, -1, NULL, NULL};
  po.out_path = outp;
  po.err_path = errp;
  pid_t pid = 0;
  cl_status st = cl_proc_spawn(argv, &po, &pid, err);
  int status = 0;
  if (st == CL_OK) {
    st = cl_proc_wait(pid, timeout_s, &status);
    if (st != CL_OK) {
      cl_proc_kill(&pid, 1.0);
      cl_error_set(err, st, "%s: %s", argv[0], st == CL_ERR_TIMEOUT ? "timed out" : "interrupted");
    }
  }
  if (out && cap) {
    ssize_t n = pread(fo, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
  }
  if (st == CL_OK && status != 0) {
    char line[256] = "";
    ssize_t n = pread(fe, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = '\0';
    line[strcspn(line, "\n")] = '\0';
    char cmd[256] = "";
    size_t k = 0;
    int i = 0;
    for (; i < 6 && argv[i] && k < sizeof cmd - 1; i++)
      k += (size_t)snprintf(cmd + k, sizeof cmd - k, "%s%s", i ? " " : "", argv[i]);
    st = cl_error_set(err, CL_ERR_IO, "'%s%s' failed (status %d)%s%s", cmd, argv[i] ? " ..." : "",
                      status, line[0] ? ": " : "", line);
  }
  close(fo);
  close(fe);
  unlink(outp);
  unlink(errp);
  return st;
}
