/* cleave partitioner: profile and plan files: round trips, and every kind of bad file refused with one
 * line (profile.h, plan.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

/* === Top-level protobuf fields, to damage files precisely === */

typedef struct field {
  int num;
  size_t start, end;          /* the whole field: tag to the end of its value */
} field;

static int read_varint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
    uint8_t c = b[(*pos)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

static int walk(const uint8_t *b, size_t len, field *out, int cap) {
  size_t pos = 0;
  int n = 0;
  while (pos < len && n < cap) {
    field f = {.start = pos};
    uint64_t tag, v;
    cr_assert_eq(read_varint(b, len, &pos, &tag), 0);
    f.num = (int)(tag >> 3);
    switch (tag & 7) {
    case 0: cr_assert_eq(read_varint(b, len, &pos, &v), 0); break;
    case 1: pos += 8; break;
    case 2:
      cr_assert_eq(read_varint(b, len, &pos, &v), 0);
      pos += v;
      break;
    case 5: pos += 4; break;
    default: cr_assert_fail("wire type %d", (int)(tag & 7));
    }
    f.end = pos;
    out[n++] = f;
  }
  return n;
}

/* A copy of buf without the last occurrence of field num, or with it replaced by a varint value. */
static uint8_t *edit(const uint8_t *buf, size_t len, int num, int replace, uint64_t value, size_t *out_len) {
  static field fs[100000];
  int n = walk(buf, len, fs, 100000), last = -1;
  for (int i = 0; i < n; i++)
    if (fs[i].num == num) last = i;
  cr_assert_geq(last, 0, "field %d not found", num);
  uint8_t *o = malloc(len + 16);
  size_t w = fs[last].start;
  memcpy(o, buf, w);
  if (replace) {
    uint64_t tag = (uint64_t)num << 3;
    do o[w++] = (uint8_t)((tag & 0x7f) | (tag > 0x7f ? 0x80 : 0)); while ((tag >>= 7));
    do o[w++] = (uint8_t)((value & 0x7f) | (value > 0x7f ? 0x80 : 0)); while ((value >>= 7));
  }
  memcpy(o + w, buf + fs[last].end, len - fs[last].end);
  *out_len = w + len - fs[last].end;
  return o;
}

/* === Helpers === */

static cl_profile *sample_profile(void) {
  uint64_t rng = 5;
  cl_profile *p = synth_random(&rng, 9);
  memset(p->model_hash, 0xab, sizeof p->model_hash);
  snprintf(p->model, sizeof p->model, "sample.onnx");
  return p;
}

static void encode_profile(const cl_profile *p, uint8_t **buf, size_t *len) {
  cl_error err = {0};
  cr_assert_eq(cl_profile_encode(p, buf, len, &err), CL_OK, "%s", err.msg);
}

/* Decoding must fail with a one-line message containing `what`. */
static void refused(const uint8_t *buf, size_t len, const char *what) {
  cl_profile *p = NULL;
  cl_error err = {0};
  cl_status st = cl_profile_decode(buf, len, &p, &err);
  cr_assert_neq(st, CL_OK, "accepted, expected '%s'", what);
  cr_assert_null(p);
  cr_assert(strchr(err.msg, '\n') == NULL && err.msg[0]);
  cr_assert(strstr(err.msg, what) != NULL, "'%s' does not say '%s'", err.msg, what);
}

/* === Profiles === */

Test(files, profile_round_trip_is_exact) {
  cl_profile *p = sample_profile(), *q = NULL;
  uint8_t *a, *b;
  size_t la, lb;
  cl_error err = {0};
  encode_profile(p, &a, &la);
  cr_assert_eq(cl_profile_decode(a, la, &q, &err), CL_OK, "%s", err.msg);
  encode_profile(q, &b, &lb);
  cr_assert(la == lb && memcmp(a, b, la) == 0, "encode(decode(x)) != x");
  cr_assert_eq(q->n_nodes, p->n_nodes);
  cr_assert_eq(memcmp(q->model_hash, p->model_hash, 32), 0);
  for (int k = 0; k <= p->n_nodes; k++)
    for (int j = 0; j < p->n_codecs; j++)
      cr_assert((isnan(p->cuts[k].rel_l2[j]) && isnan(q->cuts[k].rel_l2[j])) ||
                p->cuts[k].rel_l2[j] == q->cuts[k].rel_l2[j]);
  char path[] = "/tmp/cleave-profile-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  cl_profile *r = NULL;
  cr_assert_eq(cl_profile_save(p, path, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_profile_load(path, &r, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_profile_match(p, r, &err), CL_OK, "%s", err.msg);
  unlink(path);
  cl_profile_free(&r);
  cl_error_clear(&err);
  cr_assert_eq(cl_profile_load(path, &r, &err), CL_ERR_IO);
  cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);
  free(a), free(b);
  cl_profile_free(&p), cl_profile_free(&q), cl_profile_free(&r);
}

Test(files, every_truncation_is_refused) {
  cl_profile *p = sample_profile();
  uint8_t *a;
  size_t la;
  encode_profile(p, &a, &la);
  for (size_t n = 0; n < la; n++) {
    cl_profile *q = NULL;
    cr_assert_neq(cl_profile_decode(a, n, &q, NULL), CL_OK, "truncated to %zu of %zu bytes: accepted", n, la);
  }
  free(a);
  cl_profile_free(&p);
}

Test(files, flipped_bytes_never_crash) {
  cl_profile *p = sample_profile();
  uint8_t *a;
  size_t la;
  encode_profile(p, &a, &la);
  int accepted = 0;
  for (size_t i = 0; i < la; i++)
    for (int m = 0; m < 3; m++) {
      static const uint8_t masks[3] = {0x01, 0x80, 0xff};
      a[i] ^= masks[m];
      cl_profile *q = NULL;
      cl_error err = {0};
      if (cl_profile_decode(a, la, &q, &err) == CL_OK) accepted++; /* then it validated */
      else cr_assert(err.msg[0] && strchr(err.msg, '\n') == NULL);
      cl_profile_free(&q);
      a[i] ^= masks[m];
    }
  cr_log_info("%zu bytes x 3 flips: %d decoded (a flipped time or name), the rest refused", la, accepted);
  free(a);
  cl_profile_free(&p);
}

Test(files, damaged_profiles_are_refused) {
  cl_profile *p = sample_profile();
  uint8_t *a, *b;
  size_t la, lb;
  encode_profile(p, &a, &la);
  b = edit(a, la, 20, 0, 0, &lb); /* the last cut removed */
  refused(b, lb, "cuts");
  free(b);
  b = edit(a, la, 12, 1, (uint64_t)p->n_nodes + 1, &lb); /* node_count off by one */
  refused(b, lb, "nodes");
  free(b);
  b = edit(a, la, 1, 1, 7, &lb); /* kind: not a string any more */
  refused(b, lb, "corrupt profile");
  free(b);
  b = edit(a, la, 2, 1, 9, &lb); /* format 9 */
  refused(b, lb, "format 9");
  free(b);
  refused((const uint8_t *)"\x0a\x0bhello world", 13, "not a cleave profile");
  refused((const uint8_t *)"\xff\xff\xff", 3, "corrupt");
  free(a);
  cl_profile_free(&p);
}

/* Encodes p after a change and checks the decoder refuses it naming `what`; then undoes nothing (the
 * caller restores). */
static void refused_after(const cl_profile *p, const char *what) {
  uint8_t *a;
  size_t la;
  encode_profile(p, &a, &la);
  refused(a, la, what);
  free(a);
}

Test(files, bad_numbers_and_inconsistent_cuts_are_refused) {
  cl_profile *p = sample_profile();
  double keep = p->nodes[2].median_ms;
  p->nodes[2].median_ms = NAN;
  refused_after(p, "node 2: bad time");
  p->nodes[2].median_ms = -1;
  refused_after(p, "node 2: bad time");
  p->nodes[2].median_ms = INFINITY;
  refused_after(p, "node 2: bad time");
  p->nodes[2].median_ms = keep;
  int v = p->cuts[3].frontier[0];
  p->values[v].codec[1].encode_ms = NAN;
  refused_after(p, "bad time");
  p->values[v].codec[1].encode_ms = 0.25;
  refused_after(p, "sums do not match");
  cl_profile_free(&p);
  p = sample_profile();
  p->cuts[3].raw_bytes += 1;
  refused_after(p, "byte counts");
  p->cuts[3].raw_bytes -= 1;
  p->cuts[3].frontier[0] = p->n_values - 1 == p->cuts[3].frontier[0] ? 0 : p->n_values - 1;
  refused_after(p, "frontier");
  cl_profile_free(&p);
  p = sample_profile();
  p->cuts[1].rel_l2[2] = -0.5;
  refused_after(p, "output error");
  p->cuts[1].rel_l2[2] = NAN;
  snprintf(p->codecs[1], sizeof p->codecs[1], "shuffle+raw");
  refused_after(p, "canonical");
  snprintf(p->codecs[1], sizeof p->codecs[1], "raw");
  refused_after(p, "twice");
  cl_profile_free(&p);
  p = sample_profile();
  p->values[p->nodes[4].outputs[0]].producer = 5; /* the graph is broken */
  refused_after(p, "node");
  cl_profile_free(&p);
}

Test(files, another_models_profile_is_refused) {
  cl_profile *p = sample_profile(), *q = sample_profile();
  q->model_hash[0] ^= 0x10;
  cl_error err = {0};
  cr_assert_eq(cl_profile_match(p, q, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "different models") != NULL, "%s", err.msg);
  cl_profile_free(&p);
  cl_profile_free(&q);
}

Test(files, memory_of_prefix_sets_matches_the_derived_cuts) {
  uint64_t rng = 77;
  for (int g = 0; g < 200; g++) {
    cl_profile *p = synth_random(&rng, rng_int(&rng, 1, 25));
    unsigned char on[32];
    for (int k = 0; k <= p->n_nodes; k++) {
      for (int i = 0; i < p->n_nodes; i++) on[i] = i < k;
      uint64_t peak, w;
      cl_profile_memory(p, on, &peak, &w);
      cr_assert_eq(peak, p->cuts[k].peak_bytes, "graph %d cut %d: %llu vs %llu", g, k,
                   (unsigned long long)peak, (unsigned long long)p->cuts[k].peak_bytes);
      cr_assert_eq(w, p->cuts[k].weight_bytes, "graph %d cut %d weights", g, k);
    }
    cl_profile_free(&p);
  }
}

/* === Plans === */

static cl_plan *sample_plan(void) {
  cl_profile *d = sample_profile(), *e = synth_scaled(d, 0.2);
  cl_plan_options o = {.link = {.bandwidth_bps = 1e7, .rtt_ms = 3}, .accuracy_budget = 1e-2};
  cl_plan *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(d, e, &o, &p, &err), CL_OK, "%s", err.msg);
  cl_profile_free(&d);
  cl_profile_free(&e);
  return p;
}

static void plan_refused(const cl_plan *p, const char *what) {
  uint8_t *a;
  size_t la;
  cl_plan *q = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_plan_encode(p, &a, &la, &err), CL_OK);
  cr_assert_neq(cl_plan_decode(a, la, &q, &err), CL_OK, "accepted, expected '%s'", what);
  cr_assert(strstr(err.msg, what) != NULL, "'%s' does not say '%s'", err.msg, what);
  free(a);
}

Test(files, plan_round_trip_and_refusals) {
  cl_plan *p = sample_plan(), *q = NULL;
  uint8_t *a, *b;
  size_t la, lb;
  cl_error err = {0};
  cr_assert_eq(cl_plan_encode(p, &a, &la, &err), CL_OK);
  cr_assert_str_eq(cl_plan_file_kind(a, la), "cleave-plan");
  cr_assert_eq(cl_plan_decode(a, la, &q, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_plan_encode(q, &b, &lb, &err), CL_OK);
  cr_assert(la == lb && memcmp(a, b, la) == 0, "encode(decode(x)) != x");
  free(b);
  for (size_t n = 0; n < la; n++) {
    cl_plan *r = NULL;
    cr_assert_neq(cl_plan_decode(a, n, &r, NULL), CL_OK, "plan truncated to %zu bytes: accepted", n);
  }
  int other = p->chosen == 0 ? 1 : 0; /* a chosen row that is not the best */
  b = edit(a, la, 24, 1, (uint64_t)other, &lb);
  cl_plan *r = NULL;
  cr_assert_neq(cl_plan_decode(b, lb, &r, &err), CL_OK);
  free(b);
  cl_profile *s = sample_profile();
  uint8_t *pa;
  size_t pl;
  encode_profile(s, &pa, &pl);
  cr_assert_str_eq(cl_plan_file_kind(pa, pl), "cleave-profile");
  cl_error_clear(&err);
  cr_assert_neq(cl_plan_decode(pa, pl, &r, &err), CL_OK);
  cr_assert(strstr(err.msg, "not a cleave plan") != NULL, "%s", err.msg);
  refused(a, la, "not a cleave profile");
  free(pa);
  cl_profile_free(&s);
  p->rows[1].worker_ms = NAN;
  plan_refused(p, "bad time");
  p->rows[1].worker_ms = q->rows[1].worker_ms + 1;
  plan_refused(p, "not the sum");
  p->rows[1].worker_ms = q->rows[1].worker_ms;
  free(a);
  cl_plan_free(&p);
  cl_plan_free(&q);
}
