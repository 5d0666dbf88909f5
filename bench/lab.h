/* cleave-bench: the emulated deployment, made of real kernel mechanisms (root only).
 *
 *   device netns  CBNS-d  veth cbdPID 10.77.0.1/24, tbf on its egress: the uplink
 *   edge netns    CBNS-e  veth cbePID 10.77.0.2/24, tbf on its egress: the downlink; lo for the
 *                         edge and the delaying relay (relay.h) between them
 *   cgroup v1     /sys/fs/cgroup/cpu/cbench-PID: the device's CPU quota (1/slowdown of one core)
 *
 * with CBNS = "cbench-PID" and PID this process's id. Every name starts with "cbench-" (veths with
 * "cbd"/"cbe"), so cl_lab_clean_leftovers finds what a killed run left: it removes the objects of
 * runs whose process is gone, never those of a live cleave-bench. All commands are iproute2's `ip`
 * and `tc` (no netem, fq or cake needed; tbf only), and writes to the cgroup files. */
#ifndef CLEAVE_BENCH_LAB_H
#define CLEAVE_BENCH_LAB_H

#include <stdio.h>

#include "cleave/status.h"

#define CL_LAB_DEV_IP "10.77.0.1"
#define CL_LAB_EDGE_IP "10.77.0.2"
#define CL_LAB_CGROUP_ROOT "/sys/fs/cgroup/cpu"

typedef struct cl_lab {
  int id;                     /* the owning process's pid, in every name */
  char ns_dev[32], ns_edge[32];
  char veth_dev[16], veth_edge[16];
  char cgroup[128];           /* the device's cpu cgroup directory */
  int made_ns_dev, made_ns_edge, made_cgroup;
  double rate_bps;            /* the current shaping (0: none yet) */
  double slowdown;            /* the current CPU quota factor (1: none) */
  unsigned long burst, limit; /* the current tbf burst and queue limit, bytes */
} cl_lab;

/* Checks what the lab needs without changing anything: root (effective uid 0), `ip` and `tc` on the
 * PATH or in /sbin, /usr/sbin, /bin, /usr/bin, and the cgroup v1 cpu controller with CFS bandwidth
 * (cpu.cfs_quota_us). Errors (one line naming what is missing): CL_ERR_UNSUPPORTED. */
cl_status cl_lab_check(cl_error *err) CL_MUST_CHECK;

/* Creates the two namespaces, the veth pair with its addresses, the cgroup (no quota yet) and checks
 * that tbf can be attached (CL_ERR_UNSUPPORTED: "the kernel has no tbf qdisc"). Everything made is
 * recorded in lab, so cl_lab_down removes exactly that, also after a failure halfway. */
cl_status cl_lab_up(cl_lab *lab, cl_error *err) CL_MUST_CHECK;

/* Shapes both directions to rate_bps with tbf (tc qdisc replace; burst and limit from the rate:
 * cl_lab_tbf_params). */
cl_status cl_lab_shape(cl_lab *lab, double rate_bps, cl_error *err) CL_MUST_CHECK;

/* tbf's burst (bytes: at least two 1514-byte frames, else 1 ms at the rate: from 1 Gbit/s on that
 * exceeds a 64 KiB GSO packet, which tbf would otherwise split and time in software) and queue limit
 * (bytes: at least 4 MiB, else 100 ms at the rate: more than TCP small queues let one socket queue,
 * so the bucket never drops). */
void cl_lab_tbf_params(double rate_bps, unsigned long *burst, unsigned long *limit);

/* Sets the device cgroup's CFS quota to 1/factor of one CPU (factor 1: no quota). The period is the
 * shortest that keeps the quota at the kernel's minimum of 1 ms: factor x 1 ms, at most 1 s. */
cl_status cl_lab_slow(cl_lab *lab, double factor, cl_error *err) CL_MUST_CHECK;

/* The quota and period cl_lab_slow sets for a factor, in microseconds (quota -1: none). */
void cl_lab_quota(double factor, long *quota_us, long *period_us);

/* Removes everything cl_lab_up made: kills what still runs in the namespaces and the cgroup (only our
 * children can be there), deletes the namespaces (which removes the veths) and the cgroup.
 * Idempotent; never fails (problems go to log, which may be NULL). */
void cl_lab_down(cl_lab *lab, FILE *log);

/* Removes the lab objects (namespaces, stray veths, cgroups) of cleave-bench runs that are no longer
 * running. Returns how many objects it removed; writes one line per object to log (may be NULL). */
int cl_lab_clean_leftovers(FILE *log);

#endif
