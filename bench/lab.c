/* cleave-bench: namespaces, the shaped veth pair and the device's cgroup (lab.h). */
#include "lab.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

#define PREFIX "cbench-"
#define CMD_TIMEOUT_S 20.0

/* === Running ip and tc === */

static const char *find_tool(const char *name) {
  static char found[2][64];
  const char *dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
  char *slot = found[strcmp(name, "ip") == 0 ? 0 : 1];
  if (slot[0]) return slot;
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(slot, 64, "%s/%s", dirs[i], name);
    if (access(slot, X_OK) == 0) return slot;
  }
  slot[0] = '\0';
  return NULL;
}

/* Runs `tool args...` (NULL-terminated), output into out (may be NULL). */
static cl_status run_tool(const char *tool, cl_error *err, char *out, size_t cap, ...) {
  const char *path = find_tool(tool);
  if (!path) return cl_error_set(err, CL_ERR_UNSUPPORTED, "%s (iproute2) is not installed", tool);
  char *argv[32];
  int n = 0;
  argv[n++] = (char *)path;
  va_list ap;
  va_start(ap, cap);
  for (const char *a; n < 31 && (a = va_arg(ap, const char *)) != NULL;) argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  return cl_proc_run(argv, NULL, CMD_TIMEOUT_S, out, cap, err);
}

#define IP(err, ...) run_tool("ip", err, NULL, 0, __VA_ARGS__, (const char *)NULL)
#define TC(err, ...) run_tool("tc", err, NULL, 0, __VA_ARGS__, (const char *)NULL)

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int bad = fputs(text, f) < 0;
  bad |= fclose(f) != 0;
  return bad ? -1 : 0;
}

/* === Checks === */

cl_status cl_lab_check(cl_error *err) {
  if (geteuid() != 0)
    return cl_error_set(err, CL_ERR_UNSUPPORTED,
                        "the shaped links need root (network namespaces, tbf, a cgroup CPU quota)");
  if (!find_tool("ip") || !find_tool("tc"))
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "ip and tc (iproute2) are needed for the shaped links");
  if (access(CL_LAB_CGROUP_ROOT "/cpu.cfs_quota_us", W_OK) != 0)
    return cl_error_set(err, CL_ERR_UNSUPPORTED,
                        "no writable cgroup v1 cpu controller with CFS bandwidth at " CL_LAB_CGROUP_ROOT);
  return CL_OK;
}

/* === Up and down === */

cl_status cl_lab_up(cl_lab *lab, cl_error *err) {
  memset(lab, 0, sizeof *lab);
  lab->id = (int)getpid();
  lab->slowdown = 1;
  snprintf(lab->ns_dev, sizeof lab->ns_dev, PREFIX "%d-d", lab->id);
  snprintf(lab->ns_edge, sizeof lab->ns_edge, PREFIX "%d-e", lab->id);
  snprintf(lab->veth_dev, sizeof lab->veth_dev, "cbd%d", lab->id);
  snprintf(lab->veth_edge, sizeof lab->veth_edge, "cbe%d", lab->id);
  snprintf(lab->cgroup, sizeof lab->cgroup, CL_LAB_CGROUP_ROOT "/" PREFIX "%d", lab->id);
  cl_status st = IP(err, "netns", "add", lab->ns_dev);
  if (st != CL_OK) return st;
  lab->made_ns_dev = 1;
  if ((st = IP(err, "netns", "add", lab->ns_edge)) != CL_OK) return st;
  lab->made_ns_edge = 1;
  /* Both ends are born inside their namespaces: nothing is left in the root namespace. */
  st = IP(err, "link", "add", lab->veth_dev, "netns", lab->ns_dev, "type", "veth", "peer", "name",
          lab->veth_edge, "netns", lab->ns_edge);
  if (st != CL_OK) return st;
  if ((st = IP(err, "-n", lab->ns_dev, "addr", "add", CL_LAB_DEV_IP "/24", "dev", lab->veth_dev)) ||
      (st = IP(err, "-n", lab->ns_edge, "addr", "add", CL_LAB_EDGE_IP "/24", "dev", lab->veth_edge)) ||
      (st = IP(err, "-n", lab->ns_dev, "link", "set", "lo", "up")) ||
      (st = IP(err, "-n", lab->ns_edge, "link", "set", "lo", "up")) ||
      (st = IP(err, "-n", lab->ns_dev, "link", "set", lab->veth_dev, "up")) ||
      (st = IP(err, "-n", lab->ns_edge, "link", "set", lab->veth_edge, "up")))
    return st;
  cl_error e2 = {0};
  if (cl_lab_shape(lab, 1e9, &e2) != CL_OK)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "the kernel has no tbf qdisc (%s)", e2.msg);
  if (mkdir(lab->cgroup, 0755) != 0)
    return cl_error_set(err, CL_ERR_IO, "%s: %s", lab->cgroup, strerror(errno));
  lab->made_cgroup = 1;
  return CL_OK;
}

void cl_lab_tbf_params(double rate_bps, unsigned long *burst, unsigned long *limit) {
  double bytes_per_s = rate_bps / 8;
  double b = bytes_per_s * 0.001, l = bytes_per_s * 0.1;
  *burst = (unsigned long)(b > 3028 ? b : 3028);
  *limit = (unsigned long)(l > (4 << 20) ? l : (4 << 20));
}

cl_status cl_lab_shape(cl_lab *lab, double rate_bps, cl_error *err) {
  unsigned long burst, limit;
  cl_lab_tbf_params(rate_bps, &burst, &limit);
  char rate[32], bs[32], ls[32];
  snprintf(rate, sizeof rate, "%.0fbit", rate_bps);
  snprintf(bs, sizeof bs, "%lu", burst);
  snprintf(ls, sizeof ls, "%lu", limit);
  const char *ns[2] = {lab->ns_dev, lab->ns_edge}, *dev[2] = {lab->veth_dev, lab->veth_edge};
  for (int i = 0; i < 2; i++) {
    cl_status st = TC(err, "-n", ns[i], "qdisc", "replace", "dev", dev[i], "root", "tbf", "rate", rate,
                      "burst", bs, "limit", ls);
    if (st != CL_OK) return st;
  }
  lab->rate_bps = rate_bps;
  lab->burst = burst;
  lab->limit = limit;
  return CL_OK;
}

void cl_lab_quota(double factor, long *quota_us, long *period_us) {
  if (!(factor > 1.0001)) {
    *quota_us = -1;
    *period_us = 100000;
    return;
  }
  long period = lround(1000.0 * factor);
  if (period > 1000000) period = 1000000;
  *period_us = period;
  *quota_us = lround((double)period / factor);
  if (*quota_us < 1000) *quota_us = 1000;
}

cl_status cl_lab_slow(cl_lab *lab, double factor, cl_error *err) {
  long quota, period;
  cl_lab_quota(factor, &quota, &period);
  char path[256], v[32];
  /* Lift the quota first: the kernel refuses a period that makes the current quota invalid. */
  snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", lab->cgroup);
  if (write_file(path, "-1") != 0) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  snprintf(path, sizeof path, "%s/cpu.cfs_period_us", lab->cgroup);
  snprintf(v, sizeof v, "%ld", period);
  if (write_file(path, v) != 0) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", lab->cgroup);
  snprintf(v, sizeof v, "%ld", quota);
  if (write_file(path, v) != 0) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  lab->slowdown = factor;
  return CL_OK;
}

/* Kills every task of a cgroup directory, then removes it. */
static int remove_cgroup(const char *dir, FILE *log) {
  char path[512];
  snprintf(path, sizeof path, "%s/tasks", dir);
  for (int round = 0; round < 50; round++) {
    FILE *f = fopen(path, "r");
    int any = 0, pid;
    while (f && fscanf(f, "%d", &pid) == 1) {
      kill(pid, round < 25 ? SIGTERM : SIGKILL);
      any = 1;
    }
    if (f) fclose(f);
    if (!any) break;
    cl_proc_sleep(0.02);
  }
  if (rmdir(dir) != 0 && errno != ENOENT) {
    if (log) fprintf(log, "cleave-bench: could not remove %s: %s\n", dir, strerror(errno));
    return 0;
  }
  return 1;
}

/* Kills what runs in a namespace (`ip netns pids`) and deletes it. */
static int remove_netns(const char *name, FILE *log) {
  char out[4096];
  cl_error e = {0};
  for (int round = 0; round < 50; round++) {
    if (run_tool("ip", &e, out, sizeof out, "netns", "pids", name, (const char *)NULL) != CL_OK) break;
    int any = 0;
    for (char *save = NULL, *t = strtok_r(out, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
      int pid = atoi(t);
      if (pid > 1 && pid != (int)getpid()) { kill(pid, round < 25 ? SIGTERM : SIGKILL); any = 1; }
    }
    if (!any) break;
    cl_proc_sleep(0.02);
  }
  cl_error_clear(&e);
  if (IP(&e, "netns", "del", name) != CL_OK) {
    if (log) fprintf(log, "cleave-bench: could not delete namespace %s: %s\n", name, e.msg);
    return 0;
  }
  return 1;
}

void cl_lab_down(cl_lab *lab, FILE *log) {
  if (lab->made_cgroup) { remove_cgroup(lab->cgroup, log); lab->made_cgroup = 0; }
  if (lab->made_ns_dev) { remove_netns(lab->ns_dev, log); lab->made_ns_dev = 0; }
  if (lab->made_ns_edge) { remove_netns(lab->ns_edge, log); lab->made_ns_edge = 0; }
}

/* === Leftovers === */

/* 1 when pid is a running cleave-bench (then its lab objects are in use). */
static int owner_alive(int pid) {
  if (pid <= 0) return 0;
  if (pid == (int)getpid()) return 1;
  char path[64], comm[64] = "";
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
  fclose(f);
  comm[strcspn(comm, "\n")] = '\0';
  return strcmp(comm, "cleave-bench") == 0;
}

int cl_lab_clean_leftovers(FILE *log) {
  int removed = 0;
  DIR *d = opendir("/run/netns");
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0) continue;
    if (owner_alive(atoi(e->d_name + strlen(PREFIX)))) continue;
    if (remove_netns(e->d_name, log)) {
      removed++;
      if (log) fprintf(log, "cleave-bench: removed namespace %s left by a killed run\n", e->d_name);
    }
  }
  if (d) closedir(d);
  /* veths made by older versions in the root namespace (today both ends are born in their netns). */
  char out[16384];
  cl_error err = {0};
  if (run_tool("ip", &err, out, sizeof out, "-o", "link", "show", (const char *)NULL) == CL_OK) {
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char name[32];
      if (sscanf(line, "%*d: %31[^:@]", name) != 1) continue;
      if ((strncmp(name, "cbd", 3) && strncmp(name, "cbe", 3)) || !name[3]) continue;
      char *end;
      long pid = strtol(name + 3, &end, 10);
      if (*end || owner_alive((int)pid)) continue;
      cl_error e2 = {0};
      if (IP(&e2, "link", "del", name) == CL_OK) {
        removed++;
        if (log) fprintf(log, "cleave-bench: removed link %s left by a killed run\n", name);
      }
    }
  }
  d = opendir(CL_LAB_CGROUP_ROOT);
  while (d && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0) continue;
    if (owner_alive(atoi(e->d_name + strlen(PREFIX)))) continue;
    char dir[512];
    snprintf(dir, sizeof dir, CL_LAB_CGROUP_ROOT "/%s", e->d_name);
    if (remove_cgroup(dir, log)) {
      removed++;
      if (log) fprintf(log, "cleave-bench: removed cgroup %s left by a killed run\n", dir);
    }
  }
  if (d) closedir(d);
  return removed;
}
