/* cleave partitioner tests: the chooser allocates nothing per request (the house rule: no allocation
 * on the per-inference path). This executable is linked with -Wl,--wrap for malloc, calloc, realloc,
 * free, aligned_alloc and posix_memalign (partitioner/tests/CMakeLists.txt): every call from the test
 * and from the static libraries (cleave_partitioner, cleave) goes through the counters below; calls
 * inside shared libraries (libc itself, Criterion) do not, and are not ours. */
#include <stddef.h>

#include "cleave/adapt.h"
#include "synth.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);

static unsigned long allocs, frees;

void *__wrap_malloc(size_t n) { return allocs++, __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return allocs++, __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return allocs++, __real_realloc(p, n); }
void __wrap_free(void *p) { frees += p != NULL, __real_free(p); }
void *__wrap_aligned_alloc(size_t align, size_t n) { return allocs++, __real_aligned_alloc(align, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) { return allocs++, __real_posix_memalign(p, align, n); }

/* The counters see what they should: a plan allocates. */
Test(adapt_noalloc, the_counters_see_allocations) {
  uint64_t rng = 3;
  cl_profile *dev = synth_random(&rng, 12), *edge = synth_scaled(dev, 0.5);
  cl_plan_options po = {.link = {1e9, 1}, .accuracy_budget = -1, .no_dag = 1};
  cl_plan *p = NULL;
  cl_error err = {0};
  unsigned long a0 = allocs, f0 = frees;
  cr_assert_eq(cl_plan_make(dev, edge, &po, &p, &err), CL_OK, "%s", err.msg);
  cl_plan_free(&p);
  cr_assert_gt(allocs - a0, 0);
  cr_assert_eq(allocs - a0, frees - f0);
  cl_profile_free(&dev), cl_profile_free(&edge);
}

/* 10000 requests with a decision at each, samples from a link that changes (switches and probes
 * happen), under every codec option: not one allocation or free between creation and destruction. */
Test(adapt_noalloc, no_allocation_per_request_or_decision) {
  uint64_t rng = 11;
  cl_profile *dev = synth_random(&rng, 40), *edge = synth_scaled(dev, 0.2);
  const char *codecs[] = {NULL, "raw", "raw+shuffle"};
  for (int c = 0; c < 3; c++) {
    cl_adapt_options ao = {.prior = {1e6, 20}, .codec = codecs[c], .every = 1, .persist = 1, .dwell = -1,
                           .probe_every = 4};
    cl_adapt_t *a = NULL;
    cl_error err = {0};
    cr_assert_eq(cl_adapt_create(dev, edge, &ao, &a, &err), CL_OK, "%s", err.msg);
    unsigned long a0 = allocs, f0 = frees;
    for (int i = 0; i < 10000; i++) {
      cl_adapt_choice ch;
      cr_assert_eq(cl_adapt_next(a, &ch, &err), CL_OK);
      if (ch.cut < dev->n_nodes) {
        double bw = i / 500 % 2 ? 10e9 : 1e6;
        cl_adapt_sample s = {.cut = ch.cut, .bytes_up = 20000 + (uint64_t)(i % 13) * 1000, .bytes_down = 4000};
        s.wire_ms = 0.1 + (double)(s.bytes_up + s.bytes_down) * 8e3 / bw;
        cl_adapt_observe(a, &s);
      }
    }
    unsigned long na = allocs - a0, nf = frees - f0;
    cl_adapt_stats st;
    cl_adapt_stats_get(a, &st);
    cl_adapt_free(&a);
    cr_assert_eq(na, 0, "%lu allocations in 10000 requests (codec %s)", na, codecs[c] ? codecs[c] : "auto");
    cr_assert_eq(nf, 0, "%lu frees in 10000 requests", nf);
    cr_assert_geq(st.decisions, 9999);
    cr_assert_gt(st.switches, 2, "the link changes: the test should see switches (%llu)",
                 (unsigned long long)st.switches);
  }
  cl_profile_free(&dev), cl_profile_free(&edge);
}
