/* cleave partitioner: the profiler on real models (testdata; skipped without it). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/plan.h"
#include "cleave/profile.h"
#include "cleave/tensorfile.h"

static cl_model_t *load_model(const char *name, const char *input, cl_tensor *in) {
  const char *dir = getenv("CLEAVE_TESTDATA");
  char path[512];
  snprintf(path, sizeof path, "%s/models/%s.onnx", dir ? dir : "build/testdata", name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fclose(f);
  cl_error err = {0};
  cl_model_options mo = {0};
  if (input) {
    char ip[512];
    snprintf(ip, sizeof ip, "%s/ref/%s/%s/input_0.npy", dir ? dir : "build/testdata", name, input);
    cr_assert_eq(cl_tensorfile_read(ip, in, &err), CL_OK, "%s", err.msg);
    mo.inputs = in, mo.n_inputs = 1;
  }
  cl_model_t *m = NULL;
  cr_assert_eq(cl_model_load(path, &mo, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

static int calls;
static void count_progress(void *ctx, const char *phase, int done, int total) {
  (void)ctx, (void)phase;
  cr_assert(done >= 1 && done <= total);
  calls++;
}

Test(profiler, oww_embedding) {
  cl_tensor in = {0};
  cl_model_t *m = load_model("oww_embedding", "real", &in);
  if (!m) cr_skip_test("no testdata (CLEAVE_TESTDATA)");
  cl_profile_options o = {.model_path = "oww_embedding.onnx", .inputs = &in, .n_inputs = 1, .runs = 3,
                          .codec_reps = 1, .codecs = "f16+shuffle,int8c", .progress = count_progress};
  cl_profile *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_profile_measure(m, &o, &p, &err), CL_OK, "%s", err.msg);
  cr_assert_gt(calls, p->n_nodes);
  cr_assert_eq(cl_profile_validate(p, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_profile_match_model(p, m, &err), CL_OK, "%s", err.msg);
  /* the lossless counterparts were added: f16+shuffle -> raw+shuffle, int8c -> raw */
  cr_assert_eq(p->n_codecs, 4);
  int raw = cl_profile_codec_index(p, "raw"), f16 = cl_profile_codec_index(p, "f16+shuffle");
  cr_assert(raw >= 0 && cl_profile_codec_index(p, "raw+shuffle") >= 0 && f16 >= 0);
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK);
  size_t arena = cl_exec_arena_bytes(ex);
  cl_exec_free(&ex);
  for (int k = 0; k <= p->n_nodes; k++) {
    const cl_profile_cut *c = &p->cuts[k];
    int ids[64], nf = cl_model_frontier(m, k, ids, 64);
    cr_assert_eq(nf, c->n_frontier, "cut %d", k);
    cr_assert_eq(memcmp(ids, c->frontier, sizeof(int) * (size_t)nf), 0);
    cr_assert_leq(c->peak_bytes, arena, "cut %d: peak %llu above the arena %zu", k,
                  (unsigned long long)c->peak_bytes, arena);
    cr_assert_leq(c->codec[raw].bytes, c->raw_bytes + 4 * 64, "raw+LZ4 adds at most a header per block");
    if (k < p->n_nodes) {
      cr_assert(c->rel_l2[f16] >= 0 && c->rel_l2[f16] < 1e-2, "cut %d: f16 error %g", k, c->rel_l2[f16]);
      cr_assert(isnan(c->rel_l2[raw]), "lossless codecs are not measured");
    }
  }
  for (int i = 0; i < p->n_nodes; i++)
    cr_assert(p->nodes[i].median_ms >= 0 && p->nodes[i].p90_ms >= p->nodes[i].median_ms);
  cl_tensor mi = {0};
  cl_model_t *other = load_model("mobilenetv2", NULL, &mi);
  if (other) {
    cl_error_clear(&err);
    cr_assert_eq(cl_profile_match_model(p, other, &err), CL_ERR_ARG);
    cr_assert(strstr(err.msg, "another model") != NULL, "%s", err.msg);
    cl_model_free(&other);
  }
  cl_profile_free(&p);
  cl_model_free(&m);
  cl_tensor_release(&in);
}

Test(profiler, random_input_and_a_plan_on_mobilenetv2) {
  cl_tensor none = {0};
  cl_model_t *m = load_model("mobilenetv2", NULL, &none);
  if (!m) cr_skip_test("no testdata (CLEAVE_TESTDATA)");
  cl_profile_options o = {.runs = 3, .codec_reps = 1, .codecs = "raw", .seed = 3};
  cl_profile *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_profile_measure(m, &o, &p, &err), CL_OK, "%s", err.msg);
  cr_assert(strstr(p->input, "random") != NULL);
  cr_assert_eq(p->cuts[0].raw_bytes, 1 * 3 * 224 * 224 * 4);
  cr_assert_eq(p->cuts[p->n_nodes].raw_bytes, 1000 * 4);
  /* a plan of the profile against itself: nothing is faster than staying local */
  cl_plan_options po = {.link = {.bandwidth_bps = 1e9, .rtt_ms = 1}, .accuracy_budget = -1};
  cl_plan *pl = NULL;
  cr_assert_eq(cl_plan_make(p, p, &po, &pl, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(pl->rows[pl->chosen].cut, p->n_nodes);
  cr_assert(pl->dag.searched && pl->dag.is_prefix, "%s", pl->dag.note);
  cr_assert_eq(cl_plan_match_model(pl, m, &err), CL_OK, "%s", err.msg);
  pl->model_hash[5] ^= 1;
  cr_assert_eq(cl_plan_match_model(pl, m, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "another model") != NULL, "%s", err.msg);
  cl_plan_free(&pl);
  cl_profile_free(&p);
  cl_model_free(&m);
}
