/* cleave: the tensor codec (kind, byte-shuffle, LZ4 in blocks). Byte format: docs/CODEC.md.
 *
 * A tensor becomes a "kind stream" (its raw bytes, its float16 halves or its int8 codes) cut into
 * blocks of CL_CODEC_BLOCK bytes; each block is shuffled and compressed on its own, through two
 * block-sized scratch buffers, so that nothing is allocated and a block can be decoded alone. */
#include <assert.h>
#include <float.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#ifdef __x86_64__
#include <cpuid.h>
#endif

#include "cleave/codec.h"
#include "wire/codec_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the codec writes its headers in host order: little-endian hosts only"
#endif

/* === CPU dispatch === */

static _Atomic int g_force_portable; /* tests and benchmarks only */

void cl_codec_force_portable(int on) { g_force_portable = on != 0; }

#ifdef CL_CODEC_X86
/* F16C is CPUID.1:ECX bit 29 (clang's __builtin_cpu_supports does not know it); the answer is
 * cached, since CPUID traps to the hypervisor in a VM. -1: not asked yet. */
static _Atomic int g_f16c = -1;

int cl_codec_use_avx2(void) { return !g_force_portable && __builtin_cpu_supports("avx2"); }

int cl_codec_use_f16c(void) {
  int have = atomic_load_explicit(&g_f16c, memory_order_relaxed);
  if (have < 0) {
    unsigned a, b, c, d;
    have = __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
    atomic_store_explicit(&g_f16c, have, memory_order_relaxed);
  }
  return !g_force_portable && have;
}
int cl_codec_simd_active(void) { return cl_codec_use_avx2() || cl_codec_use_f16c(); }
#else
int cl_codec_simd_active(void) { return 0; }
#endif

/* === Names === */

static const char *const KIND_NAMES[] = {"raw", "f16", "int8", "int8c"};
#define N_KINDS ((int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]))

static int part_is(const char *p, size_t len, const char *word) {
  return strlen(word) == len && strncmp(p, word, len) == 0;
}

static cl_status parse_part(const char *name, const char *p, size_t len, int first, cl_codec *c,
                            int *seen, cl_error *err) {
  if (first) {
    for (int k = 0; k < N_KINDS; k++)
      if (part_is(p, len, KIND_NAMES[k])) {
        c->kind = (cl_codec_kind)k;
        return CL_OK;
      }
  } else if (part_is(p, len, "shuffle") || part_is(p, len, "nolz4")) {
    int bit = p[0] == 's' ? 1 : 2;
    if (*seen & bit)
      return cl_error_set(err, CL_ERR_ARG, "codec '%s': '+%.*s' given twice", name, (int)len, p);
    *seen |= bit;
    if (bit == 1) c->shuffle = 1;
    else c->lz4 = 0;
    return CL_OK;
  }
  return cl_error_set(err, CL_ERR_ARG,
                      "codec '%s': unknown %s '%.*s' (kinds: raw, f16, int8, int8c; options: "
                      "+shuffle, +nolz4)", name, first ? "kind" : "option", (int)len, p);
}

cl_status cl_codec_parse(const char *name, cl_codec *out, cl_error *err) {
  assert(name && out);
  cl_codec c = {CL_CODEC_RAW, 0, 1};
  int seen = 0, first = 1;
  const char *p = name;
  for (;;) {
    const char *end = strchr(p, '+');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    cl_status s = parse_part(name, p, len, first, &c, &seen, err);
    if (s != CL_OK) return s;
    if (!end) break;
    p = end + 1;
    first = 0;
  }
  *out = c;
  return CL_OK;
}

char *cl_codec_name(const cl_codec *c, char *buf, size_t cap) {
  assert(c && buf);
  if (cap == 0) return buf;
  const char *kind = (int)c->kind >= 0 && (int)c->kind < N_KINDS ? KIND_NAMES[c->kind] : "invalid";
  snprintf(buf, cap, "%s%s%s", kind, c->shuffle ? "+shuffle" : "", c->lz4 ? "" : "+nolz4");
  return buf;
}

int cl_codec_is_lossy(const cl_codec *c, cl_dtype dtype) {
  assert(c);
  return c->kind != CL_CODEC_RAW && dtype == CL_DTYPE_F32;
}

/* === Plan: what a codec does to one tensor === */

typedef struct plan {
  const cl_codec *codec;   /* as asked (for messages) */
  cl_codec_kind kind;      /* as applied: lossy kinds on non-float32 tensors become raw */
  int shuffle;             /* 1: shuffle applies (asked, and elements wider than one byte) */
  int lz4;                 /* 1: blocks are LZ4-compressed, each behind a 4-byte header */
  size_t es;               /* bytes per element of the kind stream */
  size_t n;                /* elements of the tensor */
  size_t stream;           /* bytes of the kind stream */
  size_t nblocks;          /* blocks of CL_CODEC_BLOCK bytes (the last may be shorter) */
  size_t channels, inner;  /* int8 kinds: parameter sets, and the run of one channel's elements */
  int row;                 /* int8 kinds: channels alternate element by element (inner 1, C > 1) */
  size_t period;           /* int8 kinds: floats per channel array in the scratch (below) */
  size_t head;             /* bytes of quantisation parameters before the first block */
} plan;

/* Channels-last int8c: the per-channel arrays repeat the channels up to at least this many floats, so
 * that the kernels take many rows of few channels in one call. */
#define ROW_PERIOD ((size_t)1024)

/* a * b * c, or SIZE_MAX when it exceeds CL_MAX_TENSOR_BYTES. */
static size_t mul3(size_t a, size_t b, size_t c) {
  if (a == 0 || b == 0 || c == 0) return 0;
  if (a > CL_MAX_TENSOR_BYTES / b) return SIZE_MAX;
  size_t ab = a * b;
  return ab > CL_MAX_TENSOR_BYTES / c ? SIZE_MAX : ab * c;
}

/* Fills *p; on a bad tensor or codec returns `bad` (CL_ERR_ARG when encoding, CL_ERR_FORMAT when
 * decoding: the description came from a peer). */
static cl_status plan_make(const cl_codec *c, const cl_codec_tensor *t, cl_status bad, plan *p,
                           cl_error *err) {
  memset(p, 0, sizeof *p);
  p->codec = c;
  if ((int)c->kind < 0 || (int)c->kind >= N_KINDS)
    return cl_error_set(err, bad, "codec: unknown kind %d", (int)c->kind);
  size_t es = cl_dtype_size(t->dtype);
  if (es == 0)
    return cl_error_set(err, bad, "codec: dtype %s has no byte encoding", cl_dtype_name(t->dtype));
  if (t->nbytes > CL_MAX_TENSOR_BYTES || t->nbytes % es != 0)
    return cl_error_set(err, bad, "codec: %zu bytes is not a tensor of %s (or over the limit)",
                        t->nbytes, cl_dtype_name(t->dtype));
  p->kind = cl_codec_is_lossy(c, t->dtype) ? c->kind : CL_CODEC_RAW;
  p->n = t->nbytes / es;
  p->es = p->kind == CL_CODEC_RAW ? es : p->kind == CL_CODEC_F16 ? 2 : 1;
  p->stream = p->n * p->es;
  p->lz4 = c->lz4 != 0;
  p->shuffle = c->shuffle != 0 && p->es > 1;
  p->nblocks = (p->stream + CL_CODEC_BLOCK - 1) / CL_CODEC_BLOCK;
  if (p->kind == CL_CODEC_INT8) {
    p->channels = 1;
    p->inner = p->n;
  } else if (p->kind == CL_CODEC_INT8_CHANNEL) {
    if (t->channels > (size_t)CL_MAX_DIM || mul3(t->outer, t->channels, t->inner) != p->n)
      return cl_error_set(err, bad, "codec int8c: geometry [%zu, %zu, %zu] does not match %zu "
                          "floats", t->outer, t->channels, t->inner, p->n);
    p->channels = t->channels;
    p->inner = t->inner;
  }
  p->head = CL_CODEC_PARAM_BYTES * p->channels;
  p->row = p->channels > 1 && p->inner == 1;
  p->period = p->row ? p->channels * ((ROW_PERIOD + p->channels - 1) / p->channels) : p->channels;
  return CL_OK;
}

/* One-line CL_ERR_FORMAT message naming the codec. */
static cl_status bad_input(cl_error *err, const plan *p, const char *fmt, ...) CL_PRINTF(3, 4);
static cl_status bad_input(cl_error *err, const plan *p, const char *fmt, ...) {
  char name[48], what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  cl_codec_name(p->codec, name, sizeof name);
  return cl_error_set(err, CL_ERR_FORMAT, "codec %s: %s", name, what);
}

/* === Scratch layout === */

#define ALIGN64(x) (((x) + (size_t)63) & ~(size_t)63)

typedef struct scratch {
  void *lz4_state;   /* LZ4_sizeofState() bytes, encode with LZ4 */
  uint8_t *a, *b;    /* block buffers: kind stream (a) and shuffled stream (b) */
  float *ca, *cb;    /* int8 kinds: per channel, encode 1/scale and zp, decode scale and zp */
} scratch;

/* Sizes of the regions; writes their addresses when base is not NULL. Returns the total. */
static size_t scratch_layout(const plan *p, void *base, scratch *s) {
  size_t blk = p->stream < CL_CODEC_BLOCK ? p->stream : CL_CODEC_BLOCK;
  int raw = p->kind == CL_CODEC_RAW;
  size_t need_state = p->lz4 ? (size_t)LZ4_sizeofState() : 0;
  size_t need_a = (!raw && (p->shuffle || p->lz4)) || (p->lz4 && p->shuffle) ? blk : 0;
  size_t need_b = p->shuffle && (p->lz4 || !raw) ? blk : 0;
  size_t need_ch = p->n ? 2 * sizeof(float) * p->period : 0;
  size_t total = ALIGN64(need_state) + ALIGN64(need_a) + ALIGN64(need_b) + ALIGN64(need_ch);
  if (base) {
    uint8_t *q = (uint8_t *)ALIGN64((uintptr_t)base);
    s->lz4_state = need_state ? q : NULL;
    q += ALIGN64(need_state);
    s->a = need_a ? q : NULL;
    q += ALIGN64(need_a);
    s->b = need_b ? q : NULL;
    q += ALIGN64(need_b);
    s->ca = need_ch ? (float *)(void *)q : NULL;
    s->cb = need_ch ? s->ca + p->period : NULL;
  }
  return total ? total + 64 : 0;
}

size_t cl_codec_bound(const cl_codec *c, const cl_codec_tensor *t) {
  assert(c && t);
  plan p;
  if (plan_make(c, t, CL_ERR_ARG, &p, NULL) != CL_OK) return 0;
  return p.head + p.stream + (p.lz4 ? 4 * p.nblocks : 0);
}

size_t cl_codec_scratch(const cl_codec *c, const cl_codec_tensor *t) {
  assert(c && t);
  plan p;
  if (plan_make(c, t, CL_ERR_ARG, &p, NULL) != CL_OK) return 0;
  return scratch_layout(&p, NULL, NULL);
}

/* === int8: walking the channels ===
 * Element e of the tensor belongs to channel (e / inner) % channels. A range of elements is cut into
 * runs that the kernels take whole: one channel's run when inner > 1, everything when there is one
 * channel, and when inner == 1 (channels-last) up to `period` elements whose channels follow each
 * other: the scratch arrays hold the channels' parameters repeated over the period. */

typedef enum walk_op { WALK_RANGE, WALK_QUANT, WALK_DEQUANT } walk_op;

static void walk_run(walk_op op, const uint8_t *in, uint8_t *out, size_t len, float *ca,
                     float *cb, int row) {
  switch (op) {
  case WALK_RANGE:
    if (row) cl_codec_q8_range_row(in, len, ca, cb);
    else cl_codec_q8_range(in, len, ca, cb);
    break;
  case WALK_QUANT:
    if (row) cl_codec_q8_quant_row(in, out, len, ca, cb);
    else cl_codec_q8_quant(in, out, len, ca[0], cb[0]);
    break;
  case WALK_DEQUANT:
    if (row) cl_codec_q8_dequant_row(in, out, len, ca, cb);
    else cl_codec_q8_dequant(in, out, len, ca[0], cb[0]);
    break;
  }
}

/* Elements [e0, e0 + ne): `in` and `out` point at element e0 of their arrays. */
static void q8_walk(const plan *p, walk_op op, size_t e0, size_t ne, const uint8_t *in,
                    uint8_t *out, float *ca, float *cb) {
  size_t in_es = op == WALK_DEQUANT ? 1 : 4, out_es = op == WALK_QUANT ? 1 : 4;
  int row = p->row;
  size_t C = p->channels, c = 0, j = 0, span = ne;
  if (C > 1) {
    c = (row ? e0 : e0 / p->inner) % C;
    j = row ? 0 : e0 % p->inner;
  }
  while (ne) {
    if (C > 1) span = row ? p->period - c : p->inner - j;
    size_t len = span < ne ? span : ne;
    walk_run(op, in, out, len, ca + c, cb + c, row);
    in += in_es * len;
    if (op != WALK_RANGE) out += out_es * len; /* no output when ranging */
    ne -= len;
    j = 0;
    c = row ? (c + len) % C : (c + 1 == C ? 0 : c + 1);
  }
}

/* Copies channels [0, C) of the scratch arrays over the rest of their period. */
static void repeat_channels(const plan *p, const scratch *s) {
  for (size_t c = p->channels; c < p->period; c++) {
    s->ca[c] = s->ca[c - p->channels];
    s->cb[c] = s->cb[c - p->channels];
  }
}

/* Computes the parameters, writes them at dst[0, head) and leaves 1/scale and zp in the scratch. */
static void q8_encode_params(const plan *p, const uint8_t *src, uint8_t *dst, const scratch *s) {
  size_t C = p->channels;
  float zero_scale = 1.0f;
  int8_t zero_zp = 0;
  if (p->n == 0) { /* no element: every channel gets the all-zero parameters */
    for (size_t c = 0; c < C; c++) {
      memcpy(dst + 4 * c, &zero_scale, 4);
      memcpy(dst + 4 * C + c, &zero_zp, 1);
    }
    return;
  }
  for (size_t c = 0; c < p->period; c++) s->ca[c] = s->cb[c] = 0.0f;
  q8_walk(p, WALK_RANGE, 0, p->n, src, NULL, s->ca, s->cb);
  for (size_t c = C; c < p->period; c++) { /* fold the repeats into channels [0, C) */
    s->ca[c % C] = s->ca[c] < s->ca[c % C] ? s->ca[c] : s->ca[c % C];
    s->cb[c % C] = s->cb[c] > s->cb[c % C] ? s->cb[c] : s->cb[c % C];
  }
  for (size_t c = 0; c < C; c++) {
    float scale, zp;
    cl_codec_q8_params(s->ca[c], s->cb[c], &scale, &zp);
    int8_t z = (int8_t)zp;
    memcpy(dst + 4 * c, &scale, 4);
    memcpy(dst + 4 * C + c, &z, 1);
    s->ca[c] = 1.0f / scale;
    s->cb[c] = zp;
  }
  repeat_channels(p, s);
}

/* Reads and checks the parameters at src[0, head); keeps scale and zp in the scratch (when there
 * is any element to decode). */
static cl_status q8_decode_params(const plan *p, const uint8_t *src, const scratch *s,
                                  cl_error *err) {
  size_t C = p->channels;
  for (size_t c = 0; c < C; c++) {
    float scale;
    memcpy(&scale, src + 4 * c, 4);
    if (!(scale >= FLT_MIN && scale <= FLT_MAX))
      return bad_input(err, p, "channel %zu: scale %g is not a positive normal float", c,
                       (double)scale);
    if (s->ca) {
      s->ca[c] = scale;
      s->cb[c] = (float)(int8_t)src[4 * C + c];
    }
  }
  if (s->ca) repeat_channels(p, s);
  return CL_OK;
}

/* === Encoding, block by block === */

/* Block b: its bytes of the kind stream, and its first element. */
static size_t block_len(const plan *p, size_t b) {
  size_t off = b * CL_CODEC_BLOCK;
  return p->stream - off < CL_CODEC_BLOCK ? p->stream - off : CL_CODEC_BLOCK;
}

/* The kind transform of elements [e0, e0 + ne) of src into out. */
static void kind_encode(const plan *p, const uint8_t *src, size_t e0, size_t ne, uint8_t *out,
                        const scratch *s) {
  if (p->kind == CL_CODEC_F16) cl_codec_f16_encode(src + 4 * e0, out, ne);
  else q8_walk(p, WALK_QUANT, e0, ne, src + 4 * e0, out, s->ca, s->cb);
}

/* Encodes block b at dst; returns its encoded length. */
static size_t encode_block(const plan *p, size_t b, const uint8_t *src, uint8_t *dst,
                           const scratch *s) {
  size_t bl = block_len(p, b), e0 = b * CL_CODEC_BLOCK / p->es;
  uint8_t *body = p->lz4 ? dst + 4 : dst; /* where the block's bytes go when not compressed */
  const uint8_t *k = src + b * CL_CODEC_BLOCK;
  if (p->kind != CL_CODEC_RAW) {
    uint8_t *to = p->shuffle || p->lz4 ? s->a : body;
    kind_encode(p, src, e0, bl / p->es, to, s);
    k = to;
  }
  if (p->shuffle) {
    uint8_t *to = p->lz4 ? s->b : body;
    cl_codec_shuffle(k, to, bl / p->es, p->es);
    k = to;
  }
  if (!p->lz4) {
    if (k != body) memcpy(body, k, bl);
    return bl;
  }
  int c = LZ4_compress_fast_extState(s->lz4_state, (const char *)k, (char *)body, (int)bl,
                                     (int)bl - 1, 1);
  uint32_t h = (uint32_t)c;
  if (c <= 0) { /* no gain: store the block as it is */
    memcpy(body, k, bl);
    h = CL_CODEC_STORED | (uint32_t)bl;
    c = (int)bl;
  }
  memcpy(dst, &h, 4);
  return 4 + (size_t)c;
}

cl_status cl_codec_encode(const cl_codec *c, const cl_codec_tensor *t, const void *src, void *dst,
                          size_t cap, size_t *written, void *scratch_mem, cl_codec *used,
                          cl_error *err) {
  assert(c && t && dst && written && used && (src || t->nbytes == 0));
  plan p;
  cl_status st = plan_make(c, t, CL_ERR_ARG, &p, err);
  if (st != CL_OK) return st;
  size_t bound = p.head + p.stream + (p.lz4 ? 4 * p.nblocks : 0);
  if (cap < bound)
    return cl_error_set(err, CL_ERR_ARG, "codec: destination of %zu bytes is below the bound %zu",
                        cap, bound);
  scratch s = {0};
  if (scratch_layout(&p, NULL, NULL)) {
    assert(scratch_mem);
    scratch_layout(&p, scratch_mem, &s);
  }
  uint8_t *out = dst;
  if (p.head) q8_encode_params(&p, src, out, &s);
  size_t pos = p.head;
  for (size_t b = 0; b < p.nblocks; b++) pos += encode_block(&p, b, src, out + pos, &s);
  *written = pos;
  *used = (cl_codec){p.kind, c->shuffle != 0, p.lz4};
  return CL_OK;
}

/* === Decoding, block by block === */

/* The inverse kind transform of ne elements from in into dst's elements [e0, e0 + ne). */
static void kind_decode(const plan *p, const uint8_t *in, size_t e0, size_t ne, uint8_t *dst,
                        const scratch *s) {
  if (p->kind == CL_CODEC_F16) cl_codec_f16_decode(in, dst + 4 * e0, ne);
  else q8_walk(p, WALK_DEQUANT, e0, ne, in, dst + 4 * e0, s->ca, s->cb);
}

/* Block b's kind-stream bytes, read from src[*pos, len): decompressed into `to` (returned), or
 * pointed to in place when stored or not compressed. */
static cl_status block_bytes(const plan *p, size_t b, const uint8_t *src, size_t len, size_t *pos,
                             uint8_t *to, const uint8_t **bytes, cl_error *err) {
  size_t bl = block_len(p, b), left = len - *pos;
  if (!p->lz4) {
    if (left < bl) return bad_input(err, p, "truncated: %zu bytes short", bl - left);
    *bytes = src + *pos;
    *pos += bl;
    return CL_OK;
  }
  if (left < 4)
    return bad_input(err, p, "block %zu of %zu: truncated header", b + 1, p->nblocks);
  uint32_t h;
  memcpy(&h, src + *pos, 4);
  left -= 4;
  size_t clen = h & ~CL_CODEC_STORED;
  if (h & CL_CODEC_STORED) {
    if (clen != bl)
      return bad_input(err, p, "block %zu of %zu: stored length %zu, expected %zu", b + 1,
                       p->nblocks, clen, bl);
  } else if (clen == 0 || clen >= bl) {
    return bad_input(err, p, "block %zu of %zu: compressed length %zu outside 1..%zu", b + 1,
                     p->nblocks, clen, bl - 1);
  }
  if (clen > left)
    return bad_input(err, p, "block %zu of %zu: truncated (%zu of %zu bytes)", b + 1, p->nblocks,
                     left, clen);
  const uint8_t *body = src + *pos + 4;
  *pos += 4 + clen;
  if (h & CL_CODEC_STORED) {
    *bytes = body;
    return CL_OK;
  }
  int got = LZ4_decompress_safe((const char *)body, (char *)to, (int)clen, (int)bl);
  if (got != (int)bl)
    return bad_input(err, p, "block %zu of %zu: corrupt LZ4 data", b + 1, p->nblocks);
  *bytes = to;
  return CL_OK;
}

static cl_status decode_block(const plan *p, size_t b, const uint8_t *src, size_t len,
                              size_t *pos, uint8_t *dst, const scratch *s, cl_error *err) {
  size_t bl = block_len(p, b), e0 = b * CL_CODEC_BLOCK / p->es;
  int raw = p->kind == CL_CODEC_RAW;
  uint8_t *direct = dst + b * CL_CODEC_BLOCK; /* raw: the block's place in dst */
  const uint8_t *k = NULL;
  cl_status st = block_bytes(p, b, src, len, pos, raw && !p->shuffle ? direct : s->a, &k, err);
  if (st != CL_OK) return st;
  if (p->shuffle) {
    uint8_t *to = raw ? direct : s->b;
    cl_codec_unshuffle(k, to, bl / p->es, p->es);
    k = to;
  }
  if (!raw) kind_decode(p, k, e0, bl / p->es, dst, s);
  else if (k != direct) memcpy(direct, k, bl);
  return CL_OK;
}

cl_status cl_codec_decode(const cl_codec *c, const cl_codec_tensor *t, const void *src, size_t len,
                          void *dst, void *scratch_mem, cl_error *err) {
  assert(c && t && (src || len == 0) && (dst || t->nbytes == 0));
  plan p;
  cl_status st = plan_make(c, t, CL_ERR_FORMAT, &p, err);
  if (st != CL_OK) return st;
  scratch s = {0};
  if (scratch_layout(&p, NULL, NULL)) {
    assert(scratch_mem);
    scratch_layout(&p, scratch_mem, &s);
  }
  const uint8_t *in = src;
  if (len < p.head)
    return bad_input(err, &p, "truncated: %zu bytes, the parameters alone take %zu", len, p.head);
  if (p.head && (st = q8_decode_params(&p, in, &s, err)) != CL_OK) return st;
  size_t pos = p.head;
  for (size_t b = 0; b < p.nblocks; b++)
    if ((st = decode_block(&p, b, in, len, &pos, dst, &s, err)) != CL_OK) return st;
  if (pos != len) return bad_input(err, &p, "%zu trailing bytes", len - pos);
  return CL_OK;
}

/* === Geometry === */

void cl_codec_tensor_of(cl_dtype dtype, int rank, const int64_t *dims, int channels_last,
                        size_t nbytes, cl_codec_tensor *out) {
  size_t es = cl_dtype_size(dtype), n = es ? nbytes / es : 0;
  *out = (cl_codec_tensor){dtype, nbytes, 1, 1, n};
  if (rank < 2 || dims[1] <= 0) return;
  out->channels = (size_t)dims[1];
  if (channels_last) {
    out->outer = n / out->channels;
    out->inner = 1;
    return;
  }
  out->outer = (size_t)dims[0];
  out->inner = 1;
  for (int d = 2; d < rank; d++) out->inner *= (size_t)dims[d];
}
