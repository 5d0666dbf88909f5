/* cleave partitioner internal: the planner's state, shared by plan.c (the per-cut table) and
 * plan_dag.c (the DAG-aware search). */
#ifndef CLEAVE_PARTITIONER_PLAN_INTERNAL_H
#define CLEAVE_PARTITIONER_PLAN_INTERNAL_H

#include "cleave/codec.h"
#include "cleave/plan.h"
#include "cleave/profile.h"

/* A codec every profile of the plan has. */
typedef struct plan_codec {
  char name[CL_PROFILE_CODEC_NAME_MAX];
  cl_codec codec;
  int lossy;                  /* a lossy kind (on float tensors) */
  int in_dev, in_edge, in_cloud; /* its index in each profile (-1 for a missing cloud) */
  int reply;                  /* index (in the plan's list) of its lossless counterpart, or -1 */
} plan_codec;

typedef struct planner {
  const cl_profile *dev, *edge, *cloud;
  const cl_plan_options *o;
  int n;
  double *dev_pre, *edge_pre, *cloud_pre; /* prefix sums of node medians, n + 1 each */
  plan_codec codecs[CL_PROFILE_MAX_CODECS];
  int n_codecs;
  int forced;                 /* index of the --codec given, or -1 for auto */
} planner;

/* ms of sending bytes over a link. */
static inline double plan_wire_ms(uint64_t bytes, const cl_link *l) {
  return (double)bytes * 8.0 / l->bandwidth_bps * 1e3;
}

/* ms for host p to seal (open = 0) or open bytes; 0 when the plan counts no sealing. */
static inline double plan_seal_ms(const planner *pl, const cl_profile *p, uint64_t bytes, int open) {
  if (pl->o->insecure) return 0;
  return (double)bytes / 1e6 * (open ? p->open_ms_per_mb : p->seal_ms_per_mb);
}

/* The link-independent parts of a one-cut row (cut k < n, codec j, the edge as the worker): what
 * cl_plan_make's row k adds to the link's terms. Plain numbers, no pointers. */
typedef struct plan_fixed {
  uint64_t bytes_up, bytes_down;
  double device_ms, encode_ms, decode_ms, worker_ms; /* as the row's fields */
  double reply_enc_ms, reply_dec_ms;  /* the reply's encode + seal (worker), open + decode (device) */
} plan_fixed;

/* Fills f for cut k < n and codec j of a set-up planner. */
void cl_plan_fixed_one(const planner *pl, int k, int j, plan_fixed *f);

/* A one-cut row's predicted_ms on link l from its fixed parts: the same terms, added in the same
 * order, as the row cl_plan_make writes (so the result is the same double). Never allocates. */
static inline double plan_fixed_ms(const plan_fixed *f, const cl_link *l, double *up_ms, double *down_ms) {
  *up_ms = plan_wire_ms(f->bytes_up, l);
  *down_ms = plan_wire_ms(f->bytes_down, l);
  double reply = f->reply_enc_ms + *down_ms + f->reply_dec_ms;
  /* cl_plan_make adds hop2_ms and cloud_ms (0 in one-cut rows) before reply_ms: x + 0 == x */
  return f->device_ms + f->encode_ms + *up_ms + l->rtt_ms + f->decode_ms + f->worker_ms + reply;
}

/* Checks dev, edge and o as cl_plan_make does and fills pl (which keeps pointers to all three: they
 * must outlive it). Errors as cl_plan_make's (CL_ERR_ARG, CL_ERR_LIMIT, CL_ERR_NOMEM). On success the
 * caller frees pl's sums with cl_plan_teardown; on failure nothing is left to free. */
cl_status cl_plan_setup(planner *pl, const cl_profile *dev, const cl_profile *edge, const cl_plan_options *o,
                        cl_error *err) CL_MUST_CHECK;
void cl_plan_teardown(planner *pl);

/* 1 when codec j may carry cut k's frontier under pl's options, else 0 and why (cap bytes). */
int cl_plan_codec_allowed(const planner *pl, int j, int k, char *why, size_t cap);

/* 1 when first cut k passes the minimum cut and the memory budget, else 0 and r->why; sets
 * r->device_bytes either way. */
int cl_plan_cut_feasible(const planner *pl, int k, cl_plan_row *r);

/* The reply to a request sent with codec j, encoded on `from` (the edge or the cloud profile) with
 * j's lossless counterpart: its bytes, the encode time there and the device's decode time. Without a
 * lossless counterpart in the profiles: the raw output bytes and no codec time. Sealing included. */
void cl_plan_reply_cost(const planner *pl, int j, const cl_profile *from, uint64_t *bytes, double *enc,
                        double *dec);

/* Runs the DAG search for plan p (one-cut plans, latency or energy): fills p->dag. Never fails the
 * plan: problems end up in p->dag.note. */
void cl_plan_dag_search(const planner *pl, cl_plan *p);

#endif
