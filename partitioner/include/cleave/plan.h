/* cleave partitioner: a plan, the cut chosen for a device, a worker and a link.
 *
 * cl_plan_make predicts, for every cut k in [0, n] (nodes [0, k) on the device, [k, n) on the
 * worker), the time of one request from a device profile and a worker profile of the same model:
 *
 *   device_ms  = sum of the device's node medians over [0, k)
 *   encode_ms  = the device's encode time of the frontier of k under codec c, then sealing its
 *                encoded bytes (the device profile's XChaCha20-Poly1305 cost; not with insecure)
 *   up_ms      = encoded bytes (device-measured) * 8 / bandwidth
 *   rtt_ms     = the link's round-trip time
 *   decode_ms  = the worker's opening of those bytes and decode time of the frontier under c
 *   worker_ms  = sum of the worker's node medians over [k, n)
 *   reply_ms   = worker encode + seal of the outputs (r: c's lossless counterpart, raw with c's
 *                shuffle and LZ4) + their bytes * 8 / bandwidth + the device's open + decode
 *   predicted_ms = the sum;  at k = n: device_ms alone (nothing is sent)
 *
 * Objectives: latency (predicted_ms), energy of the device (mJ = ms x W: (device_ms + encode_ms +
 * the reply's decode) x device W + (up + down wire time) x radio W + the rest of the wait x idle W),
 * throughput of a pipelined stream (stage_ms: the slowest of device compute + codecs, the link up
 * + down, worker decode + compute + reply encode; RTT is hidden by requests in flight).
 * Constraints: a minimum cut (cuts below it are infeasible: the raw input never leaves the device),
 * a device memory budget (peak activations + weights of [0, k)), and the codec: a named one, or
 * "auto", per cut the codec that minimises the objective among the allowed ones. Lossless codecs are
 * always allowed; a lossy one only with an accuracy budget, when its error at that cut was measured
 * (in either profile; the worse counts) and is within the budget, and for f16 when the frontier's
 * largest |x| (device profile) is below half the float16 range.
 * With a cloud profile, two cuts k1 <= k2: device [0, k1), edge [k1, k2), cloud [k2, n), a second
 * link edge -> cloud; the reply travels back through the edge; the second hop is lossless (errors
 * were measured for one lossy hop). Each table row is a first cut with its best second cut.
 *
 * The plan also reports a DAG-aware search (dagcut.h) for the latency and energy objectives: the
 * best predecessor-closed node set, which may beat every prefix on branchy graphs. cleave's
 * executor runs node ranges, so the chosen (executable) cut stays the best prefix; the plan says
 * what the DAG set would gain.
 *
 * A plan is a plain struct; it owns its rows and DAG set (cl_plan_free). It keeps no pointer to the
 * profiles or options it was made from. Plans are files too (proto/partition.proto), untrusted when
 * read back. */
#ifndef CLEAVE_PLAN_H
#define CLEAVE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/profile.h"
#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cl_plan_objective {
  CL_PLAN_LATENCY = 0,
  CL_PLAN_ENERGY = 1,
  CL_PLAN_THROUGHPUT = 2,
} cl_plan_objective;

typedef struct cl_link {
  double bandwidth_bps;       /* bits per second, > 0 */
  double rtt_ms;              /* >= 0 */
} cl_link;

typedef struct cl_plan_options {
  cl_link link;               /* device <-> worker */
  cl_plan_objective objective;
  int min_cut;                /* cuts below are infeasible (0: none) */
  uint64_t device_memory;     /* bytes; 0: no budget */
  const char *codec;          /* "auto" (NULL means auto) or a codec name both profiles have */
  double accuracy_budget;     /* relative L2 error of the output; < 0: none (no lossy codec) */
  double device_w, radio_w, idle_w; /* energy objective (W, >= 0) */
  const cl_profile *cloud;    /* NULL: one cut; else two cuts with cloud_link */
  cl_link cloud_link;
  int no_dag;                 /* 1: skip the DAG search */
  int insecure;               /* 1: no sealing cost (a split run with --insecure) */
  /* Recorded in the plan (may be NULL). */
  const char *device_path, *edge_path, *cloud_path;
} cl_plan_options;

#define CL_PLAN_WHY_MAX 96
#define CL_PLAN_MAX_TWO_CUT_NODES 4096  /* two-cut plans search O(n^2) pairs */

/* One cut (two-cut plans: a first cut with its best second cut). Times in ms. */
typedef struct cl_plan_row {
  int cut, cut2;              /* cut2 = n in one-cut plans */
  char codec[CL_PROFILE_CODEC_NAME_MAX];  /* "" at cut n */
  char codec2[CL_PROFILE_CODEC_NAME_MAX]; /* "" when there is no second hop */
  uint64_t bytes_up, bytes_down;
  double device_ms, encode_ms, up_ms, rtt_ms, decode_ms, worker_ms, hop2_ms, cloud_ms, reply_ms;
  double predicted_ms;        /* the sum of the above */
  double energy_mj;
  double stage_ms;
  uint64_t device_bytes;      /* peak activations + weights of [0, cut) */
  int feasible;
  char why[CL_PLAN_WHY_MAX];  /* "" when feasible */
} cl_plan_row;

typedef struct cl_plan_dag {
  int searched;               /* 0: see note */
  char note[160];
  double topo_cost, dag_cost; /* the objective's unit (ms or mJ) */
  int topo_cut;
  int device_nodes;
  unsigned char *device_set;  /* n entries, 1: node on the device (NULL when not searched) */
  int is_prefix;
  char codec[CL_PROFILE_CODEC_NAME_MAX];
  uint64_t bytes_up;
} cl_plan_dag;

typedef struct cl_plan {
  uint8_t model_hash[CL_PROFILE_HASH_BYTES];
  int n_nodes;
  char device_profile[256], edge_profile[256], cloud_profile[256];
  char device_host[160], edge_host[160], cloud_host[160];
  cl_link link, cloud_link;
  int two_cuts;
  cl_plan_objective objective;
  int min_cut;
  uint64_t device_memory;
  char codec_choice[CL_PROFILE_CODEC_NAME_MAX];
  double accuracy_budget;
  double device_w, radio_w, idle_w;
  int insecure;               /* sealing cost not counted */
  int chosen;                 /* index into rows */
  cl_plan_row *rows;          /* n_nodes + 1, first cut k at index k */
  cl_plan_dag dag;
} cl_plan;

/* The objective's value of a row (predicted_ms, energy_mj or stage_ms). */
double cl_plan_row_cost(const cl_plan *p, const cl_plan_row *r);

/* Makes a plan. dev and edge (and o->cloud) must be validated profiles of the same model (CL_ERR_ARG
 * otherwise, naming what differs); o's figures must be in range (CL_ERR_ARG). Fails with CL_ERR_ARG
 * ("no cut satisfies the constraints: ...") when every row is infeasible. On success *out is the
 * caller's (cl_plan_free). */
cl_status cl_plan_make(const cl_profile *dev, const cl_profile *edge, const cl_plan_options *o,
                       cl_plan **out, cl_error *err) CL_MUST_CHECK;

/* Frees the plan and sets *p to NULL. Safe on NULL and on *p == NULL. */
void cl_plan_free(cl_plan **p);

/* CL_OK when the plan was made for model m (its hash and node count). Errors: CL_ERR_ARG
 * ("plan is for another model (hash ..)"). */
cl_status cl_plan_match_model(const cl_plan *p, const cl_model_t *m, cl_error *err) CL_MUST_CHECK;

/* Name of an objective ("latency", ...), and the reverse (-1 when unknown). */
const char *cl_plan_objective_name(cl_plan_objective o);
int cl_plan_objective_parse(const char *s);

/* === Files (proto/partition.proto) === */

/* Checks a plan read from outside: n + 1 rows in order, finite non-negative times, sums that add
 * up, a chosen row that is feasible and minimal. Errors: CL_ERR_FORMAT. */
cl_status cl_plan_validate(const cl_plan *p, cl_error *err) CL_MUST_CHECK;

cl_status cl_plan_encode(const cl_plan *p, uint8_t **buf, size_t *len, cl_error *err) CL_MUST_CHECK;
cl_status cl_plan_decode(const uint8_t *buf, size_t len, cl_plan **out, cl_error *err) CL_MUST_CHECK;
cl_status cl_plan_save(const cl_plan *p, const char *path, cl_error *err) CL_MUST_CHECK;
cl_status cl_plan_load(const char *path, cl_plan **out, cl_error *err) CL_MUST_CHECK;

/* "cleave-profile" or "cleave-plan" from a file's first field, or NULL (not one of ours). */
const char *cl_plan_file_kind(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
