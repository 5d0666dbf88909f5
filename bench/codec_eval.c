/* cleave-codec-eval: what each codec does to the tensors crossing each cut of a real model.
 *
 * For every chosen cut k the model runs [0, k) on one executor; each codec encodes the frontier
 * tensors (timed on one core), decodes them into a second executor, which runs [k, n); its output is
 * compared with the unsplit output. Reported per cut and codec: raw and encoded bytes, encode and
 * decode throughput (MB/s of raw data, 1 MB = 1e6 bytes, median over --reps), relative L2 and max
 * absolute error of the output, top-1 agreement for [1, classes] outputs, the IoU of the thresholded
 * output with --iou T, and with --head H.onnx the effect on a downstream model: the input's batch is
 * run one item at a time (as a stream of requests would be) and the items' outputs, concatenated,
 * are the head's input. docs/CODEC.md has the figures and the commands that made them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleave/codec.h"
#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/tensorfile.h"
#include "wire/codec_internal.h"

#define PROG "cleave-codec-eval"
#define MAX_CODECS 16
#define MAX_INPUTS 8
#define MIN_TIMED_BYTES ((size_t)4 << 20) /* each timed rep codes at least this much */

static const char *DEFAULT_CODECS = "raw+nolz4,raw,raw+shuffle,f16,f16+shuffle,int8,int8c";

/* === Options === */

typedef struct opts {
  const char *model, *inputs[MAX_INPUTS], *cuts, *head, *csv;
  int n_inputs, threads, reps;
  double iou;                 /* threshold, or < 0 for none */
  cl_codec codecs[MAX_CODECS];
  char names[MAX_CODECS][32];
  int n_codecs;
} opts;

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --model M.onnx --input X.npy [--input ...]\n"
          "       [--cuts all|sample[:S[:M]]|K,K,...] [--codec all|C,C,...] [--threads N]\n"
          "       [--reps N] [--csv FILE|-] [--iou T] [--head H.onnx]\n"
          "  --cuts    all cuts, every S-th cut plus the M with the smallest frontiers\n"
          "            (sample:10:5, the default), or a list\n"
          "  --codec   codec names (cleave/codec.h); default %s\n"
          "  --threads threads of the executors (codecs always run on one core); default 1\n"
          "  --reps    timed repetitions per cut and codec (the median is reported); default 5\n"
          "  --csv     also write a CSV row per cut and codec to FILE (-: stdout, table on stderr)\n"
          "  --iou T   IoU of {output > T} against the unsplit output's\n"
          "  --head H  run the input's batch one item at a time and feed the concatenated outputs\n"
          "            to model H; reports H's first output\n",
          DEFAULT_CODECS);
}

static int parse_codecs(const char *list, opts *o) {
  const char *all = "raw+nolz4,raw+shuffle+nolz4,raw,raw+shuffle,f16+nolz4,f16+shuffle+nolz4,f16,"
                    "f16+shuffle,int8+nolz4,int8,int8c+nolz4,int8c";
  char buf[512];
  snprintf(buf, sizeof buf, "%s", strcmp(list, "all") == 0 ? all : list);
  o->n_codecs = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    cl_error err = {0};
    if (o->n_codecs == MAX_CODECS || cl_codec_parse(tok, &o->codecs[o->n_codecs], &err) != CL_OK) {
      fprintf(stderr, PROG ": %s\n", err.msg[0] ? err.msg : "too many codecs");
      return 2;
    }
    cl_codec_name(&o->codecs[o->n_codecs], o->names[o->n_codecs], sizeof o->names[0]);
    o->n_codecs++;
  }
  return o->n_codecs ? 0 : 2;
}

static int int_arg(const char *s, int lo, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > 1000000) return 2;
  *out = (int)v;
  return 0;
}

/* Returns 0, 1 (--help/--version printed: exit 0) or 2 (bad usage). */
static int parse_args(int argc, char **argv, opts *o) {
  *o = (opts){.cuts = "sample", .threads = 1, .reps = 5, .iou = -1};
  if (parse_codecs(DEFAULT_CODECS, o)) return 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 1;
    if (!strcmp(a, "--version")) return printf(PROG " %s\n", cl_version()), 1;
    if (!v) return fprintf(stderr, PROG ": %s needs a value or is unknown\n", a), 2;
    i++;
    int bad = 0;
    if (!strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--input") && o->n_inputs < MAX_INPUTS) o->inputs[o->n_inputs++] = v;
    else if (!strcmp(a, "--cuts")) o->cuts = v;
    else if (!strcmp(a, "--codec")) bad = parse_codecs(v, o);
    else if (!strcmp(a, "--threads")) bad = int_arg(v, 1, &o->threads);
    else if (!strcmp(a, "--reps")) bad = int_arg(v, 1, &o->reps);
    else if (!strcmp(a, "--csv")) o->csv = v;
    else if (!strcmp(a, "--head")) o->head = v;
    else if (!strcmp(a, "--iou")) o->iou = atof(v);
    else return fprintf(stderr, PROG ": unknown option %s\n", a), 2;
    if (bad) return fprintf(stderr, PROG ": bad value for %s: %s\n", a, v), 2;
  }
  if (!o->model || !o->n_inputs)
    return fprintf(stderr, PROG ": --model and --input are needed\n"), 2;
  if (o->head && o->n_inputs != 1) return fprintf(stderr, PROG ": --head takes one input\n"), 2;
  return 0;
}

/* === Cut selection === */

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static size_t frontier_bytes(const cl_model_t *m, int k) {
  int ids[256], nf = cl_model_frontier(m, k, ids, 256);
  size_t bytes = 0;
  for (int i = 0; i < nf && i < 256; i++) {
    cl_value_info vi;
    cl_model_value_info(m, ids[i], &vi);
    bytes += vi.nbytes;
  }
  return bytes;
}

/* Fills cuts (capacity n + 1) and returns how many, or -1 on a bad --cuts. */
static int choose_cuts(const cl_model_t *m, const char *spec, int *cuts) {
  int n = cl_model_node_count(m), count = 0;
  if (!strcmp(spec, "all")) {
    for (int k = 0; k <= n; k++) cuts[count++] = k;
    return count;
  }
  if (!strncmp(spec, "sample", 6)) {
    int step = 10, smallest = 5;
    if (spec[6] == ':' && sscanf(spec + 7, "%d:%d", &step, &smallest) < 1) return -1;
    if (step < 1 || smallest < 0) return -1;
    char *mark = calloc((size_t)n + 1, 1);
    for (int k = 0; k <= n; k += step) mark[k] = 1;
    mark[n] = 1;
    for (int s = 0; s < smallest; s++) { /* the s-th smallest frontier among unmarked inner cuts */
      int best = -1;
      size_t best_b = 0;
      for (int k = 1; k < n; k++) {
        size_t b = mark[k] ? 0 : frontier_bytes(m, k);
        if (!mark[k] && (best < 0 || b < best_b)) best = k, best_b = b;
      }
      if (best >= 0) mark[best] = 1;
    }
    for (int k = 0; k <= n; k++)
      if (mark[k]) cuts[count++] = k;
    free(mark);
    return count;
  }
  for (const char *p = spec; *p;) {
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k < 0 || k > n || (*end && *end != ',') || count > n) return -1;
    cuts[count++] = (int)k;
    p = *end ? end + 1 : end;
  }
  qsort(cuts, (size_t)count, sizeof *cuts, cmp_int);
  return count;
}

/* === Timing === */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* === Frontier tensors and their coding === */

typedef struct ftensor {
  int value;
  cl_codec_tensor geom;   /* as the wire header would give it */
  const void *src;        /* the value's bytes in the device-side executor */
  void *dst;              /* its buffer in the worker-side executor */
  size_t off, len;        /* its encoded bytes in the cut's buffer */
  cl_codec used;          /* the codec applied (raw for non-float tensors) */
} ftensor;

typedef struct cutstate {
  ftensor *t;             /* the frontier of the cut */
  int nt;
  size_t raw_bytes;       /* sum of the tensors' bytes */
  uint8_t *enc;           /* encoded bytes of every tensor, one after the other */
  size_t enc_cap;
  void *scratch;
  size_t scratch_cap;
} cutstate;

/* [outer, channels, inner] of a value as it lies in an executor's buffer (codec.h). */
static cl_codec_tensor geometry(const cl_value_info *vi) {
  cl_codec_tensor g;
  cl_codec_tensor_of(vi->dtype, vi->rank, vi->dims, vi->layout == CL_LAYOUT_CHANNELS_LAST, vi->nbytes, &g);
  return g;
}

static int cut_prepare(const cl_model_t *m, int k, cl_exec_t *a, cl_exec_t *b, cutstate *cs) {
  int nf = cl_model_frontier(m, k, NULL, 0);
  int *ids = malloc(sizeof(int) * (size_t)(nf + 1));
  free(cs->t);
  cs->t = calloc((size_t)nf + 1, sizeof *cs->t);
  if (!ids || !cs->t) return fprintf(stderr, PROG ": out of memory\n"), 1;
  cl_model_frontier(m, k, ids, nf);
  cs->nt = nf;
  cs->raw_bytes = 0;
  for (int i = 0; i < nf; i++) {
    cl_value_info vi;
    size_t nb;
    cl_model_value_info(m, ids[i], &vi);
    ftensor *t = &cs->t[i];
    t->value = ids[i];
    t->geom = geometry(&vi);
    t->src = cl_exec_buffer(a, ids[i], &nb);
    t->dst = cl_exec_buffer(b, ids[i], &nb);
    cs->raw_bytes += vi.nbytes;
  }
  free(ids);
  return 0;
}

/* Sizes the encoded buffer and the scratch for codec c. */
static int cut_reserve(cutstate *cs, const cl_codec *c) {
  size_t need = 0, scratch = 0;
  for (int i = 0; i < cs->nt; i++) {
    need += cl_codec_bound(c, &cs->t[i].geom);
    size_t s = cl_codec_scratch(c, &cs->t[i].geom);
    scratch = s > scratch ? s : scratch;
  }
  if (need > cs->enc_cap) {
    free(cs->enc);
    cs->enc = malloc(need);
    cs->enc_cap = cs->enc ? need : 0;
  }
  if (scratch > cs->scratch_cap) {
    free(cs->scratch);
    cs->scratch = malloc(scratch);
    cs->scratch_cap = cs->scratch ? scratch : 0;
  }
  if ((need && !cs->enc) || (scratch && !cs->scratch))
    return fprintf(stderr, PROG ": out of memory\n"), 1;
  return 0;
}

static int encode_all(cutstate *cs, const cl_codec *c, size_t *total) {
  size_t off = 0;
  for (int i = 0; i < cs->nt; i++) {
    ftensor *t = &cs->t[i];
    cl_error err = {0};
    if (cl_codec_encode(c, &t->geom, t->src, cs->enc + off, cs->enc_cap - off, &t->len,
                        cs->scratch, &t->used, &err) != CL_OK)
      return fprintf(stderr, PROG ": encode: %s\n", err.msg), 1;
    t->off = off;
    off += t->len;
  }
  *total = off;
  return 0;
}

static int decode_all(cutstate *cs) {
  for (int i = 0; i < cs->nt; i++) {
    ftensor *t = &cs->t[i];
    cl_error err = {0};
    if (cl_codec_decode(&t->used, &t->geom, cs->enc + t->off, t->len, t->dst, cs->scratch,
                        &err) != CL_OK)
      return fprintf(stderr, PROG ": decode: %s\n", err.msg), 1;
  }
  return 0;
}

/* Median seconds per pass of encode_all (decode = 0) or decode_all over reps, each rep coding at
 * least MIN_TIMED_BYTES. The data must be encoded already. Returns < 0 on failure. */
static double time_codec(cutstate *cs, const cl_codec *c, int decode, int reps) {
  size_t inner = cs->raw_bytes ? (MIN_TIMED_BYTES + cs->raw_bytes - 1) / cs->raw_bytes : 1, total;
  double *t = malloc(sizeof(double) * (size_t)reps);
  if (!t) return -1;
  for (int r = 0; r < reps; r++) {
    double t0 = now_s();
    for (size_t i = 0; i < inner; i++)
      if (decode ? decode_all(cs) : encode_all(cs, c, &total)) return free(t), -1;
    t[r] = (now_s() - t0) / (double)inner;
  }
  double med = median(t, reps);
  free(t);
  return med;
}

/* === The model, both executors, the optional head === */

typedef struct runner {
  cl_model_t *m;
  cl_exec_t *a, *b;            /* device side [0, k), worker side [k, n) */
  int n;                       /* nodes */
  cl_tensor in[MAX_INPUTS];    /* the inputs as read */
  int n_in;
  int items;                   /* --head: the input's batch, run one item at a time; else 1 */
  size_t out_floats;           /* float32 output values per item (all float outputs, in order) */
  size_t out0_floats;          /* of which output 0 */
  int classifier;              /* output 0 is [1, classes]: top-1 applies */
  int probs;                   /* ... and holds probabilities (all in (0, 1]): compare their logs */
  cl_model_t *hm;              /* --head */
  cl_exec_t *h;
} runner;

/* Input j for item it: the whole tensor, or (--head) item it of its batch as a batch of 1. */
static cl_tensor item_view(const runner *r, int j, int it) {
  cl_tensor v = r->in[j];
  v.owns_data = 0;
  if (r->items > 1) {
    v.nbytes /= (size_t)r->items;
    v.dims[0] = 1;
    v.data = (uint8_t *)v.data + (size_t)it * v.nbytes;
  }
  return v;
}

static int set_item(const runner *r, cl_exec_t *ex, int it) {
  for (int j = 0; j < r->n_in; j++) {
    cl_tensor v = item_view(r, j, it);
    cl_error err = {0};
    if (cl_exec_set_input(ex, j, &v, &err) != CL_OK)
      return fprintf(stderr, PROG ": input %d: %s\n", j, err.msg), 1;
  }
  return 0;
}

static int run(cl_exec_t *ex, int begin, int end) {
  cl_error err = {0};
  if (cl_exec_run(ex, begin, end, &err) != CL_OK)
    return fprintf(stderr, PROG ": run [%d, %d): %s\n", begin, end, err.msg), 1;
  return 0;
}

/* Copies the float outputs of ex to dst (when not NULL); returns how many floats. */
static size_t gather(const runner *r, cl_exec_t *ex, float *dst) {
  size_t n = 0;
  for (int i = 0; i < cl_model_output_count(r->m); i++) {
    cl_tensor v;
    cl_exec_output(ex, i, &v);
    if (v.dtype != CL_DTYPE_F32) continue;
    if (dst) memcpy(dst + n, v.data, v.nbytes);
    n += v.nbytes / 4;
  }
  return n;
}

static int runner_open(const opts *o, runner *r) {
  cl_error err = {0};
  for (int j = 0; j < o->n_inputs; j++, r->n_in++)
    if (cl_tensorfile_read(o->inputs[j], &r->in[j], &err) != CL_OK)
      return fprintf(stderr, PROG ": %s: %s\n", o->inputs[j], err.msg), 1;
  r->items = o->head && r->in[0].rank > 0 && r->in[0].dims[0] > 1 ? (int)r->in[0].dims[0] : 1;
  cl_tensor views[MAX_INPUTS];
  for (int j = 0; j < r->n_in; j++) views[j] = item_view(r, j, 0);
  cl_model_options mo = {.inputs = views, .n_inputs = r->n_in};
  cl_exec_options eo = {.threads = o->threads};
  if (cl_model_load(o->model, &mo, &r->m, &err) != CL_OK ||
      cl_exec_create(r->m, &eo, &r->a, &err) != CL_OK ||
      cl_exec_create(r->m, &eo, &r->b, &err) != CL_OK)
    return fprintf(stderr, PROG ": %s: %s\n", o->model, err.msg), 1;
  r->n = cl_model_node_count(r->m);
  cl_model_options ho = {0};
  if (o->head && (cl_model_load(o->head, &ho, &r->hm, &err) != CL_OK ||
                  cl_exec_create(r->hm, &eo, &r->h, &err) != CL_OK))
    return fprintf(stderr, PROG ": %s: %s\n", o->head, err.msg), 1;
  return 0;
}

static void runner_close(runner *r) {
  cl_exec_free(&r->h);
  cl_model_free(&r->hm);
  cl_exec_free(&r->a);
  cl_exec_free(&r->b);
  cl_model_free(&r->m);
  for (int j = 0; j < r->n_in; j++) cl_tensor_release(&r->in[j]);
}

/* The head's first output on x (items * out_floats floats), or NAN on failure. */
static double head_score(runner *r, const float *x) {
  cl_value_info vi;
  cl_model_value_info(r->hm, cl_model_input_value(r->hm, 0), &vi);
  if (vi.dtype != CL_DTYPE_F32 || vi.nbytes != (size_t)r->items * r->out_floats * 4) {
    fprintf(stderr, PROG ": the head's input takes %zu bytes, the outputs give %zu\n", vi.nbytes,
            (size_t)r->items * r->out_floats * 4);
    return NAN;
  }
  cl_tensor t = {.dtype = CL_DTYPE_F32, .rank = vi.rank, .data = (void *)x, .nbytes = vi.nbytes};
  memcpy(t.dims, vi.dims, sizeof t.dims);
  cl_error err = {0};
  cl_tensor out;
  if (cl_exec_set_input(r->h, 0, &t, &err) != CL_OK || run(r->h, 0, cl_model_node_count(r->hm)))
    return fprintf(stderr, PROG ": head: %s\n", err.msg), NAN;
  cl_exec_output(r->h, 0, &out);
  return out.dtype == CL_DTYPE_F32 && out.nbytes >= 4 ? ((const float *)out.data)[0] : NAN;
}

/* Runs the unsplit model on every item: the reference outputs (*ref, allocated). */
static int reference(runner *r, float **ref) {
  if (set_item(r, r->a, 0) || run(r->a, 0, r->n)) return 1;
  r->out_floats = gather(r, r->a, NULL);
  cl_tensor v;
  cl_exec_output(r->a, 0, &v);
  r->out0_floats = v.dtype == CL_DTYPE_F32 ? v.nbytes / 4 : 0;
  r->classifier = r->out0_floats >= 2 && v.rank == 2 && v.dims[0] == 1;
  r->probs = r->classifier;
  for (size_t i = 0; r->probs && i < r->out0_floats; i++)
    r->probs = ((const float *)v.data)[i] > 0 && ((const float *)v.data)[i] <= 1;
  *ref = malloc(sizeof(float) * (r->out_floats * (size_t)r->items + 1));
  if (!*ref) return fprintf(stderr, PROG ": out of memory\n"), 1;
  for (int it = 0; it < r->items; it++) {
    if (it && (set_item(r, r->a, it) || run(r->a, 0, r->n))) return 1;
    gather(r, r->a, *ref + (size_t)it * r->out_floats);
  }
  return 0;
}

/* === Comparing outputs === */

typedef struct metrics {
  double rel_l2, max_abs;
  int top1_agree, top1_total; /* items whose argmax agrees, out of */
  double dlogp;               /* probabilities: largest |log p' - log p|, NAN otherwise */
  double iou;                 /* NAN without --iou */
  double head;                /* the head's score, NAN without --head */
} metrics;

static int argmax(const float *x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return (int)best;
}

static metrics compare(const runner *r, const opts *o, const float *ref, const float *y) {
  metrics mt = {.iou = NAN, .head = NAN, .dlogp = r->probs ? 0 : NAN};
  double num = 0, den = 0;
  size_t inter = 0, uni = 0;
  for (int it = 0; it < r->items; it++) {
    const float *a = ref + (size_t)it * r->out_floats, *b = y + (size_t)it * r->out_floats;
    for (size_t i = 0; i < r->out_floats; i++) {
      double d = (double)b[i] - a[i];
      num += d * d;
      den += (double)a[i] * a[i];
      mt.max_abs = fabs(d) > mt.max_abs || d != d ? fabs(d) : mt.max_abs;
    }
    for (size_t i = 0; o->iou >= 0 && i < r->out0_floats; i++) {
      int pa = a[i] > o->iou, pb = b[i] > o->iou;
      inter += (size_t)(pa && pb);
      uni += (size_t)(pa || pb);
    }
    for (size_t i = 0; r->probs && i < r->out0_floats; i++) {
      double d = b[i] > 0 ? fabs(log((double)b[i]) - log((double)a[i])) : INFINITY;
      mt.dlogp = d > mt.dlogp || d != d ? d : mt.dlogp;
    }
    if (r->classifier) {
      mt.top1_total++;
      mt.top1_agree += argmax(a, r->out0_floats) == argmax(b, r->out0_floats);
    }
  }
  mt.rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
  if (o->iou >= 0) mt.iou = uni ? (double)inter / (double)uni : 1.0;
  return mt;
}

/* === Report === */

typedef struct row {          /* one cut, one codec */
  size_t raw, enc;            /* bytes over every item */
  double enc_s, dec_s;        /* median seconds to code item 0's frontier */
  size_t timed_raw;           /* item 0's frontier bytes */
  metrics mt;
} row;

typedef struct summary {      /* one codec over every cut */
  size_t raw, enc, timed_raw;
  double enc_s, dec_s, worst_rel, worst_abs, min_iou, worst_head, worst_dlogp;
  double *rel;                /* per cut, for the median */
  int cuts, top1_agree, top1_total;
} summary;

static double mbps(size_t bytes, double s) { return s > 0 ? (double)bytes / s / 1e6 : 0; }

static void print_row(FILE *tab, FILE *csv, const opts *o, const runner *r, int k, int ci,
                      const cutstate *cs, const row *w, double head_ref) {
  const char *op = k ? cl_model_node_op(r->m, k - 1) : "(input)";
  char top1[24] = "-", iou[24] = "-", head[24] = "-", dlogp[24] = "-";
  if (w->mt.top1_total) snprintf(top1, sizeof top1, "%d/%d", w->mt.top1_agree, w->mt.top1_total);
  if (!isnan(w->mt.dlogp)) snprintf(dlogp, sizeof dlogp, "%.2e", w->mt.dlogp);
  if (!isnan(w->mt.iou)) snprintf(iou, sizeof iou, "%.6f", w->mt.iou);
  if (!isnan(w->mt.head)) snprintf(head, sizeof head, "%.9g", w->mt.head);
  fprintf(tab, "%5d %-18.18s %3d %10zu  %-20s %6.2f %9.0f %9.0f %9.2e %9.2e %5s %9s %8.8s %11.6g\n", k,
          op, cs->nt, cs->raw_bytes, o->names[ci], w->enc ? (double)w->raw / (double)w->enc : 0,
          mbps(w->timed_raw, w->enc_s), mbps(w->timed_raw, w->dec_s), w->mt.rel_l2, w->mt.max_abs,
          top1, dlogp, iou, w->mt.head);
  if (!csv) return;
  fprintf(csv, "%s,%s,%d,%s,%d,%s,%zu,%zu,%.4f,%.1f,%.1f,%.4e,%.4e,%s,%s,%s,%s,", o->model,
          o->inputs[0], k, op, cs->nt, o->names[ci], w->raw, w->enc,
          w->enc ? (double)w->raw / (double)w->enc : 0, mbps(w->timed_raw, w->enc_s),
          mbps(w->timed_raw, w->dec_s), w->mt.rel_l2, w->mt.max_abs,
          w->mt.top1_total ? top1 : "", isnan(w->mt.dlogp) ? "" : dlogp,
          isnan(w->mt.iou) ? "" : iou, isnan(w->mt.head) ? "" : head);
  if (isnan(head_ref)) fprintf(csv, "\n");
  else fprintf(csv, "%.9g\n", head_ref);
}

static void add_row(summary *s, const row *w, double head_ref) {
  s->raw += w->raw;
  s->enc += w->enc;
  s->timed_raw += w->timed_raw;
  s->enc_s += w->enc_s;
  s->dec_s += w->dec_s;
  s->rel[s->cuts++] = w->mt.rel_l2;
  s->worst_rel = fmax(s->worst_rel, w->mt.rel_l2);
  s->worst_abs = fmax(s->worst_abs, w->mt.max_abs);
  s->top1_agree += w->mt.top1_agree;
  s->top1_total += w->mt.top1_total;
  if (!isnan(w->mt.iou)) s->min_iou = fmin(s->min_iou, w->mt.iou);
  if (!isnan(w->mt.dlogp)) s->worst_dlogp = fmax(s->worst_dlogp, w->mt.dlogp);
  if (!isnan(w->mt.head)) s->worst_head = fmax(s->worst_head, fabs(w->mt.head - head_ref));
}

static void print_summary(FILE *tab, const opts *o, summary *s, double head_ref) {
  fprintf(tab, "\nsummary over %d cuts (throughput: total frontier bytes / total median time, one "
               "core)\n", s[0].cuts);
  fprintf(tab, "%-20s %12s %12s %6s %9s %9s %9s %9s %9s %7s %9s %7s\n", "codec", "raw bytes",
          "encoded", "ratio", "enc MB/s", "dec MB/s", "med relL2", "max relL2", "max abs", "top1",
          "max dlogp", "minIoU");
  for (int c = 0; c < o->n_codecs; c++) {
    summary *x = &s[c];
    char top1[24] = "-", iou[16] = "-", dlogp[16] = "-";
    if (x->top1_total) snprintf(top1, sizeof top1, "%d/%d", x->top1_agree, x->top1_total);
    if (x->top1_total && !isnan(x->worst_dlogp))
      snprintf(dlogp, sizeof dlogp, "%.2e", x->worst_dlogp);
    if (o->iou >= 0) snprintf(iou, sizeof iou, "%.4f", x->min_iou);
    fprintf(tab, "%-20s %12zu %12zu %6.2f %9.0f %9.0f %9.2e %9.2e %9.2e %7s %9s %7s\n",
            o->names[c], x->raw, x->enc, x->enc ? (double)x->raw / (double)x->enc : 0,
            mbps(x->timed_raw, x->enc_s), mbps(x->timed_raw, x->dec_s),
            x->cuts ? median(x->rel, x->cuts) : 0, x->worst_rel, x->worst_abs, top1, dlogp, iou);
  }
  if (!isnan(head_ref)) {
    fprintf(tab, "head score unsplit %.6g; largest |change| of it per codec:", head_ref);
    for (int c = 0; c < o->n_codecs; c++) fprintf(tab, " %s %.2e", o->names[c], s[c].worst_head);
    fprintf(tab, "\n");
  }
}

/* === One cut === */

/* Item it through cut k under every codec: encode, decode into the worker side, finish there. Item
 * 0 is also timed. outs[c] receives the outputs under codec c. */
static int cut_item(runner *r, const opts *o, int k, int it, cutstate *cs, row *rows,
                    float **outs) {
  if (set_item(r, r->a, it) || run(r->a, 0, k)) return 1;
  for (int c = 0; c < o->n_codecs; c++) {
    size_t total;
    if (cut_reserve(cs, &o->codecs[c]) || encode_all(cs, &o->codecs[c], &total)) return 1;
    rows[c].raw += cs->raw_bytes;
    rows[c].enc += total;
    if (it == 0) {
      rows[c].timed_raw = cs->raw_bytes;
      rows[c].enc_s = time_codec(cs, &o->codecs[c], 0, o->reps);
      rows[c].dec_s = time_codec(cs, &o->codecs[c], 1, o->reps);
      if (rows[c].enc_s < 0 || rows[c].dec_s < 0) return 1;
    }
    if (decode_all(cs) || run(r->b, k, r->n)) return 1;
    gather(r, r->b, outs[c] + (size_t)it * r->out_floats);
  }
  return 0;
}

static int eval_cut(runner *r, const opts *o, int k, const float *ref, float **outs,
                    cutstate *cs, summary *sum, double head_ref, FILE *tab, FILE *csv) {
  row rows[MAX_CODECS];
  memset(rows, 0, sizeof rows);
  if (cut_prepare(r->m, k, r->a, r->b, cs)) return 1;
  for (int it = 0; it < r->items; it++)
    if (cut_item(r, o, k, it, cs, rows, outs)) return 1;
  for (int c = 0; c < o->n_codecs; c++) {
    rows[c].mt = compare(r, o, ref, outs[c]);
    if (r->h) rows[c].mt.head = head_score(r, outs[c]);
    print_row(tab, csv, o, r, k, c, cs, &rows[c], head_ref);
    add_row(&sum[c], &rows[c], head_ref);
  }
  fflush(tab);
  return 0;
}

/* === Main === */

static int eval(runner *r, const opts *o, FILE *tab, FILE *csv) {
  float *ref = NULL, *outs[MAX_CODECS] = {0};
  int *cuts = malloc(sizeof(int) * ((size_t)r->n + 1)), rc = 1, nc;
  summary sum[MAX_CODECS];
  cutstate cs = {0};
  memset(sum, 0, sizeof sum);
  if (!cuts || reference(r, &ref)) goto done;
  if ((nc = choose_cuts(r->m, o->cuts, cuts)) < 0) {
    fprintf(stderr, PROG ": bad --cuts '%s' (the model has cuts 0..%d)\n", o->cuts, r->n);
    rc = 2;
    goto done;
  }
  for (int c = 0; c < o->n_codecs; c++) {
    outs[c] = malloc(sizeof(float) * (r->out_floats * (size_t)r->items + 1));
    sum[c].rel = malloc(sizeof(double) * ((size_t)nc + 1));
    sum[c].min_iou = 1.0;
    sum[c].worst_dlogp = NAN; /* fmax ignores it: stays NAN when no cut has probabilities */
    if (!outs[c] || !sum[c].rel) goto done;
  }
  double head_ref = r->h ? head_score(r, ref) : NAN;
  fprintf(tab, "model %s (%d nodes), input %s, %d item(s), %d cuts, executor threads %d, codec "
               "kernels %s\n", o->model, r->n, o->inputs[0], r->items, nc, o->threads,
          cl_codec_simd_active() ? "AVX2/F16C" : "portable");
  if (!isnan(head_ref)) fprintf(tab, "head %s on the unsplit outputs: %.6g\n", o->head, head_ref);
  fprintf(tab, "%5s %-18s %3s %10s  %-20s %6s %9s %9s %9s %9s %5s %9s %8s %11s\n", "cut", "after",
          "n", "bytes", "codec", "ratio", "enc MB/s", "dec MB/s", "rel L2", "max abs", "top1",
          "dlogp", "IoU", "head");
  if (csv)
    fprintf(csv, "model,input,cut,after_op,tensors,codec,raw_bytes,encoded_bytes,ratio,"
                 "encode_mbps,decode_mbps,rel_l2,max_abs,top1_agree,max_dlogp,iou,head_out,"
                 "head_ref\n");
  for (int i = 0; i < nc; i++)
    if (eval_cut(r, o, cuts[i], ref, outs, &cs, sum, head_ref, tab, csv)) goto done;
  print_summary(tab, o, sum, head_ref);
  rc = 0;
done:
  for (int c = 0; c < o->n_codecs; c++) free(outs[c]), free(sum[c].rel);
  free(cs.t);
  free(cs.enc);
  free(cs.scratch);
  free(ref);
  free(cuts);
  return rc;
}

int main(int argc, char **argv) {
  opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : 2;
  FILE *tab = stdout, *csv = NULL;
  if (o.csv && !strcmp(o.csv, "-")) csv = stdout, tab = stderr;
  else if (o.csv && !(csv = fopen(o.csv, "w")))
    return fprintf(stderr, PROG ": cannot write %s\n", o.csv), 1;
  runner r = {0};
  rc = runner_open(&o, &r) ? 1 : eval(&r, &o, tab, csv);
  runner_close(&r);
  if (csv && csv != stdout && fclose(csv) != 0 && rc == 0)
    return fprintf(stderr, PROG ": cannot write %s\n", o.csv), 1;
  return rc;
}
