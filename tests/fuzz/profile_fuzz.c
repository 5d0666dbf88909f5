/* cleave fuzzer: the partitioner's profile and plan decoders (partitioner/lib/profile_pb.c,
 * plan_pb.c) on arbitrary bytes. Whatever decodes must re-encode to the same bytes and decode again,
 * and a decoded profile must be safe to plan with: every objective, constraints, two cuts (small
 * graphs), the DAG search, and the memory of an arbitrary node set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/plan.h"
#include "cleave/profile.h"

static void check(int ok) {
  if (!ok) abort();
}

static void fuzz_profile(const uint8_t *data, size_t size) {
  cl_profile *p = NULL, *q = NULL;
  if (cl_profile_decode(data, size, &p, NULL) != CL_OK) return;
  uint8_t *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  check(cl_profile_encode(p, &a, &la, NULL) == CL_OK);
  check(cl_profile_decode(a, la, &q, NULL) == CL_OK);
  check(cl_profile_encode(q, &b, &lb, NULL) == CL_OK);
  check(la == lb && memcmp(a, b, la) == 0);
  check(cl_profile_match(p, q, NULL) == CL_OK);
  unsigned char *on = malloc((size_t)p->n_nodes + 1);
  for (int i = 0; i < p->n_nodes; i++) on[i] = (uint8_t)(data[i % size] >> (i % 8)) & 1;
  uint64_t peak, weights;
  cl_profile_memory(p, on, &peak, &weights);
  free(on);
  uint8_t knob = data[size - 1];
  cl_plan_options o = {.link = {.bandwidth_bps = 1e3 * (1 + knob), .rtt_ms = knob & 7},
                       .objective = (cl_plan_objective)(knob % 3), .min_cut = (knob >> 2) % (p->n_nodes + 1),
                       .device_memory = (knob & 0x10) ? (uint64_t)knob << 12 : 0,
                       .accuracy_budget = (knob & 0x20) ? 1e-2 : -1, .device_w = 2, .radio_w = 1, .idle_w = 0.5,
                       .cloud = (knob & 0x40) && p->n_nodes <= 64 ? q : NULL,
                       .cloud_link = {.bandwidth_bps = 1e9, .rtt_ms = 3}};
  cl_plan *pl = NULL, *pl2 = NULL;
  if (cl_plan_make(p, q, &o, &pl, NULL) == CL_OK) {
    check(cl_plan_validate(pl, NULL) == CL_OK);
    uint8_t *c = NULL;
    size_t lc = 0;
    check(cl_plan_encode(pl, &c, &lc, NULL) == CL_OK);
    check(cl_plan_decode(c, lc, &pl2, NULL) == CL_OK);
    check(pl2->chosen == pl->chosen);
    free(c);
  }
  cl_plan_free(&pl);
  cl_plan_free(&pl2);
  free(a);
  free(b);
  cl_profile_free(&p);
  cl_profile_free(&q);
}

static void fuzz_plan(const uint8_t *data, size_t size) {
  cl_plan *p = NULL, *q = NULL;
  if (cl_plan_decode(data, size, &p, NULL) != CL_OK) return;
  uint8_t *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  check(cl_plan_encode(p, &a, &la, NULL) == CL_OK);
  check(cl_plan_decode(a, la, &q, NULL) == CL_OK);
  check(cl_plan_encode(q, &b, &lb, NULL) == CL_OK);
  check(la == lb && memcmp(a, b, la) == 0);
  free(a);
  free(b);
  cl_plan_free(&p);
  cl_plan_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  (void)cl_plan_file_kind(data, size);
  fuzz_profile(data, size);
  fuzz_plan(data, size);
  return 0;
}
