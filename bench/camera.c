/* cleave-bench: the JPEG camera baseline (camera.h). */
#include "camera.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lz4.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/tensorfile.h"

#define MAGIC "CBJ1"
#define HEADER_BYTES 16
#define MAX_FRAME ((size_t)64 << 20)
#define MAX_OUTPUTS 16
#define KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

/* === Preprocessing === */

static const cl_camera_preproc PREPROCS[] = {
    {"imagenet-rgb", 0, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
    {"imagenet-bgr", 1, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
};

const cl_camera_preproc *cl_camera_preproc_find(const char *name) {
  for (size_t i = 0; i < sizeof PREPROCS / sizeof PREPROCS[0]; i++)
    if (name && strcmp(PREPROCS[i].name, name) == 0) return &PREPROCS[i];
  return NULL;
}

const cl_camera_preproc *cl_camera_preproc_for_model(const char *model_name) {
  static const char *const rgb[] = {"mobilenetv2", "resnet18", "squeezenet1_1"};
  for (size_t i = 0; i < sizeof rgb / sizeof rgb[0]; i++)
    if (strcmp(model_name, rgb[i]) == 0) return &PREPROCS[0];
  if (strcmp(model_name, "ppocr_det") == 0) return &PREPROCS[1];
  return NULL;
}

cl_status cl_camera_frame_from_tensor(const cl_tensor *t, const cl_camera_preproc *pp, uint8_t **rgb,
                                      int *w, int *h, double *max_dev, cl_error *err) {
  *rgb = NULL;
  if (t->dtype != CL_DTYPE_F32 || t->rank != 4 || t->dims[0] != 1 || t->dims[1] != 3 || t->dims[2] < 1 ||
      t->dims[3] < 1 || t->dims[2] > 16384 || t->dims[3] > 16384)
    return cl_error_set(err, CL_ERR_SHAPE, "a camera frame needs a float [1,3,H,W] input");
  int H = (int)t->dims[2], W = (int)t->dims[3];
  uint8_t *p = malloc((size_t)W * H * 3);
  if (!p) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  const float *x = t->data;
  double dev = 0;
  for (int c = 0; c < 3; c++) {
    int rc = pp->bgr ? 2 - c : c;
    for (size_t i = 0; i < (size_t)W * H; i++) {
      double v = ((double)x[(size_t)c * W * H + i] * pp->std[c] + pp->mean[c]) * 255.0;
      double r = floor(v + 0.5);
      if (fabs(v - r) > dev) dev = fabs(v - r);
      p[i * 3 + (size_t)rc] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
    }
  }
  *rgb = p;
  *w = W;
  *h = H;
  *max_dev = dev;
  return CL_OK;
}

void cl_camera_normalise(const uint8_t *rgb, int w, int h, const cl_camera_preproc *pp, float *nchw) {
  for (int c = 0; c < 3; c++) {
    int rc = pp->bgr ? 2 - c : c;
    float scale = 1.0f / (255.0f * pp->std[c]), shift = pp->mean[c] / pp->std[c];
    for (size_t i = 0; i < (size_t)w * h; i++)
      nchw[(size_t)c * w * h + i] = (float)rgb[i * 3 + (size_t)rc] * scale - shift;
  }
}

/* === Frames === */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static cl_status load_key(const char *path, uint8_t key[KEY_BYTES], cl_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  size_t n = fread(key, 1, KEY_BYTES, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (n != KEY_BYTES || extra) return cl_error_set(err, CL_ERR_FORMAT, "%s: not a 32-byte key", path);
  return CL_OK;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void nonce_of(uint64_t seq, int dir, uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES]) {
  memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  put_u64(nonce, seq);
  nonce[8] = (uint8_t)dir;
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Seals plain[0, len) into frame (HEADER_BYTES + len + TAG_BYTES bytes) and sends it. */
static int send_frame(int fd, const uint8_t key[KEY_BYTES], uint64_t seq, int dir, const uint8_t *plain,
                      size_t len, uint8_t *frame) {
  memcpy(frame, MAGIC, 4);
  put_u32(frame + 4, (uint32_t)(len + TAG_BYTES));
  put_u64(frame + 8, seq);
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  nonce_of(seq, dir, nonce);
  unsigned long long clen;
  crypto_aead_xchacha20poly1305_ietf_encrypt(frame + HEADER_BYTES, &clen, plain, len, frame, HEADER_BYTES,
                                             NULL, nonce, key);
  return write_all(fd, frame, HEADER_BYTES + (size_t)clen);
}

/* Receives one frame into *buf (grown as needed) and opens it in place: *plain, *len. */
static cl_status recv_frame(int fd, const uint8_t key[KEY_BYTES], int dir, uint64_t *seq, uint8_t **buf,
                            size_t *cap, uint8_t **plain, size_t *len, cl_error *err) {
  uint8_t h[HEADER_BYTES];
  if (read_all(fd, h, sizeof h) != 0) return cl_error_set(err, CL_ERR_CLOSED, "connection closed");
  size_t clen = get_u32(h + 4);
  if (memcmp(h, MAGIC, 4) != 0 || clen < TAG_BYTES || clen > MAX_FRAME)
    return cl_error_set(err, CL_ERR_PROTOCOL, "bad frame header");
  if (*cap < HEADER_BYTES + clen) {
    uint8_t *nb = realloc(*buf, HEADER_BYTES + clen);
    if (!nb) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    *buf = nb;
    *cap = HEADER_BYTES + clen;
  }
  memcpy(*buf, h, HEADER_BYTES);
  if (read_all(fd, *buf + HEADER_BYTES, clen) != 0) return cl_error_set(err, CL_ERR_CLOSED, "connection closed");
  *seq = get_u64(h + 8);
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  nonce_of(*seq, dir, nonce);
  unsigned long long mlen;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(*buf + HEADER_BYTES, &mlen, NULL, *buf + HEADER_BYTES, clen,
                                                 *buf, HEADER_BYTES, nonce, key) != 0)
    return cl_error_set(err, CL_ERR_AUTH, "a frame did not authenticate");
  *plain = *buf + HEADER_BYTES;
  *len = (size_t)mlen;
  return CL_OK;
}

static void set_timeouts(int fd, double s) {
  struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* === Edge === */

typedef struct edge_state {
  const cl_camera_preproc *pp;
  cl_model_t *model;
  cl_exec_t *ex;
  cl_tensor input;            /* [1,3,H,W] float: the decoded, normalised frame */
  tjhandle tj;
  uint8_t *rgb;
  uint8_t *reply, *frame;     /* plaintext reply and sealed frame buffers */
  size_t reply_cap;
  uint8_t key[KEY_BYTES];
} edge_state;

/* One request: plain holds a JPEG. Builds the reply plaintext into st->reply; *len its size. */
static cl_status edge_answer(edge_state *st, const uint8_t *jpeg, size_t jlen, size_t *len, cl_error *err) {
  double t0 = now_s();
  int W = (int)st->input.dims[3], H = (int)st->input.dims[2], w, h, ss, cs;
  if (tjDecompressHeader3(st->tj, jpeg, (unsigned long)jlen, &w, &h, &ss, &cs) != 0 || w != W || h != H)
    return cl_error_set(err, CL_ERR_FORMAT, "bad JPEG (or not %dx%d)", W, H);
  if (tjDecompress2(st->tj, jpeg, (unsigned long)jlen, st->rgb, W, 0, H, TJPF_RGB, 0) != 0)
    return cl_error_set(err, CL_ERR_FORMAT, "JPEG decode: %s", tjGetErrorStr2(st->tj));
  cl_camera_normalise(st->rgb, W, H, st->pp, st->input.data);
  cl_status s = cl_exec_set_input(st->ex, 0, &st->input, err);
  if (s == CL_OK) s = cl_exec_run(st->ex, 0, cl_model_node_count(st->model), err);
  if (s != CL_OK) return s;
  int no = cl_model_output_count(st->model);
  size_t k = 8;
  put_u32(st->reply + 4, (uint32_t)no);
  for (int i = 0; i < no; i++) {
    cl_tensor v;
    cl_exec_output(st->ex, i, &v);
    int bound = LZ4_compressBound((int)v.nbytes);
    if (k + 8 + (size_t)bound > st->reply_cap) return cl_error_set(err, CL_ERR_LIMIT, "outputs too large");
    int n = LZ4_compress_default(v.data, (char *)st->reply + k + 8, (int)v.nbytes, bound);
    if (n <= 0) return cl_error_set(err, CL_ERR_BACKEND, "LZ4 failed");
    put_u32(st->reply + k, (uint32_t)v.nbytes);
    put_u32(st->reply + k + 4, (uint32_t)n);
    k += 8 + (size_t)n;
  }
  put_u32(st->reply, (uint32_t)lround((now_s() - t0) * 1e6));
  *len = k;
  return CL_OK;
}

static void edge_serve_conn(edge_state *st, int fd) {
  set_timeouts(fd, 300);
  uint8_t *buf = NULL, *plain;
  size_t cap = 0, len, rlen = 0;
  uint64_t seq, last = 0;
  for (;;) {
    cl_error e = {0};
    if (recv_frame(fd, st->key, 0, &seq, &buf, &cap, &plain, &len, &e) != CL_OK) {
      if (e.status != CL_ERR_CLOSED) fprintf(stderr, "camera-edge: %s\n", e.msg);
      break;
    }
    if (seq <= last) { fprintf(stderr, "camera-edge: replayed frame %llu\n", (unsigned long long)seq); break; }
    last = seq;
    if (edge_answer(st, plain, len, &rlen, &e) != CL_OK) { fprintf(stderr, "camera-edge: %s\n", e.msg); break; }
    if (send_frame(fd, st->key, seq, 1, st->reply, rlen, st->frame) != 0) break;
  }
  free(buf);
}

cl_status cl_camera_edge_run(const cl_camera_edge_opts *o, volatile sig_atomic_t *stop, cl_error *err) {
  edge_state st;
  memset(&st, 0, sizeof st);
  int lfd = -1;
  cl_status s = CL_OK;
  if (sodium_init() < 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium did not initialise");
  st.pp = cl_camera_preproc_find(o->preproc);
  if (!st.pp) return cl_error_set(err, CL_ERR_ARG, "unknown preprocessing '%s'", o->preproc ? o->preproc : "");
  if ((s = load_key(o->key_file, st.key, err)) != CL_OK) return s;
  if ((s = cl_tensorfile_read(o->input, &st.input, err)) != CL_OK) return s;
  cl_model_options mo = {&st.input, 1, 0, 0};
  cl_exec_options eo = {o->threads > 0 ? o->threads : 1, 0};
  if ((s = cl_model_load(o->model, &mo, &st.model, err)) != CL_OK) goto done;
  if ((s = cl_exec_create(st.model, &eo, &st.ex, err)) != CL_OK) goto done;
  uint8_t *dummy;
  int W, H;
  double dev;
  if ((s = cl_camera_frame_from_tensor(&st.input, st.pp, &dummy, &W, &H, &dev, err)) != CL_OK) goto done;
  st.rgb = dummy;
  st.tj = tjInitDecompress();
  size_t out_bytes = 0;
  for (int i = 0; i < cl_model_output_count(st.model); i++) {
    cl_value_info vi;
    cl_model_value_info(st.model, cl_model_output_value(st.model, i), &vi);
    out_bytes += (size_t)LZ4_compressBound((int)vi.nbytes) + 8;
  }
  st.reply_cap = out_bytes + 8;
  st.reply = malloc(st.reply_cap);
  st.frame = malloc(st.reply_cap + HEADER_BYTES + TAG_BYTES);
  if (!st.tj || !st.reply || !st.frame) { s = cl_error_set(err, CL_ERR_NOMEM, "out of memory"); goto done; }
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)o->listen_port);
  int one = 1;
  socklen_t sl = sizeof sa;
  if (inet_pton(AF_INET, o->listen_host, &sa.sin_addr) != 1) {
    s = cl_error_set(err, CL_ERR_ARG, "bad listen address %s", o->listen_host);
    goto done;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
    s = cl_error_set(err, CL_ERR_IO, "listen on %s:%d: %s", o->listen_host, o->listen_port, strerror(errno));
    goto done;
  }
  fprintf(stderr, "camera-edge: listening on %s:%d\n", o->listen_host, ntohs(sa.sin_port));
  while (!*stop) {
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    edge_serve_conn(&st, c);
    close(c);
  }
done:
  if (lfd >= 0) close(lfd);
  if (st.tj) tjDestroy(st.tj);
  free(st.rgb);
  free(st.reply);
  free(st.frame);
  cl_exec_free(&st.ex);
  cl_model_free(&st.model);
  cl_tensor_release(&st.input);
  sodium_memzero(st.key, sizeof st.key);
  return s;
}

/* === Device === */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What JPEG did to the output: against the reference. */
typedef struct out_diff {
  double rel_l2, max_abs, top1, mask;   /* NAN when not applicable */
} out_diff;

static out_diff compare_output(const float *a, const cl_tensor *ref) {
  out_diff d = {NAN, NAN, NAN, NAN};
  if (ref->dtype != CL_DTYPE_F32) return d;
  size_t n = ref->nbytes / sizeof(float);
  const float *b = ref->data;
  double num = 0, den = 0, mx = 0;
  size_t same = 0, ia = 0, ib = 0;
  for (size_t i = 0; i < n; i++) {
    double e = (double)a[i] - b[i];
    num += e * e;
    den += (double)b[i] * b[i];
    if (fabs(e) > mx) mx = fabs(e);
    same += (a[i] > 0.3f) == (b[i] > 0.3f);
    if (a[i] > a[ia]) ia = i;
    if (b[i] > b[ib]) ib = i;
  }
  d.rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
  d.max_abs = mx;
  if (ref->rank == 2 && ref->dims[0] == 1) d.top1 = ia == ib;
  else d.mask = n ? (double)same / (double)n : NAN;
  return d;
}

static void json_num(FILE *f, const char *key, double v, int last) {
  if (isfinite(v)) fprintf(f, "\"%s\": %.6g%s", key, v, last ? "" : ", ");
  else fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
}

cl_status cl_camera_device_run(const cl_camera_device_opts *o, cl_error *err) {
  cl_tensor in = {0}, ref = {0};
  uint8_t *rgb = NULL, *jpeg = NULL, *frame = NULL, *rbuf = NULL, key[KEY_BYTES];
  float *outs = NULL;
  double *tot = NULL, *enc = NULL, *edge = NULL, *wire = NULL, *dec = NULL;
  tjhandle tj = NULL;
  int fd = -1, W, H;
  size_t rcap = 0, out_cap = 0;
  double dev, bytes_up = 0, bytes_down = 0;
  unsigned long jsize = 0;
  int runs = o->repeat > 0 ? o->repeat : 1, q = o->quality > 0 ? o->quality : 90;
  const cl_camera_preproc *pp = cl_camera_preproc_find(o->preproc);
  cl_status s = CL_OK;
  if (sodium_init() < 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium did not initialise");
  if (!pp) return cl_error_set(err, CL_ERR_ARG, "unknown preprocessing '%s'", o->preproc ? o->preproc : "");
  if ((s = load_key(o->key_file, key, err)) != CL_OK) return s;
  if ((s = cl_tensorfile_read(o->input, &in, err)) != CL_OK) goto done;
  if (o->reference && (s = cl_tensorfile_read(o->reference, &ref, err)) != CL_OK) goto done;
  if ((s = cl_camera_frame_from_tensor(&in, pp, &rgb, &W, &H, &dev, err)) != CL_OK) goto done;
  if (dev > 0.01) {
    s = cl_error_set(err, CL_ERR_FORMAT, "%s was not made from 8-bit pixels with %s (off by %.3f)", o->input,
                     pp->name, dev);
    goto done;
  }
  unsigned long jcap = tjBufSize(W, H, TJSAMP_420);
  tj = tjInitCompress();
  jpeg = tjAlloc((int)jcap);
  frame = malloc(jcap + HEADER_BYTES + TAG_BYTES);
  tot = calloc((size_t)runs, sizeof *tot);
  enc = calloc((size_t)runs, sizeof *enc);
  edge = calloc((size_t)runs, sizeof *edge);
  wire = calloc((size_t)runs, sizeof *wire);
  dec = calloc((size_t)runs, sizeof *dec);
  if (!tj || !jpeg || !frame || !tot || !enc || !edge || !wire || !dec) {
    s = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    goto done;
  }
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)o->port);
  if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) { s = cl_error_set(err, CL_ERR_ARG, "bad address %s", o->host); goto done; }
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(fd, o->timeout_s > 0 ? o->timeout_s : 30);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    s = cl_error_set(err, CL_ERR_IO, "connect to %s:%d: %s", o->host, o->port, strerror(errno));
    goto done;
  }
  for (int i = -1; i < runs; i++) {   /* i = -1: the warm-up */
    double t0 = now_s();
    jsize = jcap;
    if (tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &jpeg, &jsize, TJSAMP_420, q, TJFLAG_NOREALLOC) != 0) {
      s = cl_error_set(err, CL_ERR_BACKEND, "JPEG encode: %s", tjGetErrorStr2(tj));
      goto done;
    }
    uint64_t seq = (uint64_t)(i + 2);
    double t1 = now_s();
    if (send_frame(fd, key, seq, 0, jpeg, jsize, frame) != 0) {
      s = cl_error_set(err, CL_ERR_IO, "send: %s", strerror(errno));
      goto done;
    }
    uint8_t *plain;
    size_t len;
    uint64_t rseq;
    if ((s = recv_frame(fd, key, 1, &rseq, &rbuf, &rcap, &plain, &len, err)) != CL_OK) goto done;
    double t2 = now_s();
    if (rseq != seq || len < 8) { s = cl_error_set(err, CL_ERR_PROTOCOL, "bad reply"); goto done; }
    uint32_t edge_us = get_u32(plain), no = get_u32(plain + 4);
    size_t k = 8, need = 0;
    for (uint32_t j = 0; j < no && j < MAX_OUTPUTS; j++) {
      if (k + 8 > len) { s = cl_error_set(err, CL_ERR_PROTOCOL, "truncated reply"); goto done; }
      uint32_t raw = get_u32(plain + k), lz = get_u32(plain + k + 4);
      if (lz > len - k - 8 || raw > MAX_FRAME) { s = cl_error_set(err, CL_ERR_PROTOCOL, "truncated reply"); goto done; }
      if (j == 0) {
        if (raw > out_cap) {
          free(outs);
          outs = malloc(raw);
          out_cap = outs ? raw : 0;
        }
        if (!outs || LZ4_decompress_safe((const char *)plain + k + 8, (char *)outs, (int)lz, (int)raw) != (int)raw) {
          s = cl_error_set(err, CL_ERR_PROTOCOL, "bad LZ4 output");
          goto done;
        }
        need = raw;
      }
      k += 8 + lz;
    }
    double t3 = now_s();
    if (i >= 0) {
      tot[i] = (t3 - t0) * 1e3;
      enc[i] = (t1 - t0) * 1e3;
      edge[i] = edge_us / 1e3;
      wire[i] = (t2 - t1) * 1e3 - edge[i];
      dec[i] = (t3 - t2) * 1e3;
    }
    bytes_up = HEADER_BYTES + (double)jsize + TAG_BYTES;
    bytes_down = HEADER_BYTES + (double)len + TAG_BYTES;
    if (i == runs - 1 && ref.data && need != ref.nbytes) {
      s = cl_error_set(err, CL_ERR_SHAPE, "the reference has %zu bytes, the output %zu", ref.nbytes, need);
      goto done;
    }
  }
  out_diff d = {NAN, NAN, NAN, NAN};
  if (ref.data) d = compare_output(outs, &ref);
  double mean = 0;
  for (int i = 0; i < runs; i++) mean += tot[i];
  mean /= runs;
  double mn = tot[0];
  for (int i = 1; i < runs; i++) mn = tot[i] < mn ? tot[i] : mn;
  double med = median_of(tot, runs), p90 = tot[(int)floor(0.9 * (runs - 1) + 0.5)];
  FILE *f = fopen(o->stats, "w");
  if (!f) { s = cl_error_set(err, CL_ERR_IO, "%s: %s", o->stats, strerror(errno)); goto done; }
  fprintf(f, "{\"runs\": %d, \"mode\": \"camera\", ", runs);
  json_num(f, "median_ms", med, 0);
  json_num(f, "p90_ms", p90, 0);
  json_num(f, "mean_ms", mean, 0);
  json_num(f, "min_ms", mn, 0);
  json_num(f, "encode_ms", median_of(enc, runs), 0);
  json_num(f, "edge_ms", median_of(edge, runs), 0);
  json_num(f, "wire_ms", median_of(wire, runs), 0);
  json_num(f, "decode_ms", median_of(dec, runs), 0);
  json_num(f, "device_ms", 0, 0);
  json_num(f, "bytes_up", bytes_up, 0);
  json_num(f, "bytes_down", bytes_down, 0);
  json_num(f, "jpeg_bytes", (double)jsize, 0);
  json_num(f, "quality", q, 0);
  json_num(f, "fallbacks", 0, 0);
  json_num(f, "out_rel_l2", d.rel_l2, 0);
  json_num(f, "out_max_abs", d.max_abs, 0);
  json_num(f, "top1_agree", d.top1, 0);
  json_num(f, "mask_agree", d.mask, 1);
  fprintf(f, "}\n");
  if (fclose(f) != 0) s = cl_error_set(err, CL_ERR_IO, "%s: write error", o->stats);
done:
  if (fd >= 0) close(fd);
  if (tj) tjDestroy(tj);
  if (jpeg) tjFree(jpeg);
  free(frame);
  free(rbuf);
  free(rgb);
  free(outs);
  free(tot);
  free(enc);
  free(edge);
  free(wire);
  free(dec);
  cl_tensor_release(&in);
  cl_tensor_release(&ref);
  sodium_memzero(key, sizeof key);
  return s;
}
