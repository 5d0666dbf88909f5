/* cleave-bench: the throttle calibration of a device profile taken under a CPU quota.
 *
 * A CFS quota does not slow each instruction: the device runs at full speed until its quota of the
 * period is spent, then stalls for the rest of the period. A node that happens to run at that moment
 * takes the stall, most do not, so the per-node medians a profile keeps sum to about the unthrottled
 * time while a whole run takes `slowdown` times longer (measured: MobileNetV2 at 4x, node medians
 * 8.4 ms, whole run 31 ms). The stall lands on a node with a probability proportional to its length,
 * so each node's mean time is its median times f = run median / sum of node medians; a truly slow
 * device (a Pi) would show those times directly. cl_calib_profile writes a copy of the profile with
 * every node's median and p90 scaled by f (codec and seal times are left as measured: their timed
 * repetitions are long enough to include the stalls), which cleave-partitioner then plans with as
 * with any profile. Unthrottled profiles have f close to 1 and are copied scaled by it all the same.
 * Needs the partitioner library (bench -> partitioner, ARCHITECTURE.md). */
#ifndef CLEAVE_BENCH_CALIB_H
#define CLEAVE_BENCH_CALIB_H

#include "cleave/status.h"

/* f for a whole-run median and a sum of node medians: run / nodes when both are finite and positive
 * and run > nodes, else 1 (never below 1: the quota only slows). */
double cl_calib_factor(double run_median_ms, double node_sum_ms);

/* Reads the profile at in, scales its node times by cl_calib_factor of its own run median and node
 * medians, and writes it to out (in and out may be the same file). *f_out (may be NULL) gets f.
 * Errors: the profile reader's and writer's (CL_ERR_IO, CL_ERR_FORMAT, ...), one line. */
cl_status cl_calib_profile(const char *in, const char *out, double *f_out, cl_error *err) CL_MUST_CHECK;

#endif
