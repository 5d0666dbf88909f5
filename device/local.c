/* cleave-device: local runs, result summaries, timing statistics, cut listing. */
#include "local.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cleave/tensorfile.h"

/* === Inputs === */

int dev_read_inputs(const dev_config *cfg, cl_tensor *ts) {
  for (int i = 0; i < cfg->n_inputs; i++) {
    cl_error err = {0};
    if (cl_tensorfile_read(cfg->inputs[i], &ts[i], &err) != CL_OK) {
      fprintf(stderr, "cleave-device: %s\n", err.msg); /* the message names the file */
      for (int j = 0; j < i; j++) cl_tensor_release(&ts[j]);
      return 1;
    }
  }
  return 0;
}

/* === Timing === */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void dev_timing_from(double *samples, int n, dev_timing *t) {
  memset(t, 0, sizeof *t);
  t->runs = n;
  if (n == 0) return;
  qsort(samples, (size_t)n, sizeof *samples, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += samples[i];
  t->mean_ms = sum / n;
  t->min_ms = samples[0];
  t->median_ms = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  int p90 = (int)ceil(0.9 * n) - 1;
  t->p90_ms = samples[p90 < 0 ? 0 : p90];
}

double dev_peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* === Results === */

void dev_print_output(const cl_tensor *t) {
  char shape[160];
  printf("output '%s': %s %s", t->name, cl_dtype_name(t->dtype), cl_shape_str(t->rank, t->dims, shape, sizeof shape));
  if (t->dtype != CL_DTYPE_F32 || t->nbytes == 0) {
    printf("\n");
    return;
  }
  const float *x = t->data;
  size_t n = t->nbytes / sizeof(float);
  double sum = 0, mn = x[0], mx = x[0];
  size_t arg = 0;
  for (size_t i = 0; i < n; i++) {
    sum += x[i];
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i], arg = i;
  }
  printf("  min %.4g  max %.4g  mean %.4g", mn, mx, sum / (double)n);
  if (n <= 100000 && (t->rank <= 2)) printf("  argmax %zu", arg);
  printf("\n");
}

static int write_stats(const dev_config *cfg, const cl_model_t *m, const dev_timing *t, size_t arena) {
  FILE *f = fopen(cfg->stats_path, "w");
  if (!f) {
    fprintf(stderr, "cleave-device: cannot write stats '%s'\n", cfg->stats_path);
    return 1;
  }
  int n = cl_model_node_count(m);
  fprintf(f,
          "{\"runs\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"mean_ms\": %.4f,"
          " \"threads\": %d, \"mode\": \"local\", \"cut\": %d, \"nodes\": %d, \"fallbacks\": 0,"
          " \"device_ms\": %.4f, \"encode_ms\": 0, \"wire_ms\": 0, \"edge_ms\": 0,"
          " \"bytes_up\": 0, \"bytes_down\": 0, \"arena_bytes\": %zu, \"peak_rss_mb\": %.1f}\n",
          t->runs, t->median_ms, t->p90_ms, t->min_ms, t->mean_ms, cfg->threads, n, n,
          t->median_ms, arena, dev_peak_rss_mb());
  return fclose(f) == 0 ? 0 : 1;
}

int dev_write_outputs(const dev_config *cfg, const cl_tensor *outs) {
  for (int i = 0; i < cfg->n_outputs; i++) {
    cl_error err = {0};
    if (cl_tensorfile_write(cfg->outputs[i], &outs[i], &err) != CL_OK) {
      fprintf(stderr, "cleave-device: output '%s': %s\n", cfg->outputs[i], err.msg);
      return 1;
    }
  }
  return 0;
}

/* Per operator type: total of each node's median time over the runs (ns per node per run in ns). */
static void print_profile(const cl_model_t *m, const uint64_t *ns, int runs) {
  int n = cl_model_node_count(m);
  const char *ops[256];
  double ms[256];
  int count[256], k = 0;
  double total = 0;
  for (int i = 0; i < n; i++) {
    const char *op = cl_model_node_op(m, i);
    int j = 0;
    while (j < k && strcmp(ops[j], op) != 0) j++;
    if (j == k && k < 256) ops[k] = op, ms[k] = 0, count[k++] = 0;
    if (j < k) ms[j] += (double)ns[i] / 1e6 / runs, count[j]++;
    total += (double)ns[i] / 1e6 / runs;
  }
  for (int a = 0; a < k; a++) /* sort by time, descending */
    for (int b = a + 1; b < k; b++)
      if (ms[b] > ms[a]) {
        double t = ms[a]; ms[a] = ms[b]; ms[b] = t;
        int c = count[a]; count[a] = count[b]; count[b] = c;
        const char *o = ops[a]; ops[a] = ops[b]; ops[b] = o;
      }
  printf("%-24s %6s %10s %6s\n", "operator", "nodes", "ms/run", "share");
  for (int a = 0; a < k; a++)
    printf("%-24s %6d %10.3f %5.1f%%\n", ops[a], count[a], ms[a], total > 0 ? 100 * ms[a] / total : 0);
  printf("%-24s %6d %10.3f\n", "total", n, total);
  if (getenv("CLEAVE_PROFILE_NODES")) /* every node, for comparing layer by layer */
    for (int i = 0; i < n; i++)
      printf("node %4d %-22s %-40s %8.3f\n", i, cl_model_node_op(m, i), cl_model_node_name(m, i),
             (double)ns[i] / 1e6 / runs);
}

int dev_run_local(const dev_config *cfg, cl_model_t *m, const cl_tensor *inputs) {
  cl_error err = {0};
  cl_exec_t *ex = NULL;
  cl_exec_options eo = {.threads = cfg->threads, .profile = cfg->profile};
  int n = cl_model_node_count(m), rc = 0;
  uint64_t *prof = cfg->profile ? calloc((size_t)n + 1, sizeof *prof) : NULL;
  int runs = cfg->repeat > 0 ? cfg->repeat : 1;
  double *samples = calloc((size_t)runs, sizeof *samples);
  if (!samples || cl_exec_create(m, &eo, &ex, &err) != CL_OK) {
    fprintf(stderr, "cleave-device: %s\n", samples ? err.msg : "out of memory");
    free(samples);
    return 1;
  }
  for (int i = 0; i < cl_model_input_count(m) && rc == 0; i++)
    if (cl_exec_set_input(ex, i, &inputs[i], &err) != CL_OK) rc = 1;
  /* One warm-up when timing, then the runs. */
  for (int r = cfg->repeat > 0 ? -1 : 0; r < runs && rc == 0; r++) {
    double t0 = now_ms();
    if (cl_exec_run(ex, 0, n, &err) != CL_OK) rc = 1;
    if (r >= 0) samples[r] = now_ms() - t0;
    for (int i = 0; prof && r >= 0 && i < n; i++) prof[i] += cl_exec_node_ns(ex)[i];
  }
  if (rc) fprintf(stderr, "cleave-device: %s\n", err.msg);
  dev_timing t;
  dev_timing_from(samples, runs, &t);
  cl_tensor views[16];
  for (int i = 0; i < cfg->n_outputs; i++) cl_exec_output(ex, i, &views[i]);
  if (rc == 0) rc = dev_write_outputs(cfg, views);
  if (rc == 0 && !cfg->quiet) {
    for (int i = 0; i < cl_model_output_count(m); i++) {
      cl_tensor view;
      cl_exec_output(ex, i, &view);
      dev_print_output(&view);
    }
    printf("local: %d nodes, %d thread%s, %d run%s: median %.3f ms, p90 %.3f ms\n", n, cfg->threads,
           cfg->threads > 1 ? "s" : "", runs, runs > 1 ? "s" : "", t.median_ms, t.p90_ms);
  }
  if (rc == 0 && prof) print_profile(m, prof, runs);
  if (rc == 0 && cfg->stats_path) rc = write_stats(cfg, m, &t, cl_exec_arena_bytes(ex));
  free(prof);
  cl_exec_free(&ex);
  free(samples);
  return rc;
}

/* === Cuts === */

void dev_list_cuts(const cl_model_t *m) {
  int n = cl_model_node_count(m);
  int cap = cl_model_value_count(m);
  int *ids = malloc((size_t)cap * sizeof *ids + 1);
  if (!ids) return;
  printf("%-5s %-12s %-28s %s\n", "cut", "bytes", "after node", "frontier tensors");
  for (int k = 0; k <= n; k++) {
    int c = cl_model_frontier(m, k, ids, cap);
    size_t bytes = 0;
    for (int j = 0; j < c; j++) {
      cl_value_info vi;
      cl_model_value_info(m, ids[j], &vi);
      bytes += vi.nbytes;
    }
    char after[64];
    if (k == 0) snprintf(after, sizeof after, "(input)");
    else snprintf(after, sizeof after, "%.18s:%.8s", cl_model_node_op(m, k - 1), cl_model_node_name(m, k - 1));
    printf("%-5d %-12zu %-28s", k, bytes, after);
    for (int j = 0; j < c; j++) {
      cl_value_info vi;
      cl_model_value_info(m, ids[j], &vi);
      char shape[96];
      printf("%s%s%s", j ? ", " : " ", vi.name, cl_shape_str(vi.rank, vi.dims, shape, sizeof shape));
    }
    printf("\n");
  }
  free(ids);
}
