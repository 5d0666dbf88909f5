/* cleave-bench: a small JSON reader (json.h). Recursive descent with a depth bound. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_FILE ((size_t)256 << 20)

typedef struct parser {
  const char *s;
  size_t len, pos;
  cl_error *err;
} parser;

static cl_status fail(parser *p, const char *what) {
  return cl_error_set(p->err, CL_ERR_FORMAT, "json: %s at byte %zu", what, p->pos);
}

static void skip_ws(parser *p) {
  while (p->pos < p->len &&
         (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static int peek(parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int match_word(parser *p, const char *w) {
  size_t n = strlen(w);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return 0;
  p->pos += n;
  return 1;
}

static int hex4(parser *p, unsigned *out) {
  if (p->len - p->pos < 4) return 0;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos + i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  p->pos += 4;
  *out = v;
  return 1;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* At the opening quote. The decoded string is never longer than the encoded one (+1 for the NUL). */
static cl_status parse_string(parser *p, char **out) {
  p->pos++;
  size_t start = p->pos, end = start;
  while (end < p->len && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
  if (end >= p->len) return fail(p, "unterminated string");
  char *o = malloc(end - start + 1);
  if (!o) return cl_error_set(p->err, CL_ERR_NOMEM, "json: out of memory");
  size_t k = 0;
  while (p->pos < end) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c < 0x20) { free(o); return fail(p, "control character in string"); }
    if (c != '\\') { o[k++] = (char)c; p->pos++; continue; }
    p->pos++;
    char e = p->s[p->pos++];
    switch (e) {
      case '"': o[k++] = '"'; break;
      case '\\': o[k++] = '\\'; break;
      case '/': o[k++] = '/'; break;
      case 'b': o[k++] = '\b'; break;
      case 'f': o[k++] = '\f'; break;
      case 'n': o[k++] = '\n'; break;
      case 'r': o[k++] = '\r'; break;
      case 't': o[k++] = '\t'; break;
      case 'u': {
        unsigned cp;
        /* 6 encoded bytes give at most 3 (BMP) or, with a surrogate pair of 12, 4 decoded: fits. */
        if (!hex4(p, &cp) || p->pos > end) { free(o); return fail(p, "bad \\u escape"); }
        if (cp >= 0xD800 && cp < 0xDC00 && end - p->pos >= 6 && p->s[p->pos] == '\\' &&
            p->s[p->pos + 1] == 'u') {
          unsigned lo;
          p->pos += 2;
          if (!hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) { free(o); return fail(p, "bad surrogate"); }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        k += put_utf8(o + k, cp);
        break;
      }
      default: free(o); return fail(p, "bad escape");
    }
  }
  o[k] = '\0';
  p->pos = end + 1;
  *out = o;
  return CL_OK;
}

static int is_digit_at(const parser *p, size_t i) { return i < p->len && p->s[i] >= '0' && p->s[i] <= '9'; }

/* RFC 8259's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static cl_status parse_number(parser *p, double *out) {
  size_t start = p->pos, i = p->pos;
  if (i < p->len && p->s[i] == '-') i++;
  int ok = is_digit_at(p, i);
  if (ok && p->s[i] == '0') i++;
  else while (is_digit_at(p, i)) i++;
  if (ok && i < p->len && p->s[i] == '.') {
    ok = is_digit_at(p, ++i);
    while (is_digit_at(p, i)) i++;
  }
  if (ok && i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
    i++;
    if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
    ok = is_digit_at(p, i);
    while (is_digit_at(p, i)) i++;
  }
  if (!ok || i - start > 64 || is_digit_at(p, i)) return fail(p, "bad number");
  p->pos = i;
  char buf[72];
  memcpy(buf, p->s + start, p->pos - start);
  buf[p->pos - start] = '\0';
  char *end;
  errno = 0;
  *out = strtod(buf, &end);
  if (*end != '\0') { p->pos = start; return fail(p, "bad number"); }
  return CL_OK;
}

static void free_node(cl_json *j) {
  if (!j) return;
  free(j->string);
  for (int i = 0; i < j->n; i++) {
    free_node(&j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  memset(j, 0, sizeof *j);
}

static cl_status parse_value(parser *p, cl_json *v, int depth);

/* Appends a zeroed item (and key slot for objects); returns it or NULL. */
static cl_json *grow(cl_json *v, int *cap) {
  if (v->n == *cap) {
    int nc = *cap ? *cap * 2 : 4;
    cl_json *items = realloc(v->items, (size_t)nc * sizeof *items);
    if (!items) return NULL;
    v->items = items;
    if (v->type == CL_JSON_OBJECT) {
      char **keys = realloc(v->keys, (size_t)nc * sizeof *keys);
      if (!keys) return NULL;
      v->keys = keys;
    }
    *cap = nc;
  }
  memset(&v->items[v->n], 0, sizeof v->items[0]);
  if (v->keys) v->keys[v->n] = NULL;
  return &v->items[v->n];
}

static cl_status parse_container(parser *p, cl_json *v, int depth, int object) {
  char close = object ? '}' : ']';
  v->type = object ? CL_JSON_OBJECT : CL_JSON_ARRAY;
  p->pos++;
  int cap = 0;
  skip_ws(p);
  if (peek(p) == close) { p->pos++; return CL_OK; }
  for (;;) {
    skip_ws(p);
    cl_json *item = grow(v, &cap);
    if (!item) return cl_error_set(p->err, CL_ERR_NOMEM, "json: out of memory");
    char *key = NULL;
    if (object) {
      if (peek(p) != '"') return fail(p, "expected a key");
      cl_status st = parse_string(p, &key);
      if (st != CL_OK) return st;
      v->keys[v->n] = key;
      skip_ws(p);
      if (peek(p) != ':') { v->n++; return fail(p, "expected ':'"); }
      p->pos++;
    }
    v->n++;
    cl_status st = parse_value(p, item, depth + 1);
    if (st != CL_OK) return st;
    skip_ws(p);
    if (peek(p) == ',') { p->pos++; continue; }
    if (peek(p) == close) { p->pos++; return CL_OK; }
    return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static cl_status parse_value(parser *p, cl_json *v, int depth) {
  if (depth > JSON_MAX_DEPTH) return cl_error_set(p->err, CL_ERR_LIMIT, "json: nested too deep");
  skip_ws(p);
  int c = peek(p);
  if (c == '{' || c == '[') return parse_container(p, v, depth, c == '{');
  if (c == '"') { v->type = CL_JSON_STRING; return parse_string(p, &v->string); }
  if (c == '-' || (c >= '0' && c <= '9')) { v->type = CL_JSON_NUMBER; return parse_number(p, &v->number); }
  if (match_word(p, "true")) { v->type = CL_JSON_BOOL; v->number = 1; return CL_OK; }
  if (match_word(p, "false")) { v->type = CL_JSON_BOOL; v->number = 0; return CL_OK; }
  if (match_word(p, "null")) { v->type = CL_JSON_NULL; return CL_OK; }
  /* Non-standard but written by some encoders for non-finite values. */
  if (match_word(p, "NaN")) { v->type = CL_JSON_NUMBER; v->number = 0.0 / 0.0; return CL_OK; }
  if (match_word(p, "Infinity")) { v->type = CL_JSON_NUMBER; v->number = 1.0 / 0.0; return CL_OK; }
  return fail(p, c < 0 ? "unexpected end" : "unexpected character");
}

cl_status cl_json_parse(const char *text, size_t len, cl_json **out, cl_error *err) {
  *out = NULL;
  cl_json *root = calloc(1, sizeof *root);
  if (!root) return cl_error_set(err, CL_ERR_NOMEM, "json: out of memory");
  parser p = {text, len, 0, err};
  cl_status st = parse_value(&p, root, 0);
  if (st == CL_OK) {
    skip_ws(&p);
    if (p.pos != p.len) st = fail(&p, "trailing characters");
  }
  if (st != CL_OK) {
    free_node(root);
    free(root);
    return st;
  }
  *out = root;
  return CL_OK;
}

cl_status cl_json_load(const char *path, cl_json **out, cl_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  cl_status st = CL_OK;
  while (buf) {
    if (len == cap) {
      if (cap >= JSON_MAX_FILE) { st = cl_error_set(err, CL_ERR_LIMIT, "%s: larger than 256 MiB", path); break; }
      char *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); buf = NULL; break; }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) st = cl_error_set(err, CL_ERR_IO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (!buf) return cl_error_set(err, CL_ERR_NOMEM, "%s: out of memory", path);
  if (st == CL_OK) {
    cl_error e2 = {0};
    st = cl_json_parse(buf, len, out, &e2);
    if (st != CL_OK) cl_error_set(err, st, "%s: %s", path, e2.msg);
  }
  free(buf);
  return st;
}

void cl_json_free(cl_json **j) {
  if (!j || !*j) return;
  free_node(*j);
  free(*j);
  *j = NULL;
}

const cl_json *cl_json_get(const cl_json *j, const char *key) {
  if (!j || j->type != CL_JSON_OBJECT) return NULL;
  for (int i = 0; i < j->n; i++)
    if (strcmp(j->keys[i], key) == 0) return &j->items[i];
  return NULL;
}

const cl_json *cl_json_at(const cl_json *j, int i) {
  if (!j || j->type != CL_JSON_ARRAY || i < 0 || i >= j->n) return NULL;
  return &j->items[i];
}

double cl_json_num(const cl_json *j, const char *key, double dflt) {
  const cl_json *v = cl_json_get(j, key);
  return v && (v->type == CL_JSON_NUMBER || v->type == CL_JSON_BOOL) ? v->number : dflt;
}

const char *cl_json_str(const cl_json *j, const char *key, const char *dflt) {
  const cl_json *v = cl_json_get(j, key);
  return v && v->type == CL_JSON_STRING ? v->string : dflt;
}
