/* cleave partitioner: measuring a profile on this host (cl_profile_measure, profile.h).
 *
 * 1. The graph: nodes with their value ids, values with their bytes and roles (cl_model_*).
 * 2. Node timings: warm-up runs, then `runs` timed runs of [0, n) on an executor with per-node timing,
 *    each after a pause (a sleep of pause_ms), as each side of a split request computes after waiting
 *    for the other; median and p90 of each node over the runs.
 * 3. Cuts: one executor advances node by node (run [k-1, k)), so that at cut k the frontier of k holds
 *    real activations. Each tensor is coded the first time it crosses a cut: every codec encodes it
 *    (its bytes), then encode and decode are timed on one core as a request runs them: each rep
 *    first evicts this core's caches (writes a buffer twice the L2), then reads the input once (the
 *    tensor, just computed on the device; the encoded bytes, just received and opened on the
 *    worker), then codes it once; the median over reps. For each lossy codec, the whole frontier is encoded and decoded into a
 *    second executor, which runs [k, n); its outputs against the unsplit outputs give the error.
 * 4. The cuts' sums, frontiers and memory follow from the graph (cl_profile_derive). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "cleave/codec.h"
#include "cleave/exec.h"
#include "cleave/profile.h"
#include "profile_internal.h"

#define EVICT_MIN_BYTES ((size_t)8 << 20)  /* the eviction buffer: twice the L2, within these */
#define EVICT_MAX_BYTES ((size_t)64 << 20)
#define CACHE_LINE 64
#define MAX_INPUTS 16

/* === Small helpers === */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v and returns its median; *p90 (may be NULL) gets the 90th percentile. */
static double median_p90(double *v, int n, double *p90) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  if (p90) {
    int i = (int)ceil(0.9 * n) - 1;
    *p90 = v[i < 0 ? 0 : i];
  }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void describe_host(cl_profile_host *h, int threads) {
  memset(h, 0, sizeof *h);
  snprintf(h->cpu, sizeof h->cpu, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) != 0 || !colon) continue;
    colon += 1 + (colon[1] == ' ');
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(h->cpu, sizeof h->cpu, "%s", colon);
    break;
  }
  if (f) fclose(f);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  h->cores = cores > 0 ? (int)cores : 1;
  h->threads = threads;
  snprintf(h->version, sizeof h->version, "%s", cl_version());
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(h->date, sizeof h->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (gethostname(h->hostname, sizeof h->hostname - 1) != 0) snprintf(h->hostname, sizeof h->hostname, "unknown");
}

/* === Codecs === */

typedef struct codec_set {
  int n;
  cl_codec c[CL_PROFILE_MAX_CODECS];
  char names[CL_PROFILE_MAX_CODECS][CL_PROFILE_CODEC_NAME_MAX];
} codec_set;

static cl_status add_codec(codec_set *s, const cl_codec *c, cl_error *err) {
  char name[CL_PROFILE_CODEC_NAME_MAX];
  cl_codec_name(c, name, sizeof name);
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->names[i], name) == 0) return CL_OK;
  if (s->n == CL_PROFILE_MAX_CODECS)
    return cl_error_set(err, CL_ERR_ARG, "more than %d codecs", CL_PROFILE_MAX_CODECS);
  s->c[s->n] = *c;
  snprintf(s->names[s->n++], CL_PROFILE_CODEC_NAME_MAX, "%s", name);
  return CL_OK;
}

/* The list as given, then each lossy codec's lossless counterpart (raw, same shuffle and LZ4). */
static cl_status parse_codecs(const char *list, codec_set *s, cl_error *err) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list ? list : CL_PROFILE_DEFAULT_CODECS);
  s->n = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    cl_codec c;
    if (cl_codec_parse(tok, &c, err) != CL_OK || add_codec(s, &c, err) != CL_OK) return CL_ERR_ARG;
  }
  if (s->n == 0) return cl_error_set(err, CL_ERR_ARG, "no codec given");
  for (int i = 0, n = s->n; i < n; i++) {
    cl_codec r = s->c[i];
    r.kind = CL_CODEC_RAW;
    if (add_codec(s, &r, err) != CL_OK) return CL_ERR_ARG;
  }
  return CL_OK;
}

/* === The measuring state === */

typedef struct meas {
  const cl_model_t *m;
  const cl_profile_options *o;
  cl_profile *p;
  codec_set cs;
  cl_exec_t *a, *b;           /* device side (advances node by node), worker side */
  int n;
  uint8_t *enc, *dec, *scratch; /* one tensor's encoded bytes, decoded bytes, codec scratch */
  size_t enc_cap, dec_cap, scratch_cap;
  float *ref, *out;           /* float outputs, unsplit and split */
  size_t out_floats;
  double *max_abs;            /* per value, once measured */
  unsigned char *evict;       /* written before each codec rep: the caches then hold it, not ours */
  size_t evict_bytes;
  cl_error *err;
} meas;

/* === Cold caches === */

/* The eviction buffer: twice this core's L2 (sysconf), within [EVICT_MIN_BYTES, EVICT_MAX_BYTES]. */
static cl_status alloc_evict(meas *s) {
  long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  size_t n = l2 > 0 ? 2 * (size_t)l2 : EVICT_MIN_BYTES;
  s->evict_bytes = n < EVICT_MIN_BYTES ? EVICT_MIN_BYTES : n > EVICT_MAX_BYTES ? EVICT_MAX_BYTES : n;
  s->evict = calloc(1, s->evict_bytes);
  return s->evict ? CL_OK : cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
}

/* Writes every cache line of the eviction buffer, then reads every line of `warm` (n bytes): the
 * caches hold what a request's codec step finds there, its input and not much else of ours. */
static void cold_start(meas *s, const void *warm, size_t n) {
  volatile unsigned char *e = s->evict;
  for (size_t i = 0; i < s->evict_bytes; i += CACHE_LINE) e[i]++;
  for (size_t i = 0; i < n; i += CACHE_LINE) e[0] ^= ((const volatile unsigned char *)warm)[i];
}

static cl_codec_tensor geometry(const cl_model_t *m, int v) {
  cl_value_info vi;
  cl_codec_tensor g;
  cl_model_value_info(m, v, &vi);
  cl_codec_tensor_of(vi.dtype, vi.rank, vi.dims, vi.layout == CL_LAYOUT_CHANNELS_LAST, vi.nbytes, &g);
  return g;
}

/* Sizes the buffers for the largest crossing tensor under every codec. */
static cl_status size_buffers(meas *s) {
  for (int v = 0; v < s->p->n_values; v++) {
    cl_codec_tensor g = geometry(s->m, v);
    if (s->p->values[v].flags & CL_PROFILE_CONSTANT) continue;
    s->dec_cap = g.nbytes > s->dec_cap ? g.nbytes : s->dec_cap;
    for (int j = 0; j < s->cs.n; j++) {
      size_t b = cl_codec_bound(&s->cs.c[j], &g), sc = cl_codec_scratch(&s->cs.c[j], &g);
      s->enc_cap = b > s->enc_cap ? b : s->enc_cap;
      s->scratch_cap = sc > s->scratch_cap ? sc : s->scratch_cap;
    }
  }
  s->enc = malloc(s->enc_cap + 64);
  s->dec = malloc(s->dec_cap + 64);
  s->scratch = malloc(s->scratch_cap + 64);
  if (!s->enc || !s->dec || !s->scratch) return cl_error_set(s->err, CL_ERR_NOMEM, "out of memory for codec buffers");
  return CL_OK;
}

/* === 1. The graph === */

static cl_status fill_graph(meas *s) {
  const cl_model_t *m = s->m;
  cl_profile *p = s->p;
  for (int i = 0; i < s->n; i++) {
    const int *in, *out;
    int ni = cl_model_node_inputs(m, i, &in), no = cl_model_node_outputs(m, i, &out);
    cl_status st = cl_profile_set_node_io(p, i, in, ni, out, no, s->err);
    if (st != CL_OK) return st;
    snprintf(p->nodes[i].name, sizeof p->nodes[i].name, "%s", cl_model_node_name(m, i));
    snprintf(p->nodes[i].op, sizeof p->nodes[i].op, "%s", cl_model_node_op(m, i));
  }
  for (int v = 0; v < p->n_values; v++) {
    cl_value_info vi;
    cl_model_value_info(m, v, &vi);
    p->values[v].bytes = vi.nbytes;
    p->values[v].producer = vi.producer;
    p->values[v].flags = vi.is_constant ? CL_PROFILE_CONSTANT : 0;
  }
  for (int i = 0; i < cl_model_input_count(m); i++) {
    int v = cl_model_input_value(m, i);
    if (!(p->values[v].flags & CL_PROFILE_CONSTANT)) p->values[v].flags |= CL_PROFILE_INPUT;
  }
  for (int i = 0; i < cl_model_output_count(m); i++) p->values[cl_model_output_value(m, i)].flags |= CL_PROFILE_OUTPUT;
  return cl_profile_derive(p, s->err); /* frontiers now; the sums again at the end */
}

/* === 2. Node timings === */

/* Sleeps ms (> 0): the core is left to whatever else this host runs. */
static void pause_for(double ms) {
  struct timespec ts = {(time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) continue;
}

static cl_status time_nodes(meas *s) {
  int n = s->n, runs = s->p->runs;
  double pause = s->o->pause_ms == 0 ? CL_PROFILE_DEFAULT_PAUSE_MS : s->o->pause_ms;
  double *samples = malloc(sizeof(double) * ((size_t)runs * (size_t)n + 1));
  double *whole = malloc(sizeof(double) * (size_t)runs);
  cl_status st = samples && whole ? CL_OK : cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
  for (int r = -s->p->warmup; r < runs && st == CL_OK; r++) {
    if (r >= 0 && pause > 0) pause_for(pause);
    double t0 = now_ms();
    st = cl_exec_run(s->a, 0, n, s->err);
    if (r < 0 || st != CL_OK) continue;
    whole[r] = now_ms() - t0;
    const uint64_t *ns = cl_exec_node_ns(s->a);
    for (int i = 0; i < n; i++) samples[(size_t)i * (size_t)runs + (size_t)r] = (double)ns[i] / 1e6;
    if (s->o->progress) s->o->progress(s->o->progress_ctx, "timing runs", r + 1, runs);
  }
  for (int i = 0; i < n && st == CL_OK; i++)
    s->p->nodes[i].median_ms = median_p90(samples + (size_t)i * (size_t)runs, runs, &s->p->nodes[i].p90_ms);
  if (st == CL_OK) s->p->run_median_ms = median_p90(whole, runs, &s->p->run_p90_ms);
  free(samples);
  free(whole);
  return st;
}

/* === 3. Coding tensors === */

static cl_status encode_one(meas *s, int j, int v, const void *src, size_t *len, cl_codec *used) {
  cl_codec_tensor g = geometry(s->m, v);
  return cl_codec_encode(&s->cs.c[j], &g, src, s->enc, s->enc_cap, len, s->scratch, used, s->err);
}

/* Median ms per encode (decode = 0) or decode of value v under codec j from cold caches (each rep:
 * cold_start with its input warm, then one call); s->enc holds the value encoded (len bytes). */
static double time_codec(meas *s, int j, int v, const void *src, size_t len, const cl_codec *used, int decode) {
  cl_codec_tensor g = geometry(s->m, v);
  double t[64];
  int reps = s->p->codec_reps < 64 ? s->p->codec_reps : 64;
  for (int r = 0; r < reps; r++) {
    size_t l = 0;
    cl_codec u;
    cold_start(s, decode ? (const void *)s->enc : src, decode ? len : g.nbytes);
    double t0 = now_ms();
    cl_status st = decode ? cl_codec_decode(used, &g, s->enc, len, s->dec, s->scratch, s->err)
                          : encode_one(s, j, v, src, &l, &u);
    t[r] = now_ms() - t0;
    if (st != CL_OK) return -1;
  }
  return median_p90(t, reps, NULL);
}

/* Largest finite |x| of a float32 tensor (0 for other types). */
static double max_abs_of(const cl_model_t *m, int v, const void *x) {
  cl_value_info vi;
  cl_model_value_info(m, v, &vi);
  double mx = 0;
  for (size_t i = 0; vi.dtype == CL_DTYPE_F32 && i < vi.nbytes / 4; i++) {
    float f = ((const float *)x)[i];
    if (isfinite(f) && fabsf(f) > mx) mx = fabsf(f);
  }
  return mx;
}

static cl_status measure_value(meas *s, int v) {
  size_t nb;
  const void *src = cl_exec_buffer(s->a, v, &nb);
  cl_profile_value *x = &s->p->values[v];
  for (int j = 0; j < s->cs.n; j++) {
    size_t len;
    cl_codec used;
    if (encode_one(s, j, v, src, &len, &used) != CL_OK) return s->err->status;
    x->codec[j].bytes = len;
    x->codec[j].encode_ms = time_codec(s, j, v, src, len, &used, 0);
    if (encode_one(s, j, v, src, &len, &used) != CL_OK) return s->err->status;
    x->codec[j].decode_ms = time_codec(s, j, v, src, len, &used, 1);
    if (x->codec[j].encode_ms < 0 || x->codec[j].decode_ms < 0) return s->err->status;
  }
  x->measured = 1;
  s->max_abs[v] = max_abs_of(s->m, v, src);
  return CL_OK;
}

/* Float outputs of ex into dst (when not NULL); returns how many floats. */
static size_t gather(const cl_model_t *m, cl_exec_t *ex, float *dst) {
  size_t n = 0;
  for (int i = 0; i < cl_model_output_count(m); i++) {
    cl_tensor t;
    cl_exec_output(ex, i, &t);
    if (t.dtype != CL_DTYPE_F32) continue;
    if (dst) memcpy(dst + n, t.data, t.nbytes);
    n += t.nbytes / 4;
  }
  return n;
}

/* The output error with codec j at cut k: the frontier through the codec into b, b runs [k, n). */
static cl_status accuracy(meas *s, int k, int j, double *rel) {
  const cl_profile_cut *c = &s->p->cuts[k];
  for (int i = 0; i < c->n_frontier; i++) {
    int v = c->frontier[i];
    size_t len, nb;
    cl_codec used;
    cl_codec_tensor g = geometry(s->m, v);
    void *dst = cl_exec_buffer(s->b, v, &nb);
    if (encode_one(s, j, v, cl_exec_buffer(s->a, v, &nb), &len, &used) != CL_OK ||
        cl_codec_decode(&used, &g, s->enc, len, dst, s->scratch, s->err) != CL_OK)
      return s->err->status;
  }
  cl_status st = cl_exec_run(s->b, k, s->n, s->err);
  if (st != CL_OK) return st;
  gather(s->m, s->b, s->out);
  double num = 0, den = 0;
  for (size_t i = 0; i < s->out_floats; i++) {
    double d = (double)s->out[i] - s->ref[i];
    num += d * d;
    den += (double)s->ref[i] * s->ref[i];
  }
  *rel = den > 0 ? sqrt(num / den) : sqrt(num);
  if (!isfinite(*rel)) *rel = INFINITY;
  return CL_OK;
}

static cl_status measure_cut(meas *s, int k) {
  cl_profile_cut *c = &s->p->cuts[k];
  if (k > 0) {
    cl_status st = cl_exec_run(s->a, k - 1, k, s->err);
    if (st != CL_OK) return st;
  }
  int want = cl_model_frontier(s->m, k, NULL, 0);
  int *ids = malloc(sizeof(int) * ((size_t)want + 1));
  if (!ids) return cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
  cl_model_frontier(s->m, k, ids, want);
  int same = want == c->n_frontier && (want == 0 || !memcmp(ids, c->frontier, sizeof(int) * (size_t)want));
  free(ids);
  if (!same)
    return cl_error_set(s->err, CL_ERR_BACKEND, "internal: cut %d frontier differs from the model's", k);
  c->max_abs = 0;
  for (int i = 0; i < c->n_frontier; i++) {
    int v = c->frontier[i];
    if (!s->p->values[v].measured && measure_value(s, v) != CL_OK) return s->err->status;
    c->max_abs = s->max_abs[v] > c->max_abs ? s->max_abs[v] : c->max_abs;
  }
  for (int j = 0; k < s->n && !s->o->no_accuracy && j < s->cs.n; j++)
    if (cl_codec_is_lossy(&s->cs.c[j], CL_DTYPE_F32) && accuracy(s, k, j, &c->rel_l2[j]) != CL_OK)
      return s->err->status;
  return CL_OK;
}

/* === Inputs === */

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Sets the graph inputs of both executors: the caller's, or uniform [-1, 1) floats (zeros for other
 * types) from the seed. */
static cl_status set_inputs(meas *s) {
  int ni = cl_model_input_count(s->m);
  if (s->o->inputs && s->o->n_inputs != ni)
    return cl_error_set(s->err, CL_ERR_ARG, "the model has %d inputs, %d given", ni, s->o->n_inputs);
  uint64_t seed = s->o->seed;
  for (int i = 0; i < ni; i++) {
    cl_tensor t = {0};
    const cl_tensor *in = s->o->inputs ? &s->o->inputs[i] : &t;
    if (!s->o->inputs) {
      cl_value_info vi;
      cl_model_value_info(s->m, cl_model_input_value(s->m, i), &vi);
      if (cl_tensor_alloc(&t, vi.name, vi.dtype, vi.rank, vi.dims, s->err) != CL_OK) return s->err->status;
      for (size_t e = 0; vi.dtype == CL_DTYPE_F32 && e < t.nbytes / 4; e++)
        ((float *)t.data)[e] = (float)((double)(splitmix(&seed) >> 11) * 0x1p-52 - 1.0);
    }
    cl_status st = cl_exec_set_input(s->a, i, in, s->err);
    if (st == CL_OK) st = cl_exec_set_input(s->b, i, in, s->err);
    cl_tensor_release(&t);
    if (st != CL_OK) return st;
  }
  return CL_OK;
}

/* === Sealing cost === */

/* Writes back and drops every cache line of p[0, n) from every cache level (x86 clflush, arm64 dc
 * civac; elsewhere nothing): the next access reads memory. */
static void flush_lines(const void *p, size_t n) {
  const char *c = p;
#if defined(__x86_64__) || defined(__i386__)
  for (size_t i = 0; i < n; i += CACHE_LINE) __builtin_ia32_clflush(c + i);
  __builtin_ia32_mfence();
#elif defined(__aarch64__)
  for (size_t i = 0; i < n; i += CACHE_LINE) __asm__ volatile("dc civac, %0" : : "r"(c + i) : "memory");
  __asm__ volatile("dsb ish" : : : "memory");
#else
  (void)c, (void)n;
#endif
}

/* XChaCha20-Poly1305 (what cl_session_seal and _open run) on a 4 MiB message in place: median ms per
 * 1e6 bytes over reps. Sealing runs on a message just written (the encoded frontier, as a request
 * seals it); opening on one flushed from every cache: a received message reads at memory speed
 * (measured on loopback: opening 1.5-6 MB in cleave-edge and cleave-device ran at 0.78-0.87 ms/MB,
 * a flushed message here at 0.76-0.81, one in cache at 0.53-0.60). */
static cl_status time_seal(meas *s) {
  size_t n = (size_t)4 << 20;
  unsigned char *msg = malloc(n), key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0}, tag[16];
  double ts[64], to[64];
  if (!msg) return cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
  if (sodium_init() < 0) {
    free(msg);
    return cl_error_set(s->err, CL_ERR_BACKEND, "libsodium does not initialise");
  }
  randombytes_buf(key, sizeof key);
  randombytes_buf(msg, n);
  int reps = s->p->codec_reps < 64 ? s->p->codec_reps : 64, bad = 0;
  for (int r = -1; r < reps; r++) { /* one warm-up */
    double t0 = now_ms();
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(msg, tag, NULL, msg, n, NULL, 0, NULL, nonce, key);
    double t1 = now_ms();
    flush_lines(msg, n);
    double t2 = now_ms();
    bad |= crypto_aead_xchacha20poly1305_ietf_decrypt_detached(msg, NULL, msg, n, tag, NULL, 0, nonce, key);
    if (r >= 0) ts[r] = (t1 - t0) * 1e6 / (double)n, to[r] = (now_ms() - t2) * 1e6 / (double)n;
  }
  free(msg);
  if (bad) return cl_error_set(s->err, CL_ERR_BACKEND, "libsodium: a sealed message did not open");
  s->p->seal_ms_per_mb = median_p90(ts, reps, NULL);
  s->p->open_ms_per_mb = median_p90(to, reps, NULL);
  return CL_OK;
}

/* === The whole measurement === */

static cl_status prepare(meas *s) {
  const cl_profile_options *o = s->o;
  cl_exec_options ea = {.threads = o->threads > 0 ? o->threads : 1, .profile = 1};
  cl_exec_options eb = {.threads = ea.threads};
  cl_status st = parse_codecs(o->codecs, &s->cs, s->err);
  if (st == CL_OK) st = cl_profile_create(s->n, cl_model_value_count(s->m), s->cs.n, &s->p, s->err);
  if (st == CL_OK) st = cl_exec_create(s->m, &ea, &s->a, s->err);
  if (st == CL_OK) st = cl_exec_create(s->m, &eb, &s->b, s->err);
  if (st != CL_OK) return st;
  cl_profile *p = s->p;
  describe_host(&p->host, ea.threads);
  memcpy(p->model_hash, cl_model_hash(s->m), CL_PROFILE_HASH_BYTES);
  snprintf(p->model, sizeof p->model, "%s", o->model_path ? o->model_path : "");
  if (o->inputs) snprintf(p->input, sizeof p->input, "%s", o->input_desc ? o->input_desc : "given");
  else snprintf(p->input, sizeof p->input, "random (seed %llu)", (unsigned long long)o->seed);
  p->runs = o->runs > 0 ? o->runs : CL_PROFILE_DEFAULT_RUNS;
  p->warmup = o->warmup > 0 ? o->warmup : o->warmup < 0 ? 0 : CL_PROFILE_DEFAULT_WARMUP;
  p->codec_reps = o->codec_reps > 0 ? o->codec_reps : CL_PROFILE_DEFAULT_REPS;
  p->arena_bytes = cl_exec_arena_bytes(s->a);
  for (int j = 0; j < s->cs.n; j++) snprintf(p->codecs[j], sizeof p->codecs[j], "%s", s->cs.names[j]);
  s->max_abs = calloc((size_t)p->n_values + 1, sizeof *s->max_abs);
  if (!s->max_abs) return cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
  st = fill_graph(s);
  if (st == CL_OK) st = size_buffers(s);
  if (st == CL_OK) st = alloc_evict(s);
  if (st == CL_OK) st = set_inputs(s);
  return st;
}

static cl_status reference(meas *s) {
  cl_status st = cl_exec_run(s->b, 0, s->n, s->err);
  if (st != CL_OK) return st;
  s->out_floats = gather(s->m, s->b, NULL);
  s->ref = malloc(sizeof(float) * (s->out_floats + 1));
  s->out = malloc(sizeof(float) * (s->out_floats + 1));
  if (!s->ref || !s->out) return cl_error_set(s->err, CL_ERR_NOMEM, "out of memory");
  gather(s->m, s->b, s->ref);
  return CL_OK;
}

cl_status cl_profile_measure(const cl_model_t *m, const cl_profile_options *o, cl_profile **out,
                             cl_error *err) {
  *out = NULL;
  meas s = {.m = m, .o = o, .n = cl_model_node_count(m), .err = err};
  if (o->inputs && o->n_inputs > MAX_INPUTS) return cl_error_set(err, CL_ERR_ARG, "too many inputs");
  cl_status st = prepare(&s);
  if (st == CL_OK) st = time_nodes(&s);
  if (st == CL_OK) st = time_seal(&s);
  if (st == CL_OK) st = reference(&s);
  for (int k = 0; k <= s.n && st == CL_OK; k++) {
    st = measure_cut(&s, k);
    if (o->progress) o->progress(o->progress_ctx, "cuts", k + 1, s.n + 1);
  }
  if (st == CL_OK) st = cl_profile_derive(s.p, err);
  if (st == CL_OK) st = cl_profile_validate(s.p, err);
  cl_exec_free(&s.a);
  cl_exec_free(&s.b);
  free(s.enc), free(s.dec), free(s.scratch), free(s.ref), free(s.out), free(s.max_abs), free(s.evict);
  if (st != CL_OK) {
    cl_profile_free(&s.p);
    return st;
  }
  *out = s.p;
  return CL_OK;
}
