/* cleave: NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * The header is a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
 * parsed strictly here: exactly the three keys, each once, single or double quotes, a tuple of
 * non-negative integers, then only padding. Never evaluated, never longer than CL_NPY_MAX_HEADER. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "tensor/tensorfile_internal.h"

/* === Element types === */

typedef struct npy_type {
  const char *code;   /* without the byte-order character */
  cl_dtype dtype;
} npy_type;

static const npy_type npy_types[] = {
  {"f4", CL_DTYPE_F32}, {"f8", CL_DTYPE_F64}, {"f2", CL_DTYPE_F16},
  {"i1", CL_DTYPE_I8},  {"i2", CL_DTYPE_I16}, {"i4", CL_DTYPE_I32}, {"i8", CL_DTYPE_I64},
  {"u1", CL_DTYPE_U8},  {"u2", CL_DTYPE_U16}, {"u4", CL_DTYPE_U32}, {"u8", CL_DTYPE_U64},
  {"b1", CL_DTYPE_BOOL},
};

static cl_status npy_dtype(const char *descr, cl_dtype *out, cl_error *err) {
  char order = descr[0];
  for (size_t i = 0; order && i < sizeof npy_types / sizeof npy_types[0]; i++) {
    if (strcmp(descr + 1, npy_types[i].code) != 0) continue;
    size_t es = cl_dtype_size(npy_types[i].dtype);
    if (order == '>' && es > 1)
      return cl_error_set(err, CL_ERR_UNSUPPORTED, ".npy: big-endian data ('%s') is not supported",
                          descr);
    if (order != '<' && !((order == '|' || order == '>') && es == 1)) break;
    *out = npy_types[i].dtype;
    return CL_OK;
  }
  return cl_error_set(err, CL_ERR_UNSUPPORTED, ".npy: element type '%s' is not supported", descr);
}

/* === Header parsing === */

typedef struct cursor {
  const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static int eat(cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* A quoted string of at most cap-1 bytes of printable ASCII. */
static int quoted(cursor *c, char *out, size_t cap) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p < 0x20 || *c->p > 0x7e || *c->p == '\\' || n + 1 >= cap) return 0;
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return 0;
  c->p++;
  out[n] = '\0';
  return 1;
}

static int word(cursor *c, const char *w) {
  size_t n = strlen(w);
  skip_ws(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
  c->p += n;
  return 1;
}

/* A non-negative decimal of at most 18 digits (an 'L' suffix, as Python 2 wrote it, is allowed). */
static int number(cursor *c, int64_t *v) {
  skip_ws(c);
  int digits = 0;
  *v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    if (++digits > 18) return 0;
    *v = *v * 10 + (*c->p++ - '0');
  }
  if (digits && c->p < c->end && *c->p == 'L') c->p++;
  return digits > 0;
}

/* "()", "(5,)", "(2, 3)", "(2, 3,)": a one-element tuple needs its comma. */
static cl_status shape(cursor *c, int *rank, int64_t *dims, cl_error *err) {
  if (!eat(c, '(')) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: 'shape' is not a tuple");
  int n = 0, comma = 0;
  while (!eat(c, ')')) {
    int64_t v;
    if (n > 0 && !comma) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: bad 'shape' tuple");
    if (!number(c, &v)) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: bad 'shape' tuple");
    if (n >= CL_MAX_RANK)
      return cl_error_set(err, CL_ERR_LIMIT, ".npy header: rank above %d", CL_MAX_RANK);
    dims[n++] = v;
    comma = eat(c, ',');
  }
  if (n == 1 && !comma) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: 'shape' is not a tuple");
  *rank = n;
  return CL_OK;
}

typedef struct npy_header {
  cl_dtype dtype;
  int fortran;
  int rank;
  int64_t dims[CL_MAX_RANK];
} npy_header;

static cl_status header_item(cursor *c, npy_header *h, unsigned *seen, cl_error *err) {
  char key[32], descr[32];
  if (!quoted(c, key, sizeof key) || !eat(c, ':'))
    return cl_error_set(err, CL_ERR_FORMAT, ".npy header: expected a quoted key and ':'");
  unsigned bit = !strcmp(key, "descr")           ? 1u
                 : !strcmp(key, "fortran_order") ? 2u
                 : !strcmp(key, "shape")         ? 4u
                                                 : 0u;
  if (bit == 0) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: unknown key '%s'", key);
  if (*seen & bit) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: key '%s' given twice", key);
  *seen |= bit;
  if (bit == 1) {
    if (!quoted(c, descr, sizeof descr))
      return cl_error_set(err, CL_ERR_FORMAT, ".npy header: bad 'descr'");
    return npy_dtype(descr, &h->dtype, err);
  }
  if (bit == 2) {
    if (word(c, "True")) h->fortran = 1;
    else if (word(c, "False")) h->fortran = 0;
    else return cl_error_set(err, CL_ERR_FORMAT, ".npy header: 'fortran_order' is not True or False");
    return CL_OK;
  }
  return shape(c, &h->rank, h->dims, err);
}

static cl_status parse_header(const char *p, size_t n, npy_header *h, cl_error *err) {
  cursor c = {p, p + n};
  unsigned seen = 0;
  memset(h, 0, sizeof *h);
  if (!eat(&c, '{')) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: not a dict");
  while (!eat(&c, '}')) {
    cl_status s = header_item(&c, h, &seen, err);
    if (s != CL_OK) return s;
    if (!eat(&c, ',')) {
      if (eat(&c, '}')) break;
      return cl_error_set(err, CL_ERR_FORMAT, ".npy header: expected ',' or '}'");
    }
  }
  if (seen != 7)
    return cl_error_set(err, CL_ERR_FORMAT, ".npy header: 'descr', 'fortran_order' or 'shape' missing");
  while (c.p < c.end && (*c.p == ' ' || *c.p == '\t' || *c.p == '\n' || *c.p == '\r')) c.p++;
  if (c.p != c.end) return cl_error_set(err, CL_ERR_FORMAT, ".npy header: bytes after the dict");
  if (h->fortran)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, ".npy: fortran_order True is not supported");
  return CL_OK;
}

/* === Reading === */

static uint32_t le32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Locates the header: *hdr and *hlen, and where the data starts. */
static cl_status preamble(const uint8_t *buf, size_t len, size_t *hoff, size_t *hlen, cl_error *err) {
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
    return cl_error_set(err, CL_ERR_FORMAT, "not a .npy file (bad magic)");
  int major = buf[6], minor = buf[7];
  if (minor != 0 || major < 1 || major > 3)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, ".npy format version %d.%d is not supported", major,
                        minor);
  if (major == 1) {
    *hoff = 10;
    *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  } else {
    if (len < 12) return cl_error_set(err, CL_ERR_FORMAT, ".npy file is truncated");
    *hoff = 12;
    *hlen = le32(buf + 8);
  }
  if (*hlen > CL_NPY_MAX_HEADER)
    return cl_error_set(err, CL_ERR_LIMIT, ".npy header of %zu bytes (max %d)", *hlen,
                        CL_NPY_MAX_HEADER);
  if (*hlen > len - *hoff)
    return cl_error_set(err, CL_ERR_FORMAT, ".npy file is truncated in its header");
  return CL_OK;
}

cl_status cl_tensorfile_parse_npy(const uint8_t *buf, size_t len, cl_tensor *out, cl_error *err) {
  assert(out != NULL && (buf != NULL || len == 0));
  memset(out, 0, sizeof *out);
  size_t hoff = 0, hlen = 0, numel = 0;
  npy_header h;
  cl_status s = preamble(buf, len, &hoff, &hlen, err);
  if (s == CL_OK) s = parse_header((const char *)buf + hoff, hlen, &h, err);
  if (s == CL_OK) s = cl_shape_numel(h.rank, h.dims, cl_dtype_size(h.dtype), &numel, err);
  if (s != CL_OK) return s;
  size_t nbytes = numel * cl_dtype_size(h.dtype), have = len - hoff - hlen;
  if (have != nbytes)
    return cl_error_set(err, CL_ERR_FORMAT, ".npy data has %zu bytes, its header says %zu", have,
                        nbytes);
  const uint8_t *data = buf + hoff + hlen;
  for (size_t i = 0; h.dtype == CL_DTYPE_BOOL && i < nbytes; i++)
    if (data[i] > 1)
      return cl_error_set(err, CL_ERR_FORMAT, ".npy bool value %u is neither 0 nor 1", data[i]);
  s = cl_tensor_alloc(out, NULL, h.dtype, h.rank, h.dims, err);
  if (s != CL_OK) return s;
  if (nbytes > 0) memcpy(out->data, data, nbytes);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  size_t es = cl_dtype_size(h.dtype);   /* .npy data read here is little-endian */
  uint8_t *d = out->data;
  for (size_t i = 0; es > 1 && i < nbytes; i += es)
    for (size_t a = 0, b = es - 1; a < b; a++, b--) {
      uint8_t t = d[i + a];
      d[i + a] = d[i + b];
      d[i + b] = t;
    }
#endif
  return CL_OK;
}

/* === Writing (format 1.0) === */

static const char *npy_descr(cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: return "<f4";
  case CL_DTYPE_F64: return "<f8";
  case CL_DTYPE_F16: return "<f2";
  case CL_DTYPE_I8: return "|i1";
  case CL_DTYPE_I16: return "<i2";
  case CL_DTYPE_I32: return "<i4";
  case CL_DTYPE_I64: return "<i8";
  case CL_DTYPE_U8: return "|u1";
  case CL_DTYPE_U16: return "<u2";
  case CL_DTYPE_U32: return "<u4";
  case CL_DTYPE_U64: return "<u8";
  case CL_DTYPE_BOOL: return "|b1";
  default: return NULL;
  }
}

cl_status cl_tensorfile_npy_write(FILE *f, const cl_tensor *t, cl_error *err) {
  const char *descr = npy_descr(t->dtype);
  if (!descr)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "type %s has no .npy equivalent",
                        cl_dtype_name(t->dtype));
  char hdr[512], sh[256];
  size_t n = 0;
  sh[0] = '\0';
  for (int i = 0; i < t->rank; i++)
    n += (size_t)snprintf(sh + n, sizeof sh - n, "%lld%s", (long long)t->dims[i],
                          t->rank == 1 ? "," : i + 1 < t->rank ? ", " : "");
  int len = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr, sh);
  size_t hl = (size_t)len;
  size_t total = (10 + hl + 1 + 63) / 64 * 64;   /* preamble + header + '\n', padded to 64 */
  memset(hdr + hl, ' ', total - 10 - hl - 1);
  hl = total - 10;
  hdr[hl - 1] = '\n';
  uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hl & 0xff), (uint8_t)(hl >> 8)};
  if (fwrite(pre, 1, sizeof pre, f) != sizeof pre || fwrite(hdr, 1, hl, f) != hl ||
      cl_tensorfile_write_le(f, t->data, t->nbytes, cl_dtype_size(t->dtype)) != 0)
    return cl_error_set(err, CL_ERR_IO, "write failed");
  return CL_OK;
}
