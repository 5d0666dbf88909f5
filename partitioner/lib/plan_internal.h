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

/* The reply to a request sent with codec j, encoded on `from` (the edge or the cloud profile) with
 * j's lossless counterpart: its bytes, the encode time there and the device's decode time. Without a
 * lossless counterpart in the profiles: the raw output bytes and no codec time. Sealing included. */
void cl_plan_reply_cost(const planner *pl, int j, const cl_profile *from, uint64_t *bytes, double *enc,
                        double *dec);

/* Runs the DAG search for plan p (one-cut plans, latency or energy): fills p->dag. Never fails the
 * plan: problems end up in p->dag.note. */
void cl_plan_dag_search(const planner *pl, cl_plan *p);

#endif
