/* cleave partitioner: the best device node set of a DAG, by minimum s-t cut (as DADS, Hu et al.,
 * INFOCOM 2019).
 *
 * A problem is a DAG of nodes and the values they exchange. A device set D is a set of nodes closed
 * under predecessors (a node on the device has every producer of its inputs there too). Its cost:
 *
 *   cost(D) = sum_{i in D} dev[i] + sum_{i not in D} wrk[i]
 *           + sum of xfer[v] over values v produced in D (or graph inputs: produced "before" every
 *             node, on the device) that some node outside D reads, or that is a graph output
 *           + fixed                                   when D is not every node
 *   cost(all nodes) = sum dev[i]                      (device only: nothing is sent)
 *
 * which is the one-cut latency (or energy) model of plan.h with per-tensor transfer costs: a prefix
 * [0, k) costs exactly what the plan's row k costs. Nodes may be forced onto the device (the minimum
 * cut). Weights are integers (the planner uses nanoseconds or nanojoules) so that the max-flow is
 * exact and the brute force agrees to the unit.
 *
 * Solver: the flow graph has the source s (device), the sink t (worker), every node, and one
 * auxiliary vertex per transferred value: s -> i (capacity wrk[i], or "infinite" when forced),
 * i -> t (dev[i]), producer -> aux (xfer[v]; s -> aux for graph inputs), aux -> reader (infinite),
 * aux -> t for graph outputs (infinite), reader -> producer (infinite: precedence). A minimum cut is
 * a minimum-cost predecessor-closed set; Dinic's max-flow finds it (BFS levels, iterative DFS with
 * current-arc pointers: no recursion), and the set is what s still reaches in the residual graph.
 * The result is then compared with "all on the device". */
#ifndef CLEAVE_DAGCUT_H
#define CLEAVE_DAGCUT_H

#include <stdint.h>

#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CL_DAGCUT_MAX_NODES 100000
#define CL_DAGCUT_MAX_WEIGHT ((int64_t)1 << 50) /* every weight and their sum stay below */

typedef struct cl_dagcut_value {
  int producer;               /* node, or -1 for a graph input (on the device) */
  int is_output;              /* 1: a graph output (always goes to the worker, or back in the reply) */
  int n_readers;
  const int *readers;         /* nodes reading it (any order, repeats allowed) */
  int64_t xfer;               /* >= 0: cost of sending it when it crosses */
} cl_dagcut_value;

typedef struct cl_dagcut_problem {
  int n;                      /* nodes, topologically ordered: a producer comes before its readers */
  const int64_t *dev;         /* n costs on the device, >= 0 */
  const int64_t *wrk;         /* n costs on the worker, >= 0 */
  const unsigned char *forced;/* n flags, 1: must be on the device (may be NULL) */
  int n_values;
  const cl_dagcut_value *values;
  int64_t fixed;              /* added when anything leaves the device (RTT, the reply), >= 0 */
} cl_dagcut_problem;

/* Cost of a device set (on[i] != 0: node i on the device) per the formula above; -1 when the set is
 * not closed under predecessors or misses a forced node. */
int64_t cl_dagcut_cost(const cl_dagcut_problem *pb, const unsigned char *on);

/* Finds a minimum-cost device set: on (n entries, the caller's) gets it, *cost its cost.
 * Errors: CL_ERR_ARG (out-of-range ids or weights, a reader before its producer), CL_ERR_LIMIT,
 * CL_ERR_NOMEM. */
cl_status cl_dagcut_solve(const cl_dagcut_problem *pb, unsigned char *on, int64_t *cost,
                          cl_error *err) CL_MUST_CHECK;

/* The best prefix [0, k) under the same costs: *k and its cost (for comparison). */
int64_t cl_dagcut_best_prefix(const cl_dagcut_problem *pb, int *k);

#ifdef __cplusplus
}
#endif
#endif
