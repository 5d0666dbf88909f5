/* cleave partitioner tests: hand-made and random profiles. Every function is static inline: include
 * this header from test files only. */
#ifndef CLEAVE_PARTITIONER_TESTS_SYNTH_H
#define CLEAVE_PARTITIONER_TESTS_SYNTH_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/plan.h"
#include "cleave/profile.h"

/* === Random numbers (deterministic) === */

static inline uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static inline int rng_int(uint64_t *s, int lo, int hi) { /* [lo, hi] */
  return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}
static inline double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

/* === Chains === */

/* A chain of n nodes: value 0 is the input, node i reads value i and writes value i + 1, value n is
 * the output; frontier(k) = {value k}. codecs: "raw" (always) and "f16" when with_f16. Each value
 * gets bytes[k] raw bytes; raw encodes to the same bytes, f16 to half; codec times 0. Device and
 * worker medians from dev_ms. The caller fills the rest and calls synth_finish. */
static inline cl_profile *synth_chain(int n, const double *dev_ms, const uint64_t *bytes, int with_f16) {
  cl_profile *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_profile_create(n, n + 1, with_f16 ? 2 : 1, &p, &err), CL_OK, "%s", err.msg);
  snprintf(p->codecs[0], sizeof p->codecs[0], "raw");
  if (with_f16) snprintf(p->codecs[1], sizeof p->codecs[1], "f16");
  p->runs = 1, p->codec_reps = 1, p->host.threads = 1, p->host.cores = 1;
  snprintf(p->host.cpu, sizeof p->host.cpu, "synthetic");
  for (int i = 0; i < n; i++) {
    int in = i, out = i + 1;
    cr_assert_eq(cl_profile_set_node_io(p, i, &in, 1, &out, 1, &err), CL_OK);
    snprintf(p->nodes[i].name, sizeof p->nodes[i].name, "node%d", i);
    snprintf(p->nodes[i].op, sizeof p->nodes[i].op, "Conv");
    p->nodes[i].median_ms = p->nodes[i].p90_ms = dev_ms[i];
  }
  for (int v = 0; v <= n; v++) {
    cl_profile_value *x = &p->values[v];
    x->bytes = bytes[v];
    x->producer = v - 1;
    x->flags = v == 0 ? CL_PROFILE_INPUT : v == n ? CL_PROFILE_OUTPUT : 0;
    x->measured = 1;
    x->codec[0].bytes = bytes[v];
    if (with_f16) x->codec[1].bytes = bytes[v] / 2;
  }
  return p;
}

/* Derives the cuts and validates; returns p. */
static inline cl_profile *synth_finish(cl_profile *p) {
  cl_error err = {0};
  cr_assert_eq(cl_profile_derive(p, &err), CL_OK, "derive: %s", err.msg);
  cr_assert_eq(cl_profile_validate(p, &err), CL_OK, "validate: %s", err.msg);
  return p;
}

/* A copy of p with every node median multiplied by factor (a faster or slower host). */
static inline cl_profile *synth_scaled(const cl_profile *p, double factor) {
  cl_profile *q = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_profile_create(p->n_nodes, p->n_values, p->n_codecs, &q, &err), CL_OK);
  q->host = p->host;
  memcpy(q->model_hash, p->model_hash, sizeof q->model_hash);
  q->runs = p->runs, q->codec_reps = p->codec_reps, q->warmup = p->warmup;
  q->seal_ms_per_mb = p->seal_ms_per_mb, q->open_ms_per_mb = p->open_ms_per_mb;
  memcpy(q->codecs, p->codecs, sizeof q->codecs);
  for (int i = 0; i < p->n_nodes; i++) {
    cr_assert_eq(cl_profile_set_node_io(q, i, p->nodes[i].inputs, p->nodes[i].n_inputs, p->nodes[i].outputs,
                                        p->nodes[i].n_outputs, &err), CL_OK);
    memcpy(q->nodes[i].name, p->nodes[i].name, sizeof q->nodes[i].name);
    memcpy(q->nodes[i].op, p->nodes[i].op, sizeof q->nodes[i].op);
    q->nodes[i].median_ms = p->nodes[i].median_ms * factor;
    q->nodes[i].p90_ms = p->nodes[i].p90_ms * factor;
  }
  for (int v = 0; v < p->n_values; v++) {
    cl_profile_cost *c = q->values[v].codec;
    q->values[v] = p->values[v];
    q->values[v].codec = c;
    memcpy(c, p->values[v].codec, sizeof *c * (size_t)p->n_codecs);
  }
  for (int k = 0; k <= p->n_nodes; k++) {
    q->cuts[k].max_abs = p->cuts[k].max_abs;
    memcpy(q->cuts[k].rel_l2, p->cuts[k].rel_l2, sizeof(double) * (size_t)p->n_codecs);
  }
  return synth_finish(q);
}

/* === Random DAGs === */

/* n nodes, 1 or 2 graph inputs, each node reads 1 to 3 earlier values (an input, or any earlier node's
 * output) and writes one value; one or two graph outputs (the last node's, sometimes another);
 * sometimes a constant read by a node. Codecs raw and raw+shuffle (lossless) and f16 (lossy, with a
 * random measured error). Random times and bytes. */
static inline cl_profile *synth_random(uint64_t *rng, int n) {
  int n_in = rng_int(rng, 1, 2), has_const = rng_int(rng, 0, 1);
  int nv = n_in + n + has_const;
  cl_profile *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_profile_create(n, nv, 3, &p, &err), CL_OK);
  snprintf(p->codecs[0], sizeof p->codecs[0], "raw");
  snprintf(p->codecs[1], sizeof p->codecs[1], "raw+shuffle");
  snprintf(p->codecs[2], sizeof p->codecs[2], "f16");
  p->runs = 1, p->codec_reps = 1, p->host.threads = 1, p->host.cores = 1;
  int cval = n_in + n; /* the constant's id, when there is one */
  for (int i = 0; i < n; i++) {
    int in[4], ni = rng_int(rng, 1, 3), out = n_in + i;
    for (int j = 0; j < ni; j++) in[j] = rng_int(rng, 0, n_in + i - 1);
    if (has_const && rng_int(rng, 0, 3) == 0) in[ni++] = cval;
    cr_assert_eq(cl_profile_set_node_io(p, i, in, ni, &out, 1, &err), CL_OK);
    snprintf(p->nodes[i].name, sizeof p->nodes[i].name, "n%d", i);
    snprintf(p->nodes[i].op, sizeof p->nodes[i].op, "Op");
    p->nodes[i].median_ms = p->nodes[i].p90_ms = rng_unit(rng) * 10;
  }
  for (int v = 0; v < nv; v++) {
    cl_profile_value *x = &p->values[v];
    x->bytes = (uint64_t)rng_int(rng, 1, 1 << 20);
    x->producer = v < n_in || v == cval ? -1 : v - n_in;
    x->flags = v < n_in ? CL_PROFILE_INPUT : (v == cval && has_const) ? CL_PROFILE_CONSTANT : 0;
    if (v == n_in + n - 1 || (v >= n_in && v < n_in + n && rng_int(rng, 0, 9) == 0)) x->flags |= CL_PROFILE_OUTPUT;
    if (x->flags & CL_PROFILE_CONSTANT) continue;
    x->measured = 1;
    for (int j = 0; j < 3; j++) {
      x->codec[j].bytes = j == 2 ? x->bytes / 2 : x->bytes - (uint64_t)rng_int(rng, 0, (int)(x->bytes / 4));
      x->codec[j].encode_ms = rng_unit(rng) * 0.5;
      x->codec[j].decode_ms = rng_unit(rng) * 0.2;
    }
  }
  p->seal_ms_per_mb = rng_unit(rng) * 2;
  p->open_ms_per_mb = rng_unit(rng) * 2;
  synth_finish(p);
  for (int k = 0; k <= n; k++) {
    p->cuts[k].max_abs = rng_unit(rng) * 100;
    if (k < n && rng_int(rng, 0, 2)) p->cuts[k].rel_l2[2] = rng_unit(rng) * 1e-2;
  }
  return p;
}

#endif
