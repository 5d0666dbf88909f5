/* cleave partitioner: minimum-cost device sets by max-flow / min-cut (dagcut.h). */
#include "cleave/dagcut.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define INF ((int64_t)1 << 62)
#define SUM_LIMIT ((int64_t)1 << 60)

/* === Cost of a set, by definition === */

int64_t cl_dagcut_cost(const cl_dagcut_problem *pb, const unsigned char *on) {
  int64_t cost = 0;
  int all = 1;
  for (int i = 0; i < pb->n; i++) {
    if (pb->forced && pb->forced[i] && !on[i]) return -1;
    cost += on[i] ? pb->dev[i] : pb->wrk[i];
    all &= on[i] != 0;
  }
  int64_t xfer = 0;
  for (int v = 0; v < pb->n_values; v++) {
    const cl_dagcut_value *x = &pb->values[v];
    int made_here = x->producer < 0 || on[x->producer];
    int leaves = x->is_output;
    for (int r = 0; r < x->n_readers; r++) {
      int rd = x->readers[r];
      if (on[rd] && !made_here) return -1; /* not closed under predecessors */
      leaves |= !on[rd];
    }
    if (made_here && leaves) xfer += x->xfer;
  }
  return all ? cost : cost + xfer + pb->fixed;
}

/* === Checks === */

static cl_status check_problem(const cl_dagcut_problem *pb, cl_error *err) {
  if (pb->n < 0 || pb->n > CL_DAGCUT_MAX_NODES || pb->n_values < 0 || pb->n_values > 4 * CL_DAGCUT_MAX_NODES)
    return cl_error_set(err, CL_ERR_LIMIT, "DAG of %d nodes and %d values is beyond the limits", pb->n,
                        pb->n_values);
  int64_t sum = pb->fixed;
  if (pb->fixed < 0 || pb->fixed > CL_DAGCUT_MAX_WEIGHT)
    return cl_error_set(err, CL_ERR_ARG, "DAG fixed cost out of range");
  for (int i = 0; i < pb->n; i++) {
    if (pb->dev[i] < 0 || pb->wrk[i] < 0 || pb->dev[i] > CL_DAGCUT_MAX_WEIGHT || pb->wrk[i] > CL_DAGCUT_MAX_WEIGHT)
      return cl_error_set(err, CL_ERR_ARG, "DAG node %d: weight out of range", i);
    sum += pb->dev[i] + pb->wrk[i];
    if (sum > SUM_LIMIT) return cl_error_set(err, CL_ERR_LIMIT, "DAG weights sum beyond the limit");
  }
  for (int v = 0; v < pb->n_values; v++) {
    const cl_dagcut_value *x = &pb->values[v];
    if (x->producer < -1 || x->producer >= pb->n || x->xfer < 0 || x->xfer > CL_DAGCUT_MAX_WEIGHT ||
        x->n_readers < 0 || (x->n_readers && !x->readers))
      return cl_error_set(err, CL_ERR_ARG, "DAG value %d: producer, weight or readers out of range", v);
    for (int r = 0; r < x->n_readers; r++)
      if (x->readers[r] < 0 || x->readers[r] >= pb->n || x->readers[r] <= x->producer)
        return cl_error_set(err, CL_ERR_ARG, "DAG value %d: reader %d out of range or before its producer",
                            v, x->readers[r]);
    sum += x->xfer;
    if (sum > SUM_LIMIT) return cl_error_set(err, CL_ERR_LIMIT, "DAG weights sum beyond the limit");
  }
  return CL_OK;
}

/* === The flow network === */

typedef struct net {
  int nv, ne, cap_e;
  int *head, *next, *to;      /* adjacency lists; edge e's reverse is e ^ 1 */
  int64_t *cap;               /* residual capacities */
  int *level, *iter, *queue;
  int *pv, *pe;               /* DFS path: vertices and the edges that reach them */
} net;

static void net_free(net *g) {
  free(g->head), free(g->next), free(g->to), free(g->cap);
  free(g->level), free(g->iter), free(g->queue), free(g->pv), free(g->pe);
}

static int net_init(net *g, int nv, int max_edges) {
  memset(g, 0, sizeof *g);
  g->nv = nv;
  g->cap_e = 2 * max_edges;
  g->head = malloc(sizeof(int) * (size_t)nv);
  g->level = malloc(sizeof(int) * (size_t)nv);
  g->iter = malloc(sizeof(int) * (size_t)nv);
  g->queue = malloc(sizeof(int) * (size_t)nv);
  g->pv = malloc(sizeof(int) * ((size_t)nv + 1));
  g->pe = malloc(sizeof(int) * ((size_t)nv + 1));
  g->next = malloc(sizeof(int) * (size_t)g->cap_e + 1);
  g->to = malloc(sizeof(int) * (size_t)g->cap_e + 1);
  g->cap = malloc(sizeof(int64_t) * (size_t)g->cap_e + 1);
  if (!g->head || !g->level || !g->iter || !g->queue || !g->pv || !g->pe || !g->next || !g->to || !g->cap)
    return -1;
  for (int i = 0; i < nv; i++) g->head[i] = -1;
  return 0;
}

static void add_edge(net *g, int u, int v, int64_t c) {
  assert(g->ne + 2 <= g->cap_e);
  g->to[g->ne] = v, g->cap[g->ne] = c, g->next[g->ne] = g->head[u], g->head[u] = g->ne++;
  g->to[g->ne] = u, g->cap[g->ne] = 0, g->next[g->ne] = g->head[v], g->head[v] = g->ne++;
}

/* Levels from s over edges with residual capacity; returns 1 when t is reached. */
static int bfs(net *g, int s, int t) {
  for (int i = 0; i < g->nv; i++) g->level[i] = -1;
  int qh = 0, qt = 0;
  g->level[s] = 0;
  g->queue[qt++] = s;
  while (qh < qt) {
    int u = g->queue[qh++];
    for (int e = g->head[u]; e >= 0; e = g->next[e])
      if (g->cap[e] > 0 && g->level[g->to[e]] < 0) {
        g->level[g->to[e]] = g->level[u] + 1;
        g->queue[qt++] = g->to[e];
      }
  }
  return g->level[t] >= 0;
}

/* Blocking flow on the level graph: repeated augmenting paths found by an iterative DFS with
 * current-arc pointers (a dead end is removed from the level graph). */
static int64_t blocking_flow(net *g, int s, int t) {
  int64_t total = 0;
  for (int i = 0; i < g->nv; i++) g->iter[i] = g->head[i];
  int d = 0;
  g->pv[0] = s;
  while (d >= 0) {
    int u = g->pv[d];
    if (u == t) {
      int64_t b = INF;
      for (int i = 1; i <= d; i++) b = g->cap[g->pe[i]] < b ? g->cap[g->pe[i]] : b;
      int cut_at = d;
      for (int i = d; i >= 1; i--) {
        g->cap[g->pe[i]] -= b;
        g->cap[g->pe[i] ^ 1] += b;
        if (g->cap[g->pe[i]] == 0) cut_at = i - 1;
      }
      total += b;
      d = cut_at; /* resume from the tail of the first saturated edge */
      continue;
    }
    int e = g->iter[u];
    while (e >= 0 && !(g->cap[e] > 0 && g->level[g->to[e]] == g->level[u] + 1)) e = g->next[e];
    g->iter[u] = e;
    if (e >= 0) {
      g->pe[d + 1] = e;
      g->pv[++d] = g->to[e];
    } else {
      g->level[u] = -1; /* dead end */
      if (--d >= 0) g->iter[g->pv[d]] = g->next[g->iter[g->pv[d]]];
    }
  }
  return total;
}

static int64_t max_flow(net *g, int s, int t) {
  int64_t flow = 0;
  while (bfs(g, s, t)) {
    flow += blocking_flow(g, s, t);
    if (flow >= INF) break;
  }
  return flow;
}

/* === Solving === */

/* Vertices: 0 source, 1 sink, 2 + i node i, 2 + n + v the auxiliary vertex of value v. */
static void build(net *g, const cl_dagcut_problem *pb) {
  int n = pb->n;
  for (int i = 0; i < n; i++) {
    add_edge(g, 0, 2 + i, pb->forced && pb->forced[i] ? INF : pb->wrk[i]);
    add_edge(g, 2 + i, 1, pb->dev[i]);
  }
  for (int v = 0; v < pb->n_values; v++) {
    const cl_dagcut_value *x = &pb->values[v];
    if (x->n_readers == 0 && !x->is_output) continue;
    int aux = 2 + n + v, from = x->producer < 0 ? 0 : 2 + x->producer;
    add_edge(g, from, aux, x->xfer);
    if (x->is_output) add_edge(g, aux, 1, INF);
    for (int r = 0; r < x->n_readers; r++) {
      add_edge(g, aux, 2 + x->readers[r], INF);
      if (x->producer >= 0) add_edge(g, 2 + x->readers[r], from, INF); /* precedence */
    }
  }
}

cl_status cl_dagcut_solve(const cl_dagcut_problem *pb, unsigned char *on, int64_t *cost, cl_error *err) {
  assert(pb && on && cost);
  cl_status st = check_problem(pb, err);
  if (st != CL_OK) return st;
  int max_edges = 2 * pb->n;
  for (int v = 0; v < pb->n_values; v++) {
    max_edges += 2 + 2 * pb->values[v].n_readers;
    if (max_edges > (1 << 28)) return cl_error_set(err, CL_ERR_LIMIT, "DAG has too many edges");
  }
  net g;
  if (net_init(&g, 2 + pb->n + pb->n_values, max_edges)) {
    net_free(&g);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory for the DAG search");
  }
  build(&g, pb);
  int64_t flow = max_flow(&g, 0, 1);
  if (flow >= INF) {
    net_free(&g);
    return cl_error_set(err, CL_ERR_ARG, "DAG search: no finite cut (forced nodes)");
  }
  bfs(&g, 0, 1); /* what the source still reaches is the device side */
  for (int i = 0; i < pb->n; i++) on[i] = g.level[2 + i] >= 0;
  net_free(&g);
  int64_t c = cl_dagcut_cost(pb, on);
  int64_t all = 0;
  for (int i = 0; i < pb->n; i++) all += pb->dev[i];
  if (c < 0 || all <= c) { /* device only is at least as good (or the set is not closed: a bug) */
    assert(c >= 0);
    memset(on, 1, (size_t)pb->n);
    c = all;
  }
  *cost = c;
  return CL_OK;
}

int64_t cl_dagcut_best_prefix(const cl_dagcut_problem *pb, int *k_out) {
  int n = pb->n, kmin = 0;
  for (int i = 0; pb->forced && i < n; i++)
    if (pb->forced[i]) kmin = i + 1;
  int64_t *delta = calloc((size_t)n + 2, sizeof *delta);
  if (!delta) return *k_out = n, -1;
  /* Value v crosses cut k for first <= k <= last (its producer + 1 to its last reader, or n). */
  for (int v = 0; v < pb->n_values; v++) {
    const cl_dagcut_value *x = &pb->values[v];
    int first = x->producer + 1, last = x->is_output ? n : -1;
    for (int r = 0; r < x->n_readers; r++) last = x->readers[r] > last ? x->readers[r] : last;
    if (last < first) continue;
    delta[first] += x->xfer;
    delta[last + 1] -= x->xfer;
  }
  int64_t dev = 0, wrk = 0, run = 0, best = -1;
  for (int i = 0; i < n; i++) wrk += pb->wrk[i];
  for (int k = 0; k <= n; k++) {
    run += delta[k];
    int64_t c = k == n ? dev : dev + wrk + run + pb->fixed;
    if (k >= kmin && (best < 0 || c <= best)) best = c, *k_out = k; /* ties: the later cut */
    if (k < n) dev += pb->dev[k], wrk -= pb->wrk[k];
  }
  free(delta);
  return best;
}
