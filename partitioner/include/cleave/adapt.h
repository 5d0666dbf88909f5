/* cleave partitioner: choosing the cut per request (cleave-device --cut auto).
 *
 * Two parts, usable alone:
 *
 * - a live link estimate (cl_link_est): bandwidth and RTT from the device's own requests. Each
 *   request gives one sample, the bytes it moved (both ways) and its wire time (round trip minus
 *   the edge's work). Under the current estimate a sample's wire time is RTT + bytes * 8 / B: when
 *   the RTT is the larger share of it, the sample is an RTT observation (wire - bytes * 8 / B);
 *   else a bandwidth observation, kept as ms per byte ((wire - RTT) / bytes). Each parameter is
 *   the median of its last `window` observations, with the prior standing in for missing ones up to
 *   CL_LINK_EST_MIN observations, so one outlier never moves it, whenever it comes. A real change
 *   would take half a window to move a median; so when CL_LINK_EST_CHANGE_STREAK observations in a
 *   row all disagree with the estimate in the same direction (by a factor CL_LINK_EST_CHANGE),
 *   the window restarts from them, with the old estimate as the fill value: a change is followed
 *   after two observations, which matters when they are rare (probes). Requests of one size teach
 *   the parameter that dominates their time (the prediction at that size converges to the truth;
 *   the other parameter keeps its last value); a mix of small and large requests converges on both.
 *
 * - a chooser (cl_adapt_t) with hysteresis: from a device profile, an edge profile and the link
 *   estimate, it chooses as cl_plan_make would (latency objective, no DAG search: the same cut,
 *   codec and predicted time, to the bit) and keeps its current cut
 *   until another one is predicted faster by more than `margin` (relative) and `margin_ms`
 *   (absolute) at `persist` consecutive decisions, one decision every `every` requests, and never
 *   sooner than `dwell` requests after the last switch. While the device runs everything itself
 *   (cut n) it learns nothing about the link, so every `probe_every` requests it sends one request
 *   at the best offloading cut (a real request: its result is used); the interval doubles, up to
 *   CL_ADAPT_PROBE_MAX, while the probes do not lead to a switch. A probe whose sample disagrees
 *   with the estimate (see the link estimate's change detection) is confirmed by a second probe at
 *   the next request, so a link that got better is seen two probes, not two intervals, later.
 *
 * No allocation after creation: cl_adapt_create precomputes, for every cut the planner may choose
 * below n (at or above the minimum cut) and every codec it allows there, the link-independent
 * parts of the predicted time and the bytes each way (cl_plan_make's own arithmetic, shared through
 * plan_internal.h); a decision is a loop over those rows (n x codecs) with the link's terms added.
 * Neither part keeps a pointer to what it was given except the profiles (which must outlive the
 * chooser). Not thread safe: one chooser per request loop. */
#ifndef CLEAVE_ADAPT_H
#define CLEAVE_ADAPT_H

#include <stdint.h>

#include "cleave/plan.h"
#include "cleave/profile.h"
#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* === Live link estimate === */

#define CL_LINK_EST_WINDOW_MAX 64
#define CL_LINK_EST_DEFAULT_WINDOW 15
#define CL_LINK_EST_MIN 3       /* observations before the fill value stops counting */
#define CL_LINK_EST_CHANGE 1.5  /* an observation this far from the estimate (ratio) disagrees */
#define CL_LINK_EST_CHANGE_STREAK 2 /* consecutive disagreements in one direction: a change */
#define CL_LINK_EST_RTT_FLOOR_MS 0.02 /* RTT disagreements must also exceed this */

typedef enum cl_link_sample_use {
  CL_LINK_SAMPLE_REJECTED = 0, /* not finite, negative, or no bytes and no time */
  CL_LINK_SAMPLE_RTT = 1,
  CL_LINK_SAMPLE_BANDWIDTH = 2,
} cl_link_sample_use;

/* One parameter's observations. */
typedef struct cl_link_param {
  double obs[CL_LINK_EST_WINDOW_MAX]; /* a ring of the last observations */
  int n, next;
  double fill;                 /* stands in for missing observations: the prior, or the estimate
                                * when the window was last reset */
  int streak;                  /* consecutive disagreeing observations: > 0 above, < 0 below */
  uint64_t samples, changes;   /* observations, and window resets (changes detected) */
} cl_link_param;

typedef struct cl_link_est {
  cl_link prior;               /* the starting estimate */
  int window;                  /* observations kept per parameter */
  cl_link_param rtt;           /* RTT observations, ms */
  cl_link_param mspb;          /* bandwidth observations, ms per byte */
  cl_link cur;                 /* the estimate now */
  uint64_t rejected;           /* samples refused */
} cl_link_est;

/* Starts from prior (bandwidth > 0, RTT >= 0, both finite: asserted) with `window` observations per
 * parameter (0: CL_LINK_EST_DEFAULT_WINDOW; clamped to CL_LINK_EST_MIN..CL_LINK_EST_WINDOW_MAX). */
void cl_link_est_init(cl_link_est *e, const cl_link *prior, int window);

/* One request: `bytes` moved both ways (headers included), `wire_ms` its time on the link (the
 * round trip minus what the edge computed, decoded and encoded, minus any sealing the cost model
 * counts elsewhere). Says how the sample was used. */
cl_link_sample_use cl_link_est_add(cl_link_est *e, double bytes, double wire_ms);

/* The estimate now (the prior until observations come). */
void cl_link_est_get(const cl_link_est *e, cl_link *out);

/* === Choosing the cut with hysteresis === */

#define CL_ADAPT_DEFAULT_MARGIN 0.10
#define CL_ADAPT_DEFAULT_MARGIN_MS 0.25
#define CL_ADAPT_DEFAULT_PERSIST 3
#define CL_ADAPT_DEFAULT_EVERY 2
#define CL_ADAPT_DEFAULT_DWELL 10
#define CL_ADAPT_DEFAULT_PROBE 16
#define CL_ADAPT_PROBE_MAX 256

typedef struct cl_adapt_options {
  cl_link prior;               /* the starting link estimate (bandwidth > 0, RTT >= 0) */
  const char *codec;           /* NULL or "auto": per cut the best lossless codec; else a codec
                                * name both profiles have (as cl_plan_options.codec) */
  int insecure;                /* 1: no sealing cost (the split runs --insecure) */
  int min_cut;                 /* cuts below are never chosen (0: none) */
  int window;                  /* link observations per parameter (0: default) */
  double margin;               /* relative predicted gain a switch needs (0: default; < 0: none) */
  double margin_ms;            /* absolute predicted gain a switch needs, ms (0: default; < 0: none) */
  int persist;                 /* consecutive decisions that must want a switch (0: default) */
  int every;                   /* requests between decisions (0: default) */
  int dwell;                   /* requests at least between switches (0: default; < 0: none) */
  int probe_every;             /* at cut n, requests between link probes (0: default; < 0: none) */
} cl_adapt_options;

typedef struct cl_adapt_t cl_adapt_t;

/* What to do for the next request. */
typedef struct cl_adapt_choice {
  int cut;                     /* 0..n; n: run everything on the device, send nothing */
  char codec[CL_PROFILE_CODEC_NAME_MAX]; /* "" at cut n */
  int probe;                   /* 1: a link probe (a real request off the current cut) */
  double predicted_ms;         /* this cut's predicted time under the estimate when chosen */
} cl_adapt_choice;

/* What one request at choice c measured (split requests only: cut < n). */
typedef struct cl_adapt_sample {
  int cut;
  uint64_t bytes_up, bytes_down; /* both frames, as cl_split_result reports them */
  double wire_ms;              /* cl_split_result.wire_ms: includes the edge's sealing of the reply */
} cl_adapt_sample;

typedef struct cl_adapt_stats {
  uint64_t requests;           /* choices made */
  uint64_t decisions;          /* plans made to reconsider */
  uint64_t switches;           /* changes of the current cut (or codec) */
  uint64_t probes;             /* probe requests */
  uint64_t samples;            /* samples observed */
} cl_adapt_stats;

/* Makes a chooser for dev and edge (validated profiles of the same model; they must outlive it).
 * The first choice is the prior link's best cut. Errors: CL_ERR_ARG (profiles of different models,
 * options out of range, a codec not in both profiles). On success *out is the caller's
 * (cl_adapt_free). */
cl_status cl_adapt_create(const cl_profile *dev, const cl_profile *edge, const cl_adapt_options *o,
                          cl_adapt_t **out, cl_error *err) CL_MUST_CHECK;

/* Frees the chooser and sets *a to NULL. Safe on NULL and on *a == NULL. */
void cl_adapt_free(cl_adapt_t **a);

/* The cut and codec for the next request (and, every `every` requests, a decision: see the top).
 * Never allocates and never fails (CL_OK): the status and err stay for source compatibility. */
cl_status cl_adapt_next(cl_adapt_t *a, cl_adapt_choice *c, cl_error *err) CL_MUST_CHECK;

/* The decision without hysteresis under link l (bandwidth > 0, RTT >= 0): *best is the cut, codec
 * and predicted_ms that cl_plan_make (latency, the chooser's minimum cut and codec, no accuracy
 * budget, no DAG search) would choose; *offload its best cut below n (ties: the earlier cut), or
 * cut -1 when there is none. Never allocates. */
void cl_adapt_best(const cl_adapt_t *a, const cl_link *l, cl_adapt_choice *best, cl_adapt_choice *offload);

/* The predicted ms of `cut` with `codec` under l, as cl_plan_make's row with that codec forced;
 * cut n: the local run (codec ignored); NAN when the chooser never picks that pair (below the
 * minimum cut, or a codec it does not allow). Never allocates. */
double cl_adapt_predict(const cl_adapt_t *a, const cl_link *l, int cut, const char *codec);

/* Feeds one split request's measurement to the link estimate. The edge's sealing of the reply
 * (which cl_split_result counts in wire_ms, and the cost model in the reply's encode) is taken
 * out with the edge profile's sealing speed. Samples with cut outside [0, n) are ignored. */
void cl_adapt_observe(cl_adapt_t *a, const cl_adapt_sample *s);

/* The current cut (without probes), the link estimate, the counters. */
void cl_adapt_current(const cl_adapt_t *a, cl_adapt_choice *c);
void cl_adapt_link(const cl_adapt_t *a, cl_link *out);
void cl_adapt_stats_get(const cl_adapt_t *a, cl_adapt_stats *st);
const cl_link_est *cl_adapt_estimator(const cl_adapt_t *a);

#ifdef __cplusplus
}
#endif
#endif
