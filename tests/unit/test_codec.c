/* cleave tests: the tensor codec (runtime/include/cleave/codec.h, byte format in docs/CODEC.md).
 *
 * Round trips of every kind x shuffle x LZ4, bit-exact where the codec is lossless; float16 rounding
 * against known bit patterns; the int8 error bound checked from the parameters read back out of the
 * encoded block; the SIMD kernels against the portable ones; and decoding of truncated, corrupted
 * and inconsistent blocks, which must be refused cleanly without touching memory outside dst. */
#include <criterion/criterion.h>
#include <float.h>
#include <lz4.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "wire/codec_internal.h"

/* === Helpers === */

#define GUARD 64 /* canary bytes on each side of every decode destination */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static float rndf(float lo, float hi) {
  return (float)(lo + ((double)hi - lo) * (double)(rnd() >> 8) / 16777216.0);
}

static float bits_f(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static uint32_t f_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

static cl_codec_tensor flat(cl_dtype dt, size_t nbytes) {
  return (cl_codec_tensor){dt, nbytes, 1, 1, nbytes / (cl_dtype_size(dt) ? cl_dtype_size(dt) : 1)};
}

/* Every codec: 4 kinds x shuffle x lz4. */
static cl_codec codec_at(int i) {
  return (cl_codec){(cl_codec_kind)(i / 4), (i / 2) % 2, i % 2};
}
#define N_CODECS 16

/* An encoded tensor and its buffers. */
typedef struct enc {
  uint8_t *buf;
  size_t len, scratch_len;
  void *scratch;
  cl_codec used;
} enc;

static enc encode_ok(const cl_codec *c, const cl_codec_tensor *t, const void *src) {
  enc e = {0};
  size_t bound = cl_codec_bound(c, t);
  e.scratch_len = cl_codec_scratch(c, t);
  e.buf = malloc(bound + 1);
  e.scratch = malloc(e.scratch_len + 1);
  cr_assert(e.buf && e.scratch);
  cl_error err = {0};
  cl_status s = cl_codec_encode(c, t, src, e.buf, bound, &e.len, e.scratch, &e.used, &err);
  cr_assert_eq(s, CL_OK, "encode: %s", err.msg);
  cr_assert_leq(e.len, bound);
  return e;
}

static void enc_free(enc *e) {
  free(e->buf);
  free(e->scratch);
}

/* Decodes into a guarded buffer; checks the guards and returns the status (data copied to out). */
static cl_status decode_guarded(const cl_codec *c, const cl_codec_tensor *t, const void *src,
                                size_t len, void *out, cl_error *err) {
  uint8_t *dst = malloc(t->nbytes + 2 * GUARD);
  void *scratch = malloc(cl_codec_scratch(c, t) + 1);
  cr_assert(dst && scratch);
  memset(dst, 0xa5, t->nbytes + 2 * GUARD);
  cl_status s = cl_codec_decode(c, t, src, len, dst + GUARD, scratch, err);
  for (size_t i = 0; i < GUARD; i++) {
    cr_assert_eq(dst[i], 0xa5, "write before dst");
    cr_assert_eq(dst[GUARD + t->nbytes + i], 0xa5, "write after dst");
  }
  if (out && s == CL_OK && t->nbytes) memcpy(out, dst + GUARD, t->nbytes);
  free(dst);
  free(scratch);
  return s;
}

static void expect_one_line(const cl_error *err) {
  cr_expect(err->msg[0] != '\0', "empty error message");
  cr_expect(strchr(err->msg, '\n') == NULL, "message on several lines: %s", err->msg);
}

/* === Names === */

Test(codec_names, round_trip_every_codec) {
  for (int i = 0; i < N_CODECS; i++) {
    cl_codec c = codec_at(i), back;
    char name[64];
    cl_codec_name(&c, name, sizeof name);
    cl_error err = {0};
    cr_assert_eq(cl_codec_parse(name, &back, &err), CL_OK, "%s: %s", name, err.msg);
    cr_expect_eq(back.kind, c.kind, "%s", name);
    cr_expect_eq(back.shuffle, c.shuffle, "%s", name);
    cr_expect_eq(back.lz4, c.lz4, "%s", name);
  }
}

Test(codec_names, canonical_forms) {
  cl_codec c;
  cl_error err = {0};
  char name[64];
  cr_assert_eq(cl_codec_parse("raw", &c, &err), CL_OK);
  cr_expect(c.kind == CL_CODEC_RAW && !c.shuffle && c.lz4);
  cr_assert_eq(cl_codec_parse("int8c+nolz4+shuffle", &c, &err), CL_OK);
  cr_expect(c.kind == CL_CODEC_INT8_CHANNEL && c.shuffle && !c.lz4);
  cr_expect_str_eq(cl_codec_name(&c, name, sizeof name), "int8c+shuffle+nolz4");
  cr_assert_eq(cl_codec_parse("f16+shuffle", &c, &err), CL_OK);
  cr_expect_str_eq(cl_codec_name(&c, name, sizeof name), "f16+shuffle");
  cr_expect_str_eq(cl_codec_name(&c, name, 4), "f16"); /* truncated, terminated */
}

Test(codec_names, parse_errors) {
  const char *bad[] = {"", "f32", "RAW", "raw+", "+shuffle", "shuffle", "raw+lz4", "raw++nolz4",
                       "raw+shuffle+shuffle", "f16+nolz4+nolz4", "int8+int8c", "int8 ",
                       "raw+SHUFFLE"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cl_codec c = {CL_CODEC_F16, 1, 0};
    cl_error err = {0};
    cr_expect_eq(cl_codec_parse(bad[i], &c, &err), CL_ERR_ARG, "'%s' accepted", bad[i]);
    cr_expect_eq(err.status, CL_ERR_ARG);
    expect_one_line(&err);
    cr_expect(c.kind == CL_CODEC_F16 && c.shuffle == 1 && c.lz4 == 0, "'%s' wrote *out", bad[i]);
  }
  cl_codec c;
  cl_error err = {0};
  cr_assert_eq(cl_codec_parse("f16+bogus", &c, &err), CL_ERR_ARG);
  cr_expect(strstr(err.msg, "bogus") != NULL, "message does not name the bad part: %s", err.msg);
}

Test(codec_names, lossy) {
  for (int i = 0; i < N_CODECS; i++) {
    cl_codec c = codec_at(i);
    cr_expect_eq(cl_codec_is_lossy(&c, CL_DTYPE_F32), c.kind != CL_CODEC_RAW);
    cr_expect_eq(cl_codec_is_lossy(&c, CL_DTYPE_I64), 0);
    cr_expect_eq(cl_codec_is_lossy(&c, CL_DTYPE_F16), 0);
  }
}

/* === Lossless round trips === */

static const cl_dtype ALL_DTYPES[] = {CL_DTYPE_F32, CL_DTYPE_U8,  CL_DTYPE_I8,   CL_DTYPE_U16,
                                      CL_DTYPE_I16, CL_DTYPE_I32, CL_DTYPE_I64,  CL_DTYPE_BOOL,
                                      CL_DTYPE_F16, CL_DTYPE_F64, CL_DTYPE_U32,  CL_DTYPE_U64,
                                      CL_DTYPE_BF16};
/* Element counts: empty, tails around the SIMD widths, one block exactly, several with a tail. */
static const size_t COUNTS[] = {0, 1, 3, 31, 33, 1000, CL_CODEC_BLOCK / 4, 300007};

/* Bytes that compress a little (smooth values with noise in the low bits) */
static void fill_bytes(uint8_t *p, size_t n, int smooth) {
  for (size_t i = 0; i < n; i++) p[i] = smooth ? (uint8_t)((i / 64) + (rnd() & 3)) : (uint8_t)rnd();
}

Test(codec_raw, bit_exact_every_dtype_and_codec) {
  for (size_t d = 0; d < sizeof ALL_DTYPES / sizeof ALL_DTYPES[0]; d++) {
    for (size_t k = 0; k < sizeof COUNTS / sizeof COUNTS[0]; k++) {
      size_t nb = COUNTS[k] * cl_dtype_size(ALL_DTYPES[d]);
      cl_codec_tensor t = flat(ALL_DTYPES[d], nb);
      uint8_t *src = malloc(nb + 1), *back = malloc(nb + 1);
      fill_bytes(src, nb, k % 2);
      for (int i = 0; i < N_CODECS; i++) {
        cl_codec c = codec_at(i);
        if (ALL_DTYPES[d] == CL_DTYPE_F32 && c.kind != CL_CODEC_RAW) continue; /* lossy */
        enc e = encode_ok(&c, &t, src);
        cr_expect_eq(e.used.kind, CL_CODEC_RAW, "non-float under a lossy kind must go raw");
        cr_expect_eq(e.used.lz4, c.lz4);
        cl_error err = {0};
        cr_assert_eq(decode_guarded(&e.used, &t, e.buf, e.len, back, &err), CL_OK, "%s", err.msg);
        cr_assert(nb == 0 || memcmp(src, back, nb) == 0, "dtype %s, %zu elements, codec %d",
                  cl_dtype_name(ALL_DTYPES[d]), COUNTS[k], i);
        /* the codec as asked decodes too: the same substitution applies */
        cr_assert_eq(decode_guarded(&c, &t, e.buf, e.len, NULL, &err), CL_OK, "%s", err.msg);
        enc_free(&e);
      }
      free(src);
      free(back);
    }
  }
}

Test(codec_raw, float_nan_payloads_survive) {
  uint32_t v[] = {0x7fc00000, 0x7f800001, 0xffffffff, 0x7f800000, 0x80000000, 0x00000001};
  cl_codec_tensor t = flat(CL_DTYPE_F32, sizeof v);
  for (int i = 0; i < 4; i++) {
    cl_codec c = codec_at(i);
    enc e = encode_ok(&c, &t, v);
    uint32_t back[6];
    cl_error err = {0};
    cr_assert_eq(decode_guarded(&c, &t, e.buf, e.len, back, &err), CL_OK);
    cr_expect(memcmp(v, back, sizeof v) == 0);
    enc_free(&e);
  }
}

Test(codec_raw, sizes_and_compression) {
  size_t n = 3 * CL_CODEC_BLOCK + 100; /* 4 blocks */
  uint8_t *zeros = calloc(n, 1), *noise = malloc(n);
  fill_bytes(noise, n, 0);
  cl_codec_tensor t = flat(CL_DTYPE_U8, n);
  cl_codec c = {CL_CODEC_RAW, 0, 1}, plain = {CL_CODEC_RAW, 0, 0};
  cr_expect_eq(cl_codec_bound(&plain, &t), n);
  cr_expect_eq(cl_codec_scratch(&plain, &t), 0);
  cr_expect_eq(cl_codec_bound(&c, &t), n + 4 * 4);
  enc z = encode_ok(&c, &t, zeros), r = encode_ok(&c, &t, noise);
  cr_expect_lt(z.len, n / 100, "zeros compress: %zu bytes", z.len);
  cr_expect_eq(r.len, n + 16, "noise is stored: %zu bytes", r.len);
  enc_free(&z);
  enc_free(&r);
  free(zeros);
  free(noise);
}

/* The documented layout, read independently: after the parameters, per block a 4-byte little-endian
 * header (bit 31: stored) and its bytes; every block decodes on its own. */
Test(codec_raw, block_format_as_documented) {
  size_t n = 150000; /* 600000 bytes of float: 3 blocks, the last 75712 bytes */
  float *x = malloc(n * 4);
  for (size_t i = 0; i < n; i++) x[i] = sinf((float)i * 0.001f);
  cl_codec_tensor t = flat(CL_DTYPE_F32, n * 4);
  cl_codec c = {CL_CODEC_RAW, 1, 1};
  enc e = encode_ok(&c, &t, x);
  size_t pos = 0, blocks = 0;
  uint8_t *shuf = malloc(CL_CODEC_BLOCK);
  while (pos < e.len) {
    uint32_t h;
    memcpy(&h, e.buf + pos, 4);
    size_t raw_len = blocks < 2 ? CL_CODEC_BLOCK : n * 4 - 2 * CL_CODEC_BLOCK;
    size_t clen = h & 0x7fffffffu;
    cr_assert_leq(pos + 4 + clen, e.len);
    if (h & 0x80000000u) memcpy(shuf, e.buf + pos + 4, clen);
    else
      cr_assert_eq(LZ4_decompress_safe((const char *)e.buf + pos + 4, (char *)shuf, (int)clen,
                                       (int)CL_CODEC_BLOCK), (int)raw_len);
    /* byte k of element i of this block is at k * m + i */
    size_t m = raw_len / 4;
    const uint8_t *orig = (const uint8_t *)x + blocks * CL_CODEC_BLOCK;
    for (size_t i = 0; i < m; i += 997)
      for (size_t k = 0; k < 4; k++) cr_assert_eq(shuf[k * m + i], orig[4 * i + k]);
    pos += 4 + clen;
    blocks++;
  }
  cr_expect_eq(blocks, 3);
  cr_expect_eq(pos, e.len);
  free(shuf);
  free(x);
  enc_free(&e);
}

/* === float16 === */

typedef struct f16_case {
  float f;
  uint16_t h;
} f16_case;

static const f16_case F16_CASES[] = {
    {1.0f, 0x3c00},
    {0x1.002p0f, 0x3c00},                /* 1 + 2^-11: tie, to even (1) */
    {0x1.002002p0f, 0x3c01},             /* just above the tie */
    {0x1.006p0f, 0x3c02},                /* 1 + 3*2^-11: tie, to even (0x3c02) */
    {-2.0f, 0xc000},
    {0.333333333f, 0x3555},
    {65504.0f, 0x7bff},                  /* largest finite */
    {65519.996f, 0x7bff},                /* below the overflow tie */
    {65520.0f, 0x7c00},                  /* the tie rounds to inf */
    {-65520.0f, 0xfc00},
    {1e10f, 0x7c00},
    {0.0f, 0x0000},
    {-0.0f, 0x8000},
    {0x1p-14f, 0x0400},                  /* smallest normal */
    {0x1.ffcp-15f, 0x0400},              /* 2^-14 - 2^-25: tie between 0x3ff and 0x400, even */
    {0x1.ff8p-15f, 0x03ff},              /* largest subnormal */
    {0x1p-24f, 0x0001},                  /* smallest subnormal */
    {0x1p-25f, 0x0000},                  /* tie, to even (0) */
    {0x1.000002p-25f, 0x0001},           /* just above the tie */
    {0x1.8p-24f, 0x0002},                /* 3*2^-25: tie between 1 and 2, even */
    {-0x1p-24f, 0x8001},
    {1e-10f, 0x0000},
    {1.4e-45f, 0x0000},                  /* float32 subnormal */
};

static void check_f16_cases(void) {
  size_t n = sizeof F16_CASES / sizeof F16_CASES[0];
  float in[32];
  uint16_t out[32];
  for (size_t i = 0; i < n; i++) in[i] = F16_CASES[i].f;
  cl_codec_f16_encode(in, out, n);
  for (size_t i = 0; i < n; i++) {
    cr_expect_eq(cl_codec_f16_from_f32(F16_CASES[i].f), F16_CASES[i].h, "scalar %a",
                 F16_CASES[i].f);
    cr_expect_eq(out[i], F16_CASES[i].h, "vector %a -> %04x, expected %04x", F16_CASES[i].f, out[i],
                 F16_CASES[i].h);
  }
}

Test(codec_f16, known_bit_patterns) {
  check_f16_cases();
  cl_codec_force_portable(1);
  check_f16_cases();
  cl_codec_force_portable(0);
  cr_expect_eq(cl_codec_f16_from_f32(INFINITY), 0x7c00);
  cr_expect_eq(cl_codec_f16_from_f32(-INFINITY), 0xfc00);
  uint16_t nan = cl_codec_f16_from_f32(NAN);
  cr_expect((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0, "NaN -> %04x", nan);
  cr_expect_eq(cl_codec_f16_from_f32(bits_f(0x7f800001)), 0x7e00, "signalling NaN made quiet");
  cr_expect_eq(f_bits(cl_codec_f16_to_f32(0x0001)), f_bits(5.9604644775390625e-08f));
  cr_expect_eq(f_bits(cl_codec_f16_to_f32(0x7c00)), 0x7f800000u);
  cr_expect_eq(f_bits(cl_codec_f16_to_f32(0x8000)), 0x80000000u);
  cr_expect_eq(cl_codec_f16_to_f32(0x3555), 0.333251953125f);
}

/* Every float16 value travels exactly through every f16 codec. */
Test(codec_f16, representable_values_bit_exact) {
  size_t n = 65536;
  float *x = malloc(n * 4), *back = malloc(n * 4);
  for (size_t i = 0; i < n; i++) x[i] = cl_codec_f16_to_f32((uint16_t)i);
  cl_codec_tensor t = flat(CL_DTYPE_F32, n * 4);
  for (int i = 4; i < 8; i++) {
    cl_codec c = codec_at(i);
    enc e = encode_ok(&c, &t, x);
    cr_expect_eq(e.used.kind, CL_CODEC_F16);
    cl_error err = {0};
    cr_assert_eq(decode_guarded(&c, &t, e.buf, e.len, back, &err), CL_OK, "%s", err.msg);
    for (size_t k = 0; k < n; k++)
      cr_assert_eq(f_bits(back[k]), f_bits(x[k]), "half %04zx (codec %d)", k, i);
    enc_free(&e);
  }
  free(x);
  free(back);
}

Test(codec_f16, vector_matches_portable) {
  if (!cl_codec_simd_active()) return;
  enum { N = 1 << 16 };
  static uint16_t h[N], a[N], b[N];
  static float f[N], fa[N], fb[N];
  for (uint32_t i = 0; i < N; i++) h[i] = (uint16_t)i;
  cl_codec_f16_decode(h, fa, N);
  cl_codec_force_portable(1);
  cl_codec_f16_decode(h, fb, N);
  cl_codec_force_portable(0);
  cr_assert(memcmp(fa, fb, sizeof fa) == 0, "f16 -> f32 differs");
  /* f32 -> f16 over a stride through all 2^32 patterns, plus every pattern near the boundaries */
  for (uint64_t base = 0; base < (1ull << 32); base += (uint64_t)N * 4099) {
    for (uint32_t i = 0; i < N; i++) f[i] = bits_f((uint32_t)(base + (uint64_t)i * 4099));
    cl_codec_f16_encode(f, a, N);
    cl_codec_force_portable(1);
    cl_codec_f16_encode(f, b, N);
    cl_codec_force_portable(0);
    for (uint32_t i = 0; i < N; i++) cr_assert_eq(a[i], b[i], "%08x", f_bits(f[i]));
  }
  const uint32_t edges[] = {0x477fe000, 0x38800000, 0x33000000, 0x7f800000, 0};
  for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
    for (uint32_t i = 0; i < N; i++) f[i] = bits_f(edges[e] - N / 2 + i);
    cl_codec_f16_encode(f, a, N);
    cl_codec_force_portable(1);
    cl_codec_f16_encode(f, b, N);
    cl_codec_force_portable(0);
    cr_assert(memcmp(a, b, sizeof a) == 0, "near %08x", edges[e]);
  }
}

/* === Byte-shuffle === */

Test(codec_shuffle, definition_and_inverse) {
  const size_t sizes[] = {1, 2, 4, 8, 3};
  const size_t counts[] = {0, 1, 31, 32, 33, 95, 1000};
  for (int portable = 0; portable < 2; portable++) {
    cl_codec_force_portable(portable);
    for (size_t s = 0; s < 5; s++)
      for (size_t k = 0; k < 7; k++) {
        size_t es = sizes[s], n = counts[k], nb = es * n;
        uint8_t *src = malloc(nb + 1), *sh = malloc(nb + 1), *back = malloc(nb + 1);
        fill_bytes(src, nb, 0);
        cl_codec_shuffle(src, sh, n, es);
        for (size_t i = 0; i < n; i++)
          for (size_t b = 0; b < es; b++) cr_assert_eq(sh[b * n + i], src[i * es + b]);
        cl_codec_unshuffle(sh, back, n, es);
        cr_assert(nb == 0 || memcmp(src, back, nb) == 0, "es %zu n %zu", es, n);
        free(src);
        free(sh);
        free(back);
      }
  }
  cl_codec_force_portable(0);
}

/* === int8 === */

/* Reads channel c's parameters from an encoded int8 block with C channels. */
static void params_at(const enc *e, size_t C, size_t c, float *scale, float *zp) {
  memcpy(scale, e->buf + 4 * c, 4);
  *zp = (float)(int8_t)e->buf[4 * C + c];
}

/* The bound, checked independently: every finite x within scale/2 (plus float rounding) of x'. */
static void check_bound(float x, float y, float scale, const char *what, size_t i) {
  if (isnan(x)) {
    cr_assert_eq(y, 0.0f, "%s[%zu]: NaN -> %g, expected 0", what, i, y);
    return;
  }
  cr_assert(isfinite(y), "%s[%zu]: %g -> %g", what, i, x, y);
  if (isinf(x)) return;
  float tol = scale * 0.5f * (1.0f + 1e-4f) + fabsf(x) * 1e-6f;
  cr_assert_leq(fabsf(x - y), tol, "%s[%zu]: |%.9g - %.9g| > scale/2 = %g", what, i, x, y,
                scale / 2);
  if (x == 0.0f) cr_assert_eq(y, 0.0f, "%s[%zu]: zero is not exact", what, i);
}

/* Per-tensor int8 through every variant; checks the bound and the scale against the data's range. */
static void check_int8_tensor(const float *x, size_t n, const char *what) {
  cl_codec_tensor t = flat(CL_DTYPE_F32, n * 4);
  float *back = malloc(n * 4 + 4);
  float lo = 0, hi = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) {
      lo = fminf(lo, x[i]);
      hi = fmaxf(hi, x[i]);
    }
  for (int i = 8; i < 12; i++) {
    cl_codec c = codec_at(i);
    enc e = encode_ok(&c, &t, x);
    cr_expect_eq(e.used.kind, CL_CODEC_INT8);
    float scale, zp;
    params_at(&e, 1, 0, &scale, &zp);
    double want = ((double)hi - lo) / 255.0;
    if (want > 0)
      cr_assert(scale >= want * (1 - 1e-6) && scale <= fmax(want * (1 + 1e-6), FLT_MIN),
                "%s: scale %g for range [%g, %g]", what, scale, lo, hi);
    cl_error err = {0};
    cr_assert_eq(decode_guarded(&c, &t, e.buf, e.len, back, &err), CL_OK, "%s", err.msg);
    for (size_t k = 0; k < n; k++) check_bound(x[k], back[k], scale, what, k);
    enc_free(&e);
  }
  free(back);
}

Test(codec_int8, error_bound_per_tensor) {
  size_t n = 70001;
  float *x = malloc(n * 4);
  struct { float lo, hi; } ranges[] = {{-1, 1}, {-3, 250}, {0.5f, 7}, {-9, -0.001f}, {0, 0},
                                       {-1e-30f, 1e-30f}, {-1e-42f, 3e-43f}, {-3e38f, 3.4e38f},
                                       {-FLT_MAX, FLT_MAX}, {1e6f, 1e6f}};
  for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
    for (size_t i = 0; i < n; i++) x[i] = rndf(ranges[r].lo, ranges[r].hi);
    x[0] = ranges[r].lo;
    x[1] = ranges[r].hi;
    x[2] = 0.0f;
    char what[64];
    snprintf(what, sizeof what, "range [%g, %g]", ranges[r].lo, ranges[r].hi);
    check_int8_tensor(x, n, what);
    check_int8_tensor(x, 37, what); /* short: the portable tail only */
  }
  free(x);
}

Test(codec_int8, non_finite_values) {
  float x[70];
  for (int i = 0; i < 70; i++) x[i] = (float)(i - 20) * 0.25f;
  x[3] = NAN;
  x[40] = INFINITY;
  x[41] = -INFINITY;
  x[65] = -NAN;
  check_int8_tensor(x, 70, "non-finite");
  cl_codec c = {CL_CODEC_INT8, 0, 0};
  cl_codec_tensor t = flat(CL_DTYPE_F32, sizeof x);
  enc a = encode_ok(&c, &t, x), b = encode_ok(&c, &t, x);
  cr_assert(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0, "not deterministic");
  float back[70], scale, zp;
  params_at(&a, 1, 0, &scale, &zp);
  cl_error err = {0};
  cr_assert_eq(decode_guarded(&c, &t, a.buf, a.len, back, &err), CL_OK);
  cr_expect_eq(back[40], (127 - zp) * scale, "+inf -> top of the range");
  cr_expect_eq(back[41], (-128 - zp) * scale, "-inf -> bottom of the range");
  cr_expect_eq(back[3], 0.0f);
  enc_free(&a);
  enc_free(&b);
  float all_nan[5] = {NAN, NAN, INFINITY, NAN, -INFINITY};
  check_int8_tensor(all_nan, 5, "nothing finite");
}

/* Per channel: plain [N, C, H, W] (inner = H*W) and channels-last (inner = 1), channels of very
 * different scales; each element is checked against its own channel's scale. */
static void check_int8c(size_t outer, size_t C, size_t inner, int shuffle, int lz4) {
  size_t n = outer * C * inner;
  float *x = malloc(n * 4 + 4), *back = malloc(n * 4 + 4);
  for (size_t i = 0; i < n; i++) {
    size_t c = (i / inner) % C;
    float mag = powf(10.0f, (float)(c % 7) - 3.0f);
    x[i] = c % 5 == 4 ? 0.0f : rndf(-mag * (float)(c % 3), mag);
  }
  cl_codec_tensor t = {CL_DTYPE_F32, n * 4, outer, C, inner};
  cl_codec c = {CL_CODEC_INT8_CHANNEL, shuffle, lz4};
  enc e = encode_ok(&c, &t, x);
  cr_expect_eq(e.used.kind, CL_CODEC_INT8_CHANNEL);
  cl_error err = {0};
  cr_assert_eq(decode_guarded(&c, &t, e.buf, e.len, back, &err), CL_OK, "%s", err.msg);
  for (size_t i = 0; i < n; i++) {
    float scale, zp;
    params_at(&e, C, (i / inner) % C, &scale, &zp);
    check_bound(x[i], back[i], scale, "int8c", i);
  }
  enc_free(&e);
  free(x);
  free(back);
}

Test(codec_int8, error_bound_per_channel) {
  for (int v = 0; v < 4; v++) {
    check_int8c(2, 16, 1000, v / 2, v % 2);   /* NCHW */
    check_int8c(3000, 40, 1, v / 2, v % 2);   /* NHWC: rows cut across blocks */
    check_int8c(1, 7, 3, v / 2, v % 2);       /* tiny */
    check_int8c(5, 1, 20000, v / 2, v % 2);   /* one channel */
    check_int8c(1, 300000, 1, v / 2, v % 2);  /* many channels, more than a block */
    check_int8c(100000, 3, 1, v / 2, v % 2);  /* NHWC, 3 channels: rows straddle the blocks */
    check_int8c(300, 1500, 1, v / 2, v % 2);  /* NHWC, more channels than the repeat period */
  }
}

Test(codec_int8, per_channel_beats_per_tensor) {
  size_t outer = 64, C = 8;
  float x[512], a[512], b[512];
  for (size_t i = 0; i < 512; i++) x[i] = rndf(-1, 1) * ((i % C) == 0 ? 100.0f : 0.01f);
  cl_codec_tensor t = {CL_DTYPE_F32, sizeof x, outer, C, 1};
  cl_codec ct = {CL_CODEC_INT8, 0, 1}, cc = {CL_CODEC_INT8_CHANNEL, 0, 1};
  enc et = encode_ok(&ct, &t, x), ec = encode_ok(&cc, &t, x);
  cl_error err = {0};
  cr_assert_eq(decode_guarded(&ct, &t, et.buf, et.len, a, &err), CL_OK);
  cr_assert_eq(decode_guarded(&cc, &t, ec.buf, ec.len, b, &err), CL_OK);
  double et2 = 0, ec2 = 0;
  for (size_t i = 0; i < 512; i++)
    if (i % C) {
      et2 += (x[i] - a[i]) * (x[i] - a[i]);
      ec2 += (x[i] - b[i]) * (x[i] - b[i]);
    }
  cr_expect_lt(ec2 * 1000, et2, "per channel %g vs per tensor %g", ec2, et2);
  enc_free(&et);
  enc_free(&ec);
}

Test(codec_int8, vector_matches_portable) {
  if (!cl_codec_simd_active()) return;
  size_t n = 100003;
  float *x = malloc(n * 4), *ya = malloc(n * 4), *yb = malloc(n * 4);
  for (size_t i = 0; i < n; i++) x[i] = i % 1001 == 0 ? bits_f(rnd()) : rndf(-5, 7);
  cl_codec_tensor ts[] = {flat(CL_DTYPE_F32, n * 4), {CL_DTYPE_F32, n * 4, 1, 100003, 1},
                          {CL_DTYPE_F32, 7 * 14286 * 4, 1, 7, 14286}};
  for (int k = 0; k < 3; k++) {
    cl_codec c = {k ? CL_CODEC_INT8_CHANNEL : CL_CODEC_INT8, 0, 0};
    enc a = encode_ok(&c, &ts[k], x);
    cl_codec_force_portable(1);
    enc b = encode_ok(&c, &ts[k], x);
    cl_error err = {0};
    cr_assert_eq(decode_guarded(&c, &ts[k], a.buf, a.len, yb, &err), CL_OK);
    cl_codec_force_portable(0);
    cr_assert(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0, "codes differ (%d)", k);
    cr_assert_eq(decode_guarded(&c, &ts[k], a.buf, a.len, ya, &err), CL_OK);
    cr_assert(memcmp(ya, yb, ts[k].nbytes) == 0, "values differ (%d)", k);
    enc_free(&a);
    enc_free(&b);
  }
  free(x);
  free(ya);
  free(yb);
}

/* === Refusals === */

/* A small tensor encoded with codec i: 300 smooth floats, 4 channels of 75. */
static enc small_block(int i, cl_codec_tensor *t, float *x) {
  for (int k = 0; k < 300; k++) x[k] = sinf((float)k * 0.05f) * (float)(1 + k % 4);
  *t = (cl_codec_tensor){CL_DTYPE_F32, 300 * 4, 75, 4, 1};
  cl_codec c = codec_at(i);
  return encode_ok(&c, t, x);
}

Test(codec_refuse, every_truncation_and_trailing_bytes) {
  for (int i = 0; i < N_CODECS; i++) {
    cl_codec_tensor t;
    float x[300];
    cl_codec c = codec_at(i);
    enc e = small_block(i, &t, x);
    for (size_t len = 0; len < e.len; len++) {
      cl_error err = {0};
      cr_assert_eq(decode_guarded(&c, &t, e.buf, len, NULL, &err), CL_ERR_FORMAT,
                   "codec %d: %zu of %zu bytes accepted", i, len, e.len);
      expect_one_line(&err);
    }
    uint8_t *longer = malloc(e.len + 1);
    memcpy(longer, e.buf, e.len);
    longer[e.len] = 0;
    cl_error err = {0};
    cr_expect_eq(decode_guarded(&c, &t, longer, e.len + 1, NULL, &err), CL_ERR_FORMAT);
    cr_expect(strstr(err.msg, "trailing") != NULL, "%s", err.msg);
    free(longer);
    enc_free(&e);
  }
}

/* Any byte changed: refused, or decoded to something, never outside dst (guards, and ASan in the
 * sanitizer build). */
Test(codec_refuse, flipped_bytes) {
  const uint8_t flips[] = {0x01, 0x80, 0xff, 0x55};
  for (int i = 0; i < N_CODECS; i++) {
    cl_codec_tensor t;
    float x[300];
    cl_codec c = codec_at(i);
    enc e = small_block(i, &t, x);
    uint8_t *m = malloc(e.len);
    for (size_t pos = 0; pos < e.len; pos++)
      for (size_t f = 0; f < sizeof flips; f++) {
        memcpy(m, e.buf, e.len);
        m[pos] ^= flips[f];
        cl_error err = {0};
        cl_status s = decode_guarded(&c, &t, m, e.len, NULL, &err);
        cr_assert(s == CL_OK || s == CL_ERR_FORMAT, "status %d", s);
        if (s != CL_OK) expect_one_line(&err);
      }
    free(m);
    enc_free(&e);
  }
}

Test(codec_refuse, bad_quantisation_parameters) {
  const uint32_t bad[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                          0x00000001, 0x007fffff, 0xbf800000};
  for (int kind = 2; kind <= 3; kind++) {
    cl_codec_tensor t;
    float x[300];
    enc e = small_block(kind * 4, &t, x); /* no shuffle, LZ4 */
    cl_codec c = codec_at(kind * 4);
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
      memcpy(e.buf, &bad[b], 4); /* channel 0's scale */
      cl_error err = {0};
      cr_expect_eq(decode_guarded(&c, &t, e.buf, e.len, NULL, &err), CL_ERR_FORMAT,
                   "scale %08x accepted", bad[b]);
      cr_expect(strstr(err.msg, "scale") != NULL, "%s", err.msg);
    }
    enc_free(&e);
  }
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

Test(codec_refuse, inconsistent_block_headers) {
  size_t n = 1000;
  uint8_t src[1000];
  fill_bytes(src, n, 1);
  cl_codec_tensor t = flat(CL_DTYPE_U8, n);
  cl_codec c = {CL_CODEC_RAW, 0, 1};
  enc e = encode_ok(&c, &t, src);
  uint8_t *m = malloc(e.len + 2000);
  const uint32_t headers[] = {0, 1000, 1001, 0x7fffffff, 0xffffffff, 0x80000000 | 999,
                              0x80000000 | 1001, 0x80000000};
  for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
    memcpy(m, e.buf, e.len);
    put32(m, headers[h]);
    cl_error err = {0};
    cr_expect_eq(decode_guarded(&c, &t, m, e.len, NULL, &err), CL_ERR_FORMAT, "header %08x",
                 headers[h]);
    expect_one_line(&err);
  }
  /* a stored block that really is 1000 bytes long decodes */
  put32(m, 0x80000000u | 1000);
  memcpy(m + 4, src, n);
  uint8_t back[1000];
  cl_error err = {0};
  cr_expect_eq(decode_guarded(&c, &t, m, 1004, back, &err), CL_OK, "%s", err.msg);
  cr_expect(memcmp(back, src, n) == 0);
  /* LZ4 garbage of a plausible length */
  put32(m, 500);
  for (int k = 0; k < 500; k++) m[4 + k] = (uint8_t)rnd();
  err = (cl_error){0};
  cr_expect_eq(decode_guarded(&c, &t, m, 504, NULL, &err), CL_ERR_FORMAT);
  free(m);
  enc_free(&e);
}

Test(codec_refuse, bad_descriptions) {
  uint8_t buf[64] = {0}, dst[64], scratch[1024];
  size_t written;
  cl_codec used;
  struct { cl_codec c; cl_codec_tensor t; } cases[] = {
      {{CL_CODEC_RAW, 0, 0}, {CL_DTYPE_UNDEFINED, 4, 1, 1, 1}},
      {{CL_CODEC_RAW, 0, 0}, {CL_DTYPE_STRING, 4, 1, 1, 1}},
      {{CL_CODEC_RAW, 0, 0}, {CL_DTYPE_F32, 6, 1, 1, 1}},          /* not whole floats */
      {{CL_CODEC_RAW, 0, 0}, {CL_DTYPE_I64, 12, 1, 1, 1}},
      {{(cl_codec_kind)7, 0, 0}, {CL_DTYPE_F32, 4, 1, 1, 1}},      /* unknown kind */
      {{CL_CODEC_INT8_CHANNEL, 0, 0}, {CL_DTYPE_F32, 16, 1, 3, 1}}, /* 3 != 4 floats */
      {{CL_CODEC_INT8_CHANNEL, 0, 0}, {CL_DTYPE_F32, 16, (size_t)1 << 40, (size_t)1 << 40, 1}},
      {{CL_CODEC_INT8_CHANNEL, 0, 0}, {CL_DTYPE_F32, 0, 0, (size_t)1 << 40, 1}},
      {{CL_CODEC_RAW, 0, 0}, {CL_DTYPE_U8, CL_MAX_TENSOR_BYTES + 1, 1, 1, 1}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    cl_error err = {0};
    cr_expect_eq(cl_codec_decode(&cases[k].c, &cases[k].t, buf, sizeof buf, dst, scratch, &err),
                 CL_ERR_FORMAT, "case %zu decoded", k);
    expect_one_line(&err);
    err = (cl_error){0};
    if (cases[k].t.nbytes <= sizeof buf)
      cr_expect_eq(cl_codec_encode(&cases[k].c, &cases[k].t, buf, dst, sizeof dst, &written,
                                   scratch, &used, &err), CL_ERR_ARG, "case %zu encoded", k);
    cr_expect_eq(cl_codec_bound(&cases[k].c, &cases[k].t), 0);
  }
}

Test(codec_refuse, destination_too_small) {
  float x[100] = {0};
  cl_codec_tensor t = flat(CL_DTYPE_F32, sizeof x);
  for (int i = 0; i < N_CODECS; i++) {
    cl_codec c = codec_at(i), used;
    size_t bound = cl_codec_bound(&c, &t), written = 0;
    uint8_t *dst = malloc(bound), *scratch = malloc(cl_codec_scratch(&c, &t) + 1);
    cl_error err = {0};
    cr_expect_eq(cl_codec_encode(&c, &t, x, dst, bound - 1, &written, scratch, &used, &err),
                 CL_ERR_ARG);
    expect_one_line(&err);
    free(dst);
    free(scratch);
  }
}

/* Unaligned source, destination and scratch. */
Test(codec_misc, unaligned_buffers) {
  size_t n = 5000;
  uint8_t *mem = malloc(n * 4 + 8), *out = malloc(n * 4 + 64), *back = malloc(n * 4 + 8);
  float *ref = malloc(n * 4);
  for (size_t i = 0; i < n; i++) ref[i] = cl_codec_f16_to_f32((uint16_t)(rnd() & 0x7bff));
  memcpy(mem + 3, ref, n * 4);
  cl_codec_tensor t = flat(CL_DTYPE_F32, n * 4);
  for (int i = 0; i < 8; i++) {
    cl_codec c = codec_at(i), used;
    size_t sl = cl_codec_scratch(&c, &t), written;
    uint8_t *scratch = malloc(sl + 8);
    cl_error err = {0};
    cr_assert_eq(cl_codec_encode(&c, &t, mem + 3, out + 1, cl_codec_bound(&c, &t), &written,
                                 sl ? scratch + 5 : NULL, &used, &err), CL_OK, "%s", err.msg);
    cr_assert_eq(cl_codec_decode(&c, &t, out + 1, written, back + 7, sl ? scratch + 1 : NULL,
                                 &err), CL_OK, "%s", err.msg);
    cr_assert(memcmp(back + 7, ref, n * 4) == 0, "codec %d", i);
    free(scratch);
  }
  free(mem);
  free(out);
  free(back);
  free(ref);
}

/* The geometry both sides derive from the graph: channels are logical axis 1. */
Test(codec_geometry, plain_and_channels_last) {
  int64_t d[4] = {2, 3, 4, 5};
  cl_codec_tensor t;
  cl_codec_tensor_of(CL_DTYPE_F32, 4, d, 0, 2 * 3 * 4 * 5 * 4, &t);
  cr_assert(t.outer == 2 && t.channels == 3 && t.inner == 20);
  cl_codec_tensor_of(CL_DTYPE_F32, 4, d, 1, 2 * 3 * 4 * 5 * 4, &t);
  cr_assert(t.outer == 40 && t.channels == 3 && t.inner == 1);
  int64_t v[1] = {7};
  cl_codec_tensor_of(CL_DTYPE_F32, 1, v, 0, 28, &t);
  cr_assert(t.outer == 1 && t.channels == 1 && t.inner == 7);
}
