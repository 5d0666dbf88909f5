/* cleave partitioner: the DAG min-cut search against brute force (dagcut.h), and through plans. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/dagcut.h"
#include "synth.h"

/* === Random problems === */

typedef struct rproblem {
  cl_dagcut_problem pb;
  int64_t dev[16], wrk[16];
  unsigned char forced[16];
  cl_dagcut_value values[40];
  int readers[40][8];
} rproblem;

/* A random DAG of n nodes: 1-2 graph inputs; each node writes one value read by 0-4 later nodes;
 * some values are graph outputs (the last node's always); weights in [0, 100] with zeros and ties
 * on purpose; sometimes a forced prefix and a fixed cost. */
static void random_problem(uint64_t *rng, int n, rproblem *r) {
  memset(r, 0, sizeof *r);
  int n_in = rng_int(rng, 1, 2), nv = n_in + n;
  int range = rng_int(rng, 0, 1) ? 100 : 5; /* small range: many ties */
  for (int i = 0; i < n; i++) {
    r->dev[i] = rng_int(rng, 0, 5) == 0 ? 0 : rng_int(rng, 0, range);
    r->wrk[i] = rng_int(rng, 0, 5) == 0 ? 0 : rng_int(rng, 0, range);
  }
  int forced = rng_int(rng, 0, 3) == 0 ? rng_int(rng, 1, n) : 0;
  for (int i = 0; i < forced; i++) r->forced[i] = 1;
  for (int v = 0; v < nv; v++) {
    cl_dagcut_value *x = &r->values[v];
    x->producer = v < n_in ? -1 : v - n_in;
    x->xfer = rng_int(rng, 0, range * 2);
    x->is_output = v == nv - 1 || (v >= n_in && rng_int(rng, 0, 7) == 0);
    int first = x->producer + 1, nr = first >= n ? 0 : rng_int(rng, v == 0 ? 1 : 0, 4);
    for (int j = 0; j < nr; j++) r->readers[v][j] = rng_int(rng, first, n - 1);
    x->n_readers = nr;
    x->readers = r->readers[v];
  }
  r->pb = (cl_dagcut_problem){.n = n, .dev = r->dev, .wrk = r->wrk, .forced = forced ? r->forced : NULL,
                              .n_values = nv, .values = r->values,
                              .fixed = rng_int(rng, 0, 1) ? rng_int(rng, 0, range * 3) : 0};
}

static int64_t brute_force(const cl_dagcut_problem *pb) {
  unsigned char on[16];
  int64_t best = -1;
  for (uint32_t mask = 0; mask < (1u << pb->n); mask++) {
    for (int i = 0; i < pb->n; i++) on[i] = (mask >> i) & 1;
    int64_t c = cl_dagcut_cost(pb, on);
    if (c >= 0 && (best < 0 || c < best)) best = c;
  }
  return best;
}

/* === Against brute force === */

Test(dagcut, equals_brute_force_on_random_dags) {
  uint64_t rng = 42;
  int graphs = 0, beats_prefix = 0;
  for (int n = 1; n <= 14; n++)
    for (int g = 0; g < (n <= 8 ? 60 : 40); g++, graphs++) {
      rproblem r;
      random_problem(&rng, n, &r);
      unsigned char on[16];
      int64_t cost = -1;
      cl_error err = {0};
      cr_assert_eq(cl_dagcut_solve(&r.pb, on, &cost, &err), CL_OK, "%s", err.msg);
      int64_t want = brute_force(&r.pb);
      cr_assert_eq(cost, want, "graph %d (n %d): min cut %lld, brute force %lld", graphs, n, (long long)cost,
                   (long long)want);
      cr_assert_eq(cl_dagcut_cost(&r.pb, on), cost, "the set returned must cost what is reported");
      int k;
      int64_t prefix = cl_dagcut_best_prefix(&r.pb, &k);
      cr_assert_geq(prefix, cost, "no prefix may beat the optimum");
      unsigned char pre[16];
      for (int i = 0; i < n; i++) pre[i] = i < k;
      cr_assert_eq(cl_dagcut_cost(&r.pb, pre), prefix, "prefix %d: its cost by definition", k);
      beats_prefix += cost < prefix;
    }
  cr_assert_geq(graphs, 600);
  cr_log_info("%d random DAGs: min cut == brute force on all; %d where a non-prefix set beats every prefix",
              graphs, beats_prefix);
  cr_assert_gt(beats_prefix, 0, "the random graphs should include branchy cases");
}

Test(dagcut, diamond_beats_every_prefix) {
  /* in -> a (expensive on the device), in -> b (cheap on the device, tiny output); a and b -> c.
   * Node order a, b, c. Best: b on the device (its small output goes up), a and c on the worker:
   * a set {b} that is no prefix of (a, b, c). */
  int64_t dev[3] = {100, 1, 100}, wrk[3] = {1, 100, 1};
  int r_in[2] = {0, 1}, r_a[1] = {2}, r_b[1] = {2};
  cl_dagcut_value v[4] = {{.producer = -1, .n_readers = 2, .readers = r_in, .xfer = 10},
                          {.producer = 0, .n_readers = 1, .readers = r_a, .xfer = 1000},
                          {.producer = 1, .n_readers = 1, .readers = r_b, .xfer = 1},
                          {.producer = 2, .is_output = 1, .xfer = 5}};
  cl_dagcut_problem pb = {.n = 3, .dev = dev, .wrk = wrk, .n_values = 4, .values = v, .fixed = 3};
  unsigned char on[3];
  int64_t cost;
  cr_assert_eq(cl_dagcut_solve(&pb, on, &cost, NULL), CL_OK);
  cr_assert(on[0] == 0 && on[1] == 1 && on[2] == 0, "set %d%d%d", on[0], on[1], on[2]);
  cr_assert_eq(cost, 1 + 1 + 1 + 10 + 1 + 3); /* b, a and c on the worker, input and b's output, fixed */
  int k;
  cr_assert_gt(cl_dagcut_best_prefix(&pb, &k), cost);
}

Test(dagcut, forced_nodes_and_bad_problems) {
  int64_t dev[2] = {50, 50}, wrk[2] = {1, 1};
  unsigned char forced[2] = {1, 0};
  int r0[1] = {0}, r1[1] = {1};
  cl_dagcut_value v[3] = {{.producer = -1, .n_readers = 1, .readers = r0, .xfer = 1},
                          {.producer = 0, .n_readers = 1, .readers = r1, .xfer = 1},
                          {.producer = 1, .is_output = 1}};
  cl_dagcut_problem pb = {.n = 2, .dev = dev, .wrk = wrk, .forced = forced, .n_values = 3, .values = v};
  unsigned char on[2];
  int64_t cost;
  cr_assert_eq(cl_dagcut_solve(&pb, on, &cost, NULL), CL_OK);
  cr_assert(on[0] && !on[1]);
  cr_assert_eq(cost, 50 + 1 + 1);
  int bad_reader[1] = {0}; /* a reader before its producer */
  v[1].readers = bad_reader;
  cl_error err = {0};
  cr_assert_eq(cl_dagcut_solve(&pb, on, &cost, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "value 1") != NULL, "%s", err.msg);
  v[1].readers = r1;
  dev[0] = -1;
  cr_assert_eq(cl_dagcut_solve(&pb, on, &cost, NULL), CL_ERR_ARG);
}

/* === Through the planner === */

Test(dagcut, plan_dag_search_matches_the_table_on_random_profiles) {
  uint64_t rng = 7;
  for (int g = 0; g < 150; g++) {
    cl_profile *dev = synth_random(&rng, rng_int(&rng, 1, 12));
    cl_profile *edge = synth_scaled(dev, 0.05 + rng_unit(&rng));
    cl_plan_options o = {.link = {.bandwidth_bps = 1e5 * pow(10, rng_int(&rng, 0, 5)), .rtt_ms = rng_unit(&rng) * 20},
                         .accuracy_budget = -1, .min_cut = rng_int(&rng, 0, dev->n_nodes / 2),
                         .objective = rng_int(&rng, 0, 1) ? CL_PLAN_LATENCY : CL_PLAN_ENERGY,
                         .device_w = 2, .radio_w = 1.5, .idle_w = 0.3};
    cl_plan *p = NULL;
    cl_error err = {0};
    cr_assert_eq(cl_plan_make(dev, edge, &o, &p, &err), CL_OK, "%s", err.msg);
    cr_assert(p->dag.searched, "%s", p->dag.note);
    double best = cl_plan_row_cost(p, &p->rows[p->chosen]);
    /* Same cost model per tensor: the DAG search's best prefix is the table's best row (lossless
     * codecs, no memory budget), up to the integer rounding of the weights. */
    double tol = 1e-5 * (dev->n_nodes + dev->n_values + 2) + 1e-9 * best;
    cr_assert(fabs(p->dag.topo_cost - best) <= tol, "graph %d: DAG prefix %.9g, table %.9g", g,
              p->dag.topo_cost, best);
    cr_assert_leq(p->dag.dag_cost, p->dag.topo_cost + tol);
    unsigned char *on = p->dag.device_set;
    for (int i = 0; i < o.min_cut; i++) cr_assert(on[i], "forced node %d off the device", i);
    cl_plan_free(&p);
    cl_profile_free(&dev);
    cl_profile_free(&edge);
  }
}
