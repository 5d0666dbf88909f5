/* cleave partitioner: the DAG-aware search of a plan (plan.h, dagcut.h).
 *
 * The plan's one-cut cost model, written per tensor: a node costs its device median on the device
 * and its worker median on the worker, a tensor that leaves the device costs its encode + wire +
 * decode time (energy: each part times its power), and the RTT and the reply are paid once when
 * anything is offloaded. Under that model a prefix [0, k) costs what row k of the table costs with
 * the same codec, so the best prefix and the best DAG set compare like for like. One search per
 * allowed lossless codec (errors of lossy codecs were measured for prefixes only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/dagcut.h"
#include "plan_internal.h"

typedef struct dag_build {
  cl_dagcut_problem pb;
  int64_t *dev, *wrk;
  unsigned char *forced;
  cl_dagcut_value *values;
  int *readers;               /* CSR storage of every value's readers */
  double *wdev, *wwrk, *wxfer;/* weights before scaling (ms or mJ) */
  double wfixed;
  double scale;               /* integer units per ms (or mJ) */
} dag_build;

static void build_free(dag_build *b) {
  free(b->dev), free(b->wrk), free(b->forced), free(b->values), free(b->readers);
  free(b->wdev), free(b->wwrk), free(b->wxfer);
}

/* The graph part: readers of every value, forced nodes. */
static int build_graph(const planner *pl, dag_build *b) {
  const cl_profile *d = pl->dev;
  int n = pl->n, nv = d->n_values, total = 0;
  for (int i = 0; i < n; i++) total += d->nodes[i].n_inputs;
  b->dev = calloc((size_t)n + 1, sizeof *b->dev);
  b->wrk = calloc((size_t)n + 1, sizeof *b->wrk);
  b->forced = calloc((size_t)n + 1, 1);
  b->values = calloc((size_t)nv + 1, sizeof *b->values);
  b->readers = malloc(sizeof(int) * ((size_t)total + 1));
  b->wdev = calloc((size_t)n + 1, sizeof(double));
  b->wwrk = calloc((size_t)n + 1, sizeof(double));
  b->wxfer = calloc((size_t)nv + 1, sizeof(double));
  int *count = calloc((size_t)nv + 1, sizeof(int));
  if (!b->dev || !b->wrk || !b->forced || !b->values || !b->readers || !b->wdev || !b->wwrk || !b->wxfer || !count)
    return free(count), -1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d->nodes[i].n_inputs; j++)
      if (d->nodes[i].inputs[j] >= 0) count[d->nodes[i].inputs[j]]++;
  for (int v = 0, off = 0; v < nv; v++) {
    b->values[v].readers = b->readers + off;
    off += count[v];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d->nodes[i].n_inputs; j++) {
      int v = d->nodes[i].inputs[j];
      if (v >= 0) ((int *)b->values[v].readers)[b->values[v].n_readers++] = i;
    }
  free(count);
  for (int v = 0; v < nv; v++) {
    const cl_profile_value *x = &d->values[v];
    b->values[v].producer = x->producer;
    b->values[v].is_output = (x->flags & CL_PROFILE_OUTPUT) != 0;
    if ((x->flags & CL_PROFILE_CONSTANT) || (x->producer < 0 && !(x->flags & CL_PROFILE_INPUT)))
      b->values[v].n_readers = 0, b->values[v].is_output = 0; /* never sent */
  }
  for (int i = 0; i < pl->o->min_cut && i < n; i++) b->forced[i] = 1;
  b->pb = (cl_dagcut_problem){.n = n, .dev = b->dev, .wrk = b->wrk, .forced = b->forced,
                              .n_values = nv, .values = b->values};
  return 0;
}

/* Weights for codec j (ms for latency, mJ for energy), then scaled to integers. */
static void build_weights(const planner *pl, dag_build *b, int j) {
  const cl_plan_options *o = pl->o;
  const plan_codec *c = &pl->codecs[j];
  int energy = o->objective == CL_PLAN_ENERGY;
  double pd = energy ? o->device_w : 1, pr = energy ? o->radio_w : 1, pi = energy ? o->idle_w : 1;
  double total = 0;
  for (int i = 0; i < pl->n; i++) {
    b->wdev[i] = pl->dev->nodes[i].median_ms * pd;
    b->wwrk[i] = pl->edge->nodes[i].median_ms * pi;
    total += b->wdev[i] + b->wwrk[i];
  }
  for (int v = 0; v < pl->dev->n_values; v++) {
    const cl_profile_cost *up = &pl->dev->values[v].codec[c->in_dev];
    double enc = up->encode_ms + plan_seal_ms(pl, pl->dev, up->bytes, 0);
    double dec = pl->edge->values[v].codec[c->in_edge].decode_ms + plan_seal_ms(pl, pl->edge, up->bytes, 1);
    b->wxfer[v] = enc * pd + plan_wire_ms(up->bytes, &o->link) * pr + dec * pi;
    total += b->wxfer[v];
  }
  uint64_t down;
  double renc, rdec;
  cl_plan_reply_cost(pl, j, pl->edge, &down, &renc, &rdec);
  b->wfixed = o->link.rtt_ms * pi + renc * pi + plan_wire_ms(down, &o->link) * pr + rdec * pd;
  total += b->wfixed;
  /* 1e6 units per ms (ns) or per mJ (nJ), less when the sum would pass 2^49. */
  double scale = total > 0 && total * 1e6 > 0x1p49 ? 0x1p49 / total : 1e6;
  b->scale = scale;
  for (int i = 0; i < pl->n; i++) b->dev[i] = llround(b->wdev[i] * scale), b->wrk[i] = llround(b->wwrk[i] * scale);
  for (int v = 0; v < pl->dev->n_values; v++) b->values[v].xfer = llround(b->wxfer[v] * scale);
  b->pb.fixed = llround(b->wfixed * scale);
}

/* Tensor bytes leaving the device set `on` under codec j. */
static uint64_t set_bytes_up(const planner *pl, const dag_build *b, const unsigned char *on, int j) {
  uint64_t s = 0;
  int all = 1;
  for (int i = 0; i < pl->n; i++) all &= on[i] != 0;
  if (all) return 0; /* device only: nothing is sent */
  for (int v = 0; v < pl->dev->n_values; v++) {
    const cl_dagcut_value *x = &b->values[v];
    if (x->n_readers == 0 && !x->is_output) continue;
    if (x->producer >= 0 && !on[x->producer]) continue;
    int leaves = x->is_output;
    for (int r = 0; r < x->n_readers && !leaves; r++) leaves = !on[x->readers[r]];
    if (leaves) s += pl->dev->values[v].codec[pl->codecs[j].in_dev].bytes;
  }
  return s;
}

/* What the result means, in one line. */
static void describe(const planner *pl, cl_plan *p) {
  cl_plan_dag *d = &p->dag;
  const char *unit = pl->o->objective == CL_PLAN_ENERGY ? "mJ" : "ms";
  uint64_t peak, weights;
  cl_profile_memory(pl->dev, d->device_set, &peak, &weights);
  int over = pl->o->device_memory && peak + weights > pl->o->device_memory;
  if (d->is_prefix)
    snprintf(d->note, sizeof d->note, "the best DAG set is the prefix [0, %d): no gain over topological cuts",
             d->device_nodes);
  else
    snprintf(d->note, sizeof d->note, "a non-prefix set of %d nodes: %.4g %s vs %.4g %s at cut %d (%+.1f%%); "
             "not executable (node ranges only)%s", d->device_nodes, d->dag_cost, unit, d->topo_cost,
             unit, d->topo_cut, d->topo_cost > 0 ? 100 * (d->dag_cost - d->topo_cost) / d->topo_cost : 0,
             over ? "; over the memory budget" : "");
}

/* Runs the search for codec j; keeps the best DAG set and the best prefix in p->dag. */
static int search_codec(const planner *pl, dag_build *b, int j, unsigned char *on, cl_plan *p, int *first) {
  build_weights(pl, b, j);
  int64_t cost;
  cl_error err = {0};
  if (cl_dagcut_solve(&b->pb, on, &cost, &err) != CL_OK) {
    snprintf(p->dag.note, sizeof p->dag.note, "not searched: %.140s", err.msg);
    return -1;
  }
  int k;
  double scale = b->scale, dag = (double)cost / scale;
  double topo = (double)cl_dagcut_best_prefix(&b->pb, &k) / scale;
  cl_plan_dag *d = &p->dag;
  if (*first || topo < d->topo_cost) d->topo_cost = topo, d->topo_cut = k;
  if (*first || dag < d->dag_cost) {
    d->dag_cost = dag;
    memcpy(d->device_set, on, (size_t)pl->n);
    snprintf(d->codec, sizeof d->codec, "%s", pl->codecs[j].name);
    d->bytes_up = set_bytes_up(pl, b, on, j);
  }
  *first = 0;
  return 0;
}

void cl_plan_dag_search(const planner *pl, cl_plan *p) {
  cl_plan_dag *d = &p->dag;
  memset(d, 0, sizeof *d);
  if (pl->cloud) {
    snprintf(d->note, sizeof d->note, "not searched: two-cut plans");
    return;
  }
  if (pl->o->objective == CL_PLAN_THROUGHPUT) {
    snprintf(d->note, sizeof d->note, "not searched: throughput (the slowest stage) is not a sum");
    return;
  }
  dag_build b;
  memset(&b, 0, sizeof b);
  unsigned char *on = malloc((size_t)pl->n + 1);
  d->device_set = calloc((size_t)pl->n + 1, 1);
  int first = 1, fail = !on || !d->device_set || build_graph(pl, &b);
  for (int j = 0; !fail && j < pl->n_codecs; j++)
    if (pl->forced >= 0 ? j == pl->forced : !pl->codecs[j].lossy) fail = search_codec(pl, &b, j, on, p, &first);
  if (!fail && first) snprintf(d->note, sizeof d->note, "not searched: no lossless codec");
  if (!fail && !first) {
    d->searched = 1;
    d->device_nodes = 0;
    for (int i = 0; i < pl->n; i++) d->device_nodes += d->device_set[i] != 0;
    d->is_prefix = 1;
    for (int i = 0; i < pl->n; i++) d->is_prefix &= (d->device_set[i] != 0) == (i < d->device_nodes);
    describe(pl, p);
  } else if (!d->note[0]) {
    snprintf(d->note, sizeof d->note, "not searched: out of memory");
  }
  if (!d->searched) free(d->device_set), d->device_set = NULL;
  free(on);
  build_free(&b);
}
