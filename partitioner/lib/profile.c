/* cleave partitioner: the profile struct, its graph and what follows from it (profile.h). */
#include "cleave/profile.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "profile_internal.h"

/* === Construction === */

cl_status cl_profile_create(int n_nodes, int n_values, int n_codecs, cl_profile **out,
                            cl_error *err) {
  assert(out);
  *out = NULL;
  if (n_nodes < 0 || n_nodes > CL_PROFILE_MAX_NODES || n_values < 0 ||
      n_values > CL_PROFILE_MAX_VALUES || n_codecs < 0 || n_codecs > CL_PROFILE_MAX_CODECS)
    return cl_error_set(err, CL_ERR_LIMIT,
                        "profile of %d nodes, %d values, %d codecs is beyond the limits (%d, %d, %d)",
                        n_nodes, n_values, n_codecs, CL_PROFILE_MAX_NODES, CL_PROFILE_MAX_VALUES,
                        CL_PROFILE_MAX_CODECS);
  cl_profile *p = calloc(1, sizeof *p);
  if (!p) return cl_error_set(err, CL_ERR_NOMEM, "out of memory for a profile");
  p->n_nodes = n_nodes;
  p->n_values = n_values;
  p->n_codecs = n_codecs;
  p->nodes = calloc((size_t)n_nodes + 1, sizeof *p->nodes);
  p->values = calloc((size_t)n_values + 1, sizeof *p->values);
  p->cuts = calloc((size_t)n_nodes + 1, sizeof *p->cuts);
  int ok = p->nodes && p->values && p->cuts;
  for (int v = 0; ok && v < n_values; v++) {
    p->values[v].producer = -1;
    ok = (p->values[v].codec = calloc((size_t)n_codecs + 1, sizeof(cl_profile_cost))) != NULL;
  }
  for (int k = 0; ok && k <= n_nodes; k++) ok = cl_profile_cut_alloc(&p->cuts[k], n_codecs) == 0;
  if (!ok) {
    cl_profile_free(&p);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory for a profile");
  }
  *out = p;
  return CL_OK;
}

int cl_profile_cut_alloc(cl_profile_cut *c, int n_codecs) {
  c->codec = calloc((size_t)n_codecs + 1, sizeof *c->codec);
  c->rel_l2 = malloc(((size_t)n_codecs + 1) * sizeof *c->rel_l2);
  if (!c->codec || !c->rel_l2) return -1;
  for (int i = 0; i < n_codecs; i++) c->rel_l2[i] = NAN;
  return 0;
}

void cl_profile_cut_release(cl_profile_cut *c) {
  free(c->frontier);
  free(c->codec);
  free(c->rel_l2);
  memset(c, 0, sizeof *c);
}

void cl_profile_free(cl_profile **pp) {
  if (!pp || !*pp) return;
  cl_profile *p = *pp;
  for (int i = 0; p->nodes && i < p->n_nodes; i++) {
    free(p->nodes[i].inputs);
    free(p->nodes[i].outputs);
  }
  for (int v = 0; p->values && v < p->n_values; v++) free(p->values[v].codec);
  for (int k = 0; p->cuts && k <= p->n_nodes; k++) cl_profile_cut_release(&p->cuts[k]);
  free(p->nodes);
  free(p->values);
  free(p->cuts);
  free(p);
  *pp = NULL;
}

static int *copy_ids(const int *ids, int n) {
  int *c = malloc(sizeof(int) * ((size_t)n + 1));
  if (c && n) memcpy(c, ids, sizeof(int) * (size_t)n);
  return c;
}

cl_status cl_profile_set_node_io(cl_profile *p, int node, const int *in, int n_in, const int *outs,
                                 int n_out, cl_error *err) {
  assert(p && node >= 0 && node < p->n_nodes && (in || !n_in) && (outs || !n_out));
  if (n_in < 0 || n_in > CL_PROFILE_MAX_NODE_IO || n_out < 0 || n_out > CL_PROFILE_MAX_NODE_IO)
    return cl_error_set(err, CL_ERR_LIMIT, "node %d has %d inputs and %d outputs (at most %d each)",
                        node, n_in, n_out, CL_PROFILE_MAX_NODE_IO);
  cl_profile_node *nd = &p->nodes[node];
  free(nd->inputs);
  free(nd->outputs);
  nd->inputs = copy_ids(in, n_in);
  nd->outputs = copy_ids(outs, n_out);
  nd->n_inputs = nd->inputs ? n_in : 0;
  nd->n_outputs = nd->outputs ? n_out : 0;
  if (!nd->inputs || !nd->outputs) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  return CL_OK;
}

/* === The graph === */

/* Checks ids, producers and order. A value that a node reads must be a graph input, a constant, or
 * produced by an earlier node; each produced value has exactly one producer. */
cl_status cl_profile_check_graph(const cl_profile *p, cl_error *err) {
  for (int v = 0; v < p->n_values; v++) {
    const cl_profile_value *x = &p->values[v];
    if (x->bytes > CL_MAX_TENSOR_BYTES)
      return cl_error_set(err, CL_ERR_FORMAT, "value %d: %llu bytes is beyond the limit", v,
                          (unsigned long long)x->bytes);
    if (x->flags & ~(CL_PROFILE_INPUT | CL_PROFILE_OUTPUT | CL_PROFILE_CONSTANT))
      return cl_error_set(err, CL_ERR_FORMAT, "value %d: unknown flags %#x", v, x->flags);
    if (x->producer < -1 || x->producer >= p->n_nodes)
      return cl_error_set(err, CL_ERR_FORMAT, "value %d: producer %d out of range", v, x->producer);
    if (x->producer >= 0 && (x->flags & (CL_PROFILE_INPUT | CL_PROFILE_CONSTANT)))
      return cl_error_set(err, CL_ERR_FORMAT, "value %d: an input or constant with a producer", v);
  }
  for (int i = 0; i < p->n_nodes; i++) {
    const cl_profile_node *nd = &p->nodes[i];
    for (int j = 0; j < nd->n_outputs; j++) {
      int v = nd->outputs[j];
      if (v < 0 || v >= p->n_values || p->values[v].producer != i)
        return cl_error_set(err, CL_ERR_FORMAT, "node %d: output %d is not a value it produces", i, v);
    }
    for (int j = 0; j < nd->n_inputs; j++) {
      int v = nd->inputs[j];
      if (v == -1) continue;
      if (v < -1 || v >= p->n_values)
        return cl_error_set(err, CL_ERR_FORMAT, "node %d: input %d out of range", i, v);
      const cl_profile_value *x = &p->values[v];
      if (x->producer >= i || (x->producer < 0 && !(x->flags & (CL_PROFILE_INPUT | CL_PROFILE_CONSTANT))))
        return cl_error_set(err, CL_ERR_FORMAT, "node %d reads value %d before it is produced", i, v);
    }
  }
  for (int v = 0; v < p->n_values; v++) { /* each producer lists its value */
    int pr = p->values[v].producer, found = pr < 0;
    for (int j = 0; !found && j < p->nodes[pr].n_outputs; j++) found = p->nodes[pr].outputs[j] == v;
    if (!found)
      return cl_error_set(err, CL_ERR_FORMAT, "value %d: node %d does not list it as an output", v, pr);
  }
  return CL_OK;
}

/* Lifetimes of the values for the frontier and memory: first cut that can carry the value (producer
 * + 1, 0 for inputs; -1 for constants and values nobody makes) and last reader (-1: none). */
static void lifetimes(const cl_profile *p, int *first, int *last, int *first_reader) {
  for (int v = 0; v < p->n_values; v++) {
    const cl_profile_value *x = &p->values[v];
    int carried = !(x->flags & CL_PROFILE_CONSTANT) && (x->producer >= 0 || (x->flags & CL_PROFILE_INPUT));
    first[v] = carried ? x->producer + 1 : -1;
    last[v] = -1;
    first_reader[v] = -1;
  }
  for (int i = 0; i < p->n_nodes; i++)
    for (int j = 0; j < p->nodes[i].n_inputs; j++) {
      int v = p->nodes[i].inputs[j];
      if (v < 0) continue;
      last[v] = i;
      if (first_reader[v] < 0) first_reader[v] = i;
    }
}

/* The last cut whose frontier holds v (-1: none): outputs stay to cut n, others to their last reader. */
static int frontier_end(const cl_profile *p, int v, const int *first, const int *last) {
  if (first[v] < 0) return -1;
  int end = (p->values[v].flags & CL_PROFILE_OUTPUT) ? p->n_nodes : last[v];
  return end >= first[v] ? end : -1;
}

/* === Deriving the cuts === */

/* Fills frontiers (ids increasing), raw bytes and codec sums of cuts[0, n]. */
static cl_status derive_frontiers(const cl_profile *p, const int *first, const int *last,
                                  cl_profile_cut *cuts, cl_error *err) {
  int n = p->n_nodes;
  int *count = calloc((size_t)n + 2, sizeof *count);
  if (!count) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int v = 0; v < p->n_values; v++) {
    int end = frontier_end(p, v, first, last);
    if (end >= 0) count[first[v]]++, count[end + 1]--;
  }
  cl_status st = CL_OK;
  for (int k = 0, run = 0; k <= n && st == CL_OK; k++) {
    run += count[k];
    if (run > CL_PROFILE_MAX_FRONTIER)
      st = cl_error_set(err, CL_ERR_LIMIT, "cut %d: %d tensors cross it (at most %d)", k, run,
                        CL_PROFILE_MAX_FRONTIER);
    else if (!(cuts[k].frontier = malloc(sizeof(int) * ((size_t)run + 1))))
      st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    cuts[k].n_frontier = 0;
  }
  free(count);
  for (int v = 0; v < p->n_values && st == CL_OK; v++) {
    int end = frontier_end(p, v, first, last);
    for (int k = first[v]; end >= 0 && k <= end; k++) {
      cl_profile_cut *c = &cuts[k];
      c->frontier[c->n_frontier++] = v;
      c->raw_bytes += p->values[v].bytes;
      for (int j = 0; j < p->n_codecs; j++) {
        c->codec[j].bytes += p->values[v].codec[j].bytes;
        c->codec[j].encode_ms += p->values[v].codec[j].encode_ms;
        c->codec[j].decode_ms += p->values[v].codec[j].decode_ms;
      }
    }
  }
  return st;
}

/* Peak activation bytes and weight bytes of every prefix [0, k). For a prefix, the values that leave
 * it live to its end, which is what the whole model's lifetimes give for every node before k, so
 * peak(k) = max(frontier bytes of k, max over i < k of the bytes live at node i). */
static cl_status derive_memory(const cl_profile *p, const int *first, const int *last,
                               const int *first_reader, cl_profile_cut *cuts, cl_error *err) {
  int n = p->n_nodes;
  uint64_t *live = calloc((size_t)n + 2, sizeof *live), *wdiff = calloc((size_t)n + 2, sizeof *wdiff);
  if (!live || !wdiff) {
    free(live), free(wdiff);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  for (int v = 0; v < p->n_values; v++) {
    const cl_profile_value *x = &p->values[v];
    if (x->flags & CL_PROFILE_CONSTANT) {
      if (first_reader[v] >= 0) wdiff[first_reader[v] + 1] += x->bytes;
      continue;
    }
    if (first[v] < 0 || n == 0) continue;
    int start = x->producer >= 0 ? x->producer : 0;
    int end = (x->flags & CL_PROFILE_OUTPUT) ? n - 1 : (last[v] > start ? last[v] : start);
    if (x->producer < 0 && last[v] < 0 && !(x->flags & CL_PROFILE_OUTPUT)) continue; /* unused input */
    live[start] += x->bytes;
    live[end + 1] -= x->bytes;
  }
  uint64_t run = 0, peak = 0, weights = 0;
  for (int k = 0; k <= n; k++) {
    weights += wdiff[k];
    cuts[k].weight_bytes = weights;
    cuts[k].peak_bytes = peak > cuts[k].raw_bytes ? peak : cuts[k].raw_bytes;
    if (k < n) {
      run += live[k];
      peak = run > peak ? run : peak;
    }
  }
  free(live);
  free(wdiff);
  return CL_OK;
}

cl_status cl_profile_derive_cuts(const cl_profile *p, cl_profile_cut *cuts, cl_error *err) {
  cl_status st = cl_profile_check_graph(p, err);
  if (st != CL_OK) return st;
  size_t nv = (size_t)p->n_values + 1;
  int *first = malloc(nv * sizeof(int)), *last = malloc(nv * sizeof(int));
  int *first_reader = malloc(nv * sizeof(int));
  if (!first || !last || !first_reader) st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  if (st == CL_OK) {
    lifetimes(p, first, last, first_reader);
    st = derive_frontiers(p, first, last, cuts, err);
  }
  if (st == CL_OK) st = derive_memory(p, first, last, first_reader, cuts, err);
  free(first);
  free(last);
  free(first_reader);
  return st;
}

/* A fresh array of n + 1 zeroed cuts with their codec arrays; NULL when out of memory. */
cl_profile_cut *cl_profile_cuts_alloc(int n_nodes, int n_codecs) {
  cl_profile_cut *cuts = calloc((size_t)n_nodes + 1, sizeof *cuts);
  for (int k = 0; cuts && k <= n_nodes; k++)
    if (cl_profile_cut_alloc(&cuts[k], n_codecs)) {
      cl_profile_cuts_free(cuts, n_nodes);
      return NULL;
    }
  return cuts;
}

void cl_profile_cuts_free(cl_profile_cut *cuts, int n_nodes) {
  for (int k = 0; cuts && k <= n_nodes; k++) cl_profile_cut_release(&cuts[k]);
  free(cuts);
}

cl_status cl_profile_derive(cl_profile *p, cl_error *err) {
  assert(p);
  cl_profile_cut *cuts = cl_profile_cuts_alloc(p->n_nodes, p->n_codecs);
  if (!cuts) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_profile_derive_cuts(p, cuts, err);
  if (st != CL_OK) {
    cl_profile_cuts_free(cuts, p->n_nodes);
    return st;
  }
  for (int k = 0; k <= p->n_nodes; k++) { /* keep what was measured per cut */
    cuts[k].max_abs = p->cuts[k].max_abs;
    memcpy(cuts[k].rel_l2, p->cuts[k].rel_l2, sizeof(double) * (size_t)p->n_codecs);
  }
  cl_profile_cuts_free(p->cuts, p->n_nodes);
  p->cuts = cuts;
  return CL_OK;
}

/* === Memory of any node set === */

void cl_profile_memory(const cl_profile *p, const unsigned char *on, uint64_t *peak,
                       uint64_t *weights) {
  int n = p->n_nodes;
  uint64_t w = 0, at_end = 0, best = 0;
  /* end[v]: last node of the set that reads v, n when it leaves the set; start[v]: its producer. */
  int *end = malloc(sizeof(int) * ((size_t)p->n_values + 1));
  uint64_t *delta = calloc((size_t)n + 2, sizeof *delta);
  if (!end || !delta) { /* out of memory: report the sum of everything, an upper bound */
    for (int v = 0; v < p->n_values; v++) w += p->values[v].bytes;
    *peak = w, *weights = w;
    free(end), free(delta);
    return;
  }
  for (int v = 0; v < p->n_values; v++) end[v] = (p->values[v].flags & CL_PROFILE_OUTPUT) ? n : -1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < p->nodes[i].n_inputs; j++) {
      int v = p->nodes[i].inputs[j];
      if (v < 0) continue;
      int in = !on || on[i];
      if (p->values[v].flags & CL_PROFILE_CONSTANT) {
        if (in && end[v] != -2) w += p->values[v].bytes, end[v] = -2; /* counted once */
      } else if (end[v] != n) {
        end[v] = in ? i : n;
      }
    }
  for (int v = 0; v < p->n_values; v++) {
    const cl_profile_value *x = &p->values[v];
    if (x->flags & CL_PROFILE_CONSTANT) continue;
    int pr = x->producer;
    if (pr < 0 ? !(x->flags & CL_PROFILE_INPUT) : !(!on || on[pr])) continue; /* not made here */
    int e = end[v];
    if (pr < 0 && e < 0) continue; /* an input nobody reads */
    if (e == n) at_end += x->bytes;
    int s = pr < 0 ? 0 : pr;
    e = e == n ? n - 1 : (e > s ? e : s);
    if (e < s) continue; /* an input of an empty graph */
    delta[s] += x->bytes;
    delta[e + 1] -= x->bytes;
  }
  uint64_t run = 0;
  for (int i = 0; i < n; i++) {
    run += delta[i];
    if ((!on || on[i]) && run > best) best = run;
  }
  *peak = best > at_end ? best : at_end;
  *weights = w;
  free(end);
  free(delta);
}

/* === Queries === */

int cl_profile_codec_index(const cl_profile *p, const char *name) {
  for (int i = 0; i < p->n_codecs; i++)
    if (strcmp(p->codecs[i], name) == 0) return i;
  return -1;
}

double cl_profile_compute_ms(const cl_profile *p, int begin, int end) {
  double s = 0;
  for (int i = begin; i < end; i++) s += p->nodes[i].median_ms;
  return s;
}

char *cl_profile_hex(const uint8_t *h, int n, char *buf) {
  for (int i = 0; i < n; i++) snprintf(buf + 2 * i, 3, "%02x", h[i]);
  buf[2 * n] = '\0';
  return buf;
}

static const char *hash8(const uint8_t *h, char *buf) { return cl_profile_hex(h, 4, buf); }

cl_status cl_profile_match_model(const cl_profile *p, const cl_model_t *m, cl_error *err) {
  char a[9], b[9];
  if (memcmp(p->model_hash, cl_model_hash(m), CL_PROFILE_HASH_BYTES) != 0)
    return cl_error_set(err, CL_ERR_ARG, "profile is for another model (hash %s.., the model's %s..)",
                        hash8(p->model_hash, a), hash8(cl_model_hash(m), b));
  if (p->n_nodes != cl_model_node_count(m) || p->n_values != cl_model_value_count(m))
    return cl_error_set(err, CL_ERR_ARG, "profile has %d nodes and %d values, the model %d and %d",
                        p->n_nodes, p->n_values, cl_model_node_count(m), cl_model_value_count(m));
  for (int i = 0; i < p->n_nodes; i++)
    if (strncmp(p->nodes[i].name, cl_model_node_name(m, i), CL_PROFILE_NAME_MAX - 1) != 0 ||
        strncmp(p->nodes[i].op, cl_model_node_op(m, i), CL_PROFILE_OP_MAX - 1) != 0)
      return cl_error_set(err, CL_ERR_ARG, "profile node %d is %s '%.60s', the model's %s '%.60s'", i,
                          p->nodes[i].op, p->nodes[i].name, cl_model_node_op(m, i),
                          cl_model_node_name(m, i));
  return CL_OK;
}

static int same_ids(const int *a, int na, const int *b, int nb) {
  return na == nb && (na == 0 || memcmp(a, b, sizeof(int) * (size_t)na) == 0);
}

cl_status cl_profile_match(const cl_profile *a, const cl_profile *b, cl_error *err) {
  char x[9], y[9];
  if (memcmp(a->model_hash, b->model_hash, CL_PROFILE_HASH_BYTES) != 0)
    return cl_error_set(err, CL_ERR_ARG, "profiles are for different models (hash %s.. and %s..)",
                        hash8(a->model_hash, x), hash8(b->model_hash, y));
  if (a->n_nodes != b->n_nodes || a->n_values != b->n_values)
    return cl_error_set(err, CL_ERR_ARG, "profiles differ: %d nodes and %d values against %d and %d",
                        a->n_nodes, a->n_values, b->n_nodes, b->n_values);
  for (int i = 0; i < a->n_nodes; i++) {
    const cl_profile_node *p = &a->nodes[i], *q = &b->nodes[i];
    if (strcmp(p->name, q->name) || strcmp(p->op, q->op) ||
        !same_ids(p->inputs, p->n_inputs, q->inputs, q->n_inputs) ||
        !same_ids(p->outputs, p->n_outputs, q->outputs, q->n_outputs))
      return cl_error_set(err, CL_ERR_ARG, "profiles differ at node %d (%s '%.60s')", i, p->op, p->name);
  }
  for (int v = 0; v < a->n_values; v++)
    if (a->values[v].bytes != b->values[v].bytes || a->values[v].flags != b->values[v].flags ||
        a->values[v].producer != b->values[v].producer)
      return cl_error_set(err, CL_ERR_ARG, "profiles differ at value %d", v);
  return CL_OK;
}
