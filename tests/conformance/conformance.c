/* cleave tests: the ONNX operator conformance runner.
 *
 * Runs every case of Debian's libonnx-testdata (node/, pytorch-converted/, pytorch-operator/) whose
 * operators cleave all registers (its scope: every operator it claims to run), compares each output with the suite's expected output at the
 * suite's tolerance (rtol 1e-3, atol 1e-7, as onnx/backend/test/runner), and prints a summary.
 * Cases that use an operator outside the scope are counted by operator, never silently dropped.
 * In-scope cases cleave does not support are listed in unsupported.txt with their reason: the run
 * prints each one, and fails when a listed case starts passing (so the list stays true).
 *
 * usage: conformance [--data DIR] [--list FILE] [--filter SUBSTR] [--verbose]
 * Exit status: 0 all in-scope cases pass or are listed, 1 otherwise, 2 bad usage. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/tensorfile.h"
#include "exec/op.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_IO 16

/* In scope: every operator cleave registers (Constant is turned into a value by the reader). */
static int in_scope(const char *op) { return strcmp(op, "Constant") == 0 || cl_op_find(op, "") != NULL; }

/* === The list of in-scope cases cleave does not support === */

typedef struct {
  char name[128];
  char reason[256];
  int seen;
} listed_case;

static listed_case listed[512];
static int n_listed;

static int load_list(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "conformance: cannot read %s\n", path);
    return -1;
  }
  char line[512];
  while (fgets(line, sizeof line, f) && n_listed < 512) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    char *sep = strstr(line, ": ");
    if (!sep) continue;
    *sep = '\0';
    snprintf(listed[n_listed].name, sizeof listed[n_listed].name, "%.127s", line);
    snprintf(listed[n_listed].reason, sizeof listed[n_listed].reason, "%.255s", sep + 2);
    n_listed++;
  }
  fclose(f);
  return 0;
}

static listed_case *find_listed(const char *name) {
  for (int i = 0; i < n_listed; i++)
    if (strcmp(listed[i].name, name) == 0) return &listed[i];
  return NULL;
}

/* === One case === */

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* === A minimal protobuf walk for op types (independent of cleave's reader, so that models the
 * reader refuses are still sorted into in scope or not) === */

typedef struct {
  const unsigned char *p, *end;
} pbuf;

static int pb_varint(pbuf *b, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
    unsigned char c = *b->p++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

/* Next field of b: its number, and for length-delimited ones the sub-buffer. -1 at the end. */
static int pb_next(pbuf *b, int *field, pbuf *sub) {
  uint64_t key, len;
  if (b->p >= b->end || pb_varint(b, &key) != 0) return -1;
  *field = (int)(key >> 3);
  switch (key & 7) {
  case 0: return pb_varint(b, &len);
  case 1: b->p += 8; break;
  case 5: b->p += 4; break;
  case 2:
    if (pb_varint(b, &len) != 0 || len > (uint64_t)(b->end - b->p)) return -1;
    sub->p = b->p;
    sub->end = b->p + len;
    b->p += len;
    return 2;
  default: return -1;
  }
  return b->p <= b->end ? 0 : -1;
}

/* First out-of-scope op of the model in *op (empty when all in scope); -1 when unreadable. */
static int scan_ops(const char *model_path, char *op, size_t cap) {
  size_t len;
  unsigned char *buf = read_file(model_path, &len);
  op[0] = '\0';
  if (!buf) return -1;
  pbuf model = {buf, buf + len}, graph, node, s;
  int f, t, rc = 0;
  while (!op[0] && (t = pb_next(&model, &f, &graph)) >= 0) {
    if (f != 7 || t != 2) continue; /* ModelProto.graph */
    while (!op[0] && (t = pb_next(&graph, &f, &node)) >= 0) {
      if (f != 1 || t != 2) continue; /* GraphProto.node */
      char type[64] = "", domain[64] = "";
      while ((t = pb_next(&node, &f, &s)) >= 0)
        if (t == 2 && (f == 4 || f == 7))
          snprintf(f == 4 ? type : domain, 64, "%.*s", (int)(s.end - s.p), (const char *)s.p);
      if ((!in_scope(type) || (domain[0] && strcmp(domain, "ai.onnx") != 0)))
        snprintf(op, cap, "%s%s%s", domain, domain[0] ? "." : "", type);
    }
  }
  free(buf);
  return rc;
}

static double as_double(const cl_tensor *t, size_t i) {
  switch (t->dtype) {
  case CL_DTYPE_F32: return ((const float *)t->data)[i];
  case CL_DTYPE_F64: return ((const double *)t->data)[i];
  case CL_DTYPE_I64: return (double)((const int64_t *)t->data)[i];
  case CL_DTYPE_I32: return ((const int32_t *)t->data)[i];
  case CL_DTYPE_I16: return ((const int16_t *)t->data)[i];
  case CL_DTYPE_I8: return ((const int8_t *)t->data)[i];
  case CL_DTYPE_U8: case CL_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
  case CL_DTYPE_U16: return ((const uint16_t *)t->data)[i];
  case CL_DTYPE_U32: return ((const uint32_t *)t->data)[i];
  case CL_DTYPE_U64: return (double)((const uint64_t *)t->data)[i];
  default: return NAN;
  }
}

/* Compares got with want; on mismatch writes why. */
static int same_tensor(const cl_tensor *got, const cl_tensor *want, char *why, size_t cap) {
  char a[128], b[128];
  if (got->dtype != want->dtype || got->rank != want->rank ||
      memcmp(got->dims, want->dims, (size_t)got->rank * sizeof got->dims[0]) != 0) {
    snprintf(why, cap, "output '%s' is %s %s, expected %s %s", want->name ? want->name : "?",
             cl_dtype_name(got->dtype), cl_shape_str(got->rank, got->dims, a, sizeof a),
             cl_dtype_name(want->dtype), cl_shape_str(want->rank, want->dims, b, sizeof b));
    return 0;
  }
  size_t es = cl_dtype_size(want->dtype), n = es ? want->nbytes / es : 0;
  int exact = want->dtype != CL_DTYPE_F32 && want->dtype != CL_DTYPE_F64 &&
              want->dtype != CL_DTYPE_F16 && want->dtype != CL_DTYPE_BF16;
  if (want->dtype == CL_DTYPE_F16 || want->dtype == CL_DTYPE_BF16) {
    if (memcmp(got->data, want->data, want->nbytes) != 0) {
      snprintf(why, cap, "%s output differs", cl_dtype_name(want->dtype));
      return 0;
    }
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    double x = as_double(got, i), y = as_double(want, i);
    if (isnan(x) && isnan(y)) continue;
    if (isinf(x) && x == y) continue;
    double tol = exact ? 0 : ATOL + RTOL * fabs(y);
    if (!(fabs(x - y) <= tol)) {
      snprintf(why, cap, "element %zu is %.9g, expected %.9g", i, x, y);
      return 0;
    }
  }
  return 1;
}

static int read_indexed(const char *dir, const char *prefix, cl_tensor *ts, int *count, char *why,
                        size_t cap) {
  *count = 0;
  for (int i = 0; i < MAX_IO; i++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, i);
    struct stat st;
    if (stat(path, &st) != 0) break;
    cl_error err = {0};
    if (cl_tensorfile_read(path, &ts[i], &err) != CL_OK) {
      snprintf(why, cap, "%s_%d.pb: %s", prefix, i, err.msg);
      return -1;
    }
    (*count)++;
  }
  return 0;
}

/* Runs one data set; returns 1 pass, 0 fail (why says). */
static int run_set(const char *model_path, const char *set_dir, char *why, size_t cap) {
  cl_tensor in[MAX_IO] = {0}, want[MAX_IO] = {0};
  int n_in = 0, n_out = 0, ok = 0;
  cl_model_t *m = NULL;
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  if (read_indexed(set_dir, "input", in, &n_in, why, cap) != 0 ||
      read_indexed(set_dir, "output", want, &n_out, why, cap) != 0)
    goto done;
  cl_model_options opt = {.inputs = in, .n_inputs = n_in};
  if (cl_model_load(model_path, &opt, &m, &err) != CL_OK || cl_exec_create(m, NULL, &ex, &err) != CL_OK) {
    snprintf(why, cap, "%s", err.msg);
    goto done;
  }
  for (int i = 0; i < n_in; i++)
    if (cl_exec_set_input(ex, i, &in[i], &err) != CL_OK) break;
  if (err.status == CL_OK && cl_exec_run(ex, 0, cl_model_node_count(m), &err) != CL_OK) {
    snprintf(why, cap, "%s", err.msg);
    goto done;
  }
  if (err.status != CL_OK) {
    snprintf(why, cap, "%s", err.msg);
    goto done;
  }
  if (cl_model_output_count(m) != n_out) {
    snprintf(why, cap, "%d outputs, expected %d", cl_model_output_count(m), n_out);
    goto done;
  }
  ok = 1;
  for (int i = 0; i < n_out && ok; i++) {
    cl_tensor got;
    cl_exec_output(ex, i, &got);
    ok = same_tensor(&got, &want[i], why, cap);
  }
done:
  cl_exec_free(&ex);
  cl_model_free(&m);
  for (int i = 0; i < MAX_IO; i++) {
    cl_tensor_release(&in[i]);
    cl_tensor_release(&want[i]);
  }
  return ok;
}

/* === The run === */

typedef struct {
  int pass, fail, listed, listed_pass, out_of_scope;
  char ops[128][160];   /* out-of-scope ops seen */
  int op_cases[128];
  int n_ops;
  int verbose;
} summary;

static void count_op(summary *s, const char *op) {
  for (int i = 0; i < s->n_ops; i++)
    if (strcmp(s->ops[i], op) == 0) {
      s->op_cases[i]++;
      return;
    }
  if (s->n_ops < 128) {
    snprintf(s->ops[s->n_ops], sizeof s->ops[0], "%s", op);
    s->op_cases[s->n_ops++] = 1;
  }
}

static void run_case(summary *s, const char *dir, const char *name) {
  char model[1100], op[160], why[512] = "";
  snprintf(model, sizeof model, "%s/%s/model.onnx", dir, name);
  int dec = scan_ops(model, op, sizeof op);
  listed_case *l = find_listed(name);
  if (dec == 0 && op[0] && !l) {
    s->out_of_scope++;
    count_op(s, op);
    if (s->verbose) printf("OUT   %s (operator %s)\n", name, op);
    return;
  }
  int ok = dec == 0;
  if (!ok) snprintf(why, sizeof why, "cannot read %.400s", model);
  for (int k = 0; ok && k < 100; k++) {
    char set[1200];
    snprintf(set, sizeof set, "%s/%s/test_data_set_%d", dir, name, k);
    struct stat st;
    if (stat(set, &st) != 0) break;
    ok = run_set(model, set, why, sizeof why);
  }
  if (l) {
    l->seen = 1;
    if (ok) {
      s->listed_pass++;
      printf("FIXED %s: listed as unsupported (%s) but passes: remove it from the list\n", name, l->reason);
    } else {
      s->listed++;
      printf("SKIP  %s: %s\n", name, l->reason);
      if (s->verbose) printf("      (%s)\n", why);
    }
  } else if (ok) {
    s->pass++;
    if (s->verbose) printf("PASS  %s\n", name);
  } else {
    s->fail++;
    printf("FAIL  %s: %s\n", name, why);
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_dir(summary *s, const char *dir, const char *filter) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "conformance: cannot open %s (is libonnx-testdata installed?)\n", dir);
    s->fail++;
    return;
  }
  char *names[4096];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 4096)
    if (strncmp(e->d_name, "test_", 5) == 0 && (!filter || strstr(e->d_name, filter)))
      names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    run_case(s, dir, names[i]);
    free(names[i]);
  }
}

int main(int argc, char **argv) {
  const char *dirs[8];
  int n_dirs = 0;
  const char *list = NULL, *filter = NULL;
  summary s = {0};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--data") == 0 && i + 1 < argc && n_dirs < 8) dirs[n_dirs++] = argv[++i];
    else if (strcmp(argv[i], "--list") == 0 && i + 1 < argc) list = argv[++i];
    else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) filter = argv[++i];
    else if (strcmp(argv[i], "--verbose") == 0) s.verbose = 1;
    else {
      fprintf(stderr, "usage: conformance [--data DIR]... [--list FILE] [--filter SUBSTR] [--verbose]\n");
      return 2;
    }
  }
  if (n_dirs == 0) {
    dirs[n_dirs++] = "/usr/share/libonnx-testdata/data/node";
    dirs[n_dirs++] = "/usr/share/libonnx-testdata/data/pytorch-converted";
    dirs[n_dirs++] = "/usr/share/libonnx-testdata/data/pytorch-operator";
  }
  if (list && load_list(list) != 0) return 2;
  for (int i = 0; i < n_dirs; i++) run_dir(&s, dirs[i], filter);
  for (int i = 0; i < n_listed && !filter; i++)
    if (!listed[i].seen) printf("STALE %s: listed but not found in the suite\n", listed[i].name);
  printf("\nconformance: %d in-scope cases pass, %d fail, %d listed as unsupported (reasons above), "
         "%d listed but now pass\n", s.pass, s.fail, s.listed, s.listed_pass);
  printf("conformance: %d cases use operators outside cleave's scope:", s.out_of_scope);
  for (int i = 0; i < s.n_ops; i++) printf(" %s(%d)", s.ops[i], s.op_cases[i]);
  printf("\n");
  return s.fail || s.listed_pass ? 1 : 0;
}
