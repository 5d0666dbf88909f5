/* cleave: key-file text: the line grammar, the three parsers (.pub, .key, allow-list) on memory
 * buffers, and the allow-list itself (a sorted array of keys). The grammar is in docs/SECURITY.md. */
#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/keys_internal.h"

struct cl_allowlist {
  size_t n;                        /* distinct keys */
  uint8_t (*keys)[CL_KEY_BYTES];   /* sorted by memcmp, owned */
};

/* === Lines === */

typedef struct line_reader {
  const uint8_t *buf; /* the whole text (borrowed) */
  size_t len, pos;    /* its length; the start of the next line */
  int no;             /* number of the line last returned, from 1 */
} line_reader;

/* Returns 1 with the next line (its "\n" or "\r\n" end cut off), 0 at the end of the text. */
static int next_line(line_reader *r, const uint8_t **line, size_t *n) {
  if (r->pos >= r->len) return 0;
  const uint8_t *start = r->buf + r->pos;
  size_t rest = r->len - r->pos;
  const uint8_t *nl = memchr(start, '\n', rest);
  size_t k = nl ? (size_t)(nl - start) : rest;
  r->pos += nl ? k + 1 : k;
  if (k > 0 && start[k - 1] == '\r') k--;
  r->no++;
  *line = start;
  *n = k;
  return 1;
}

static int is_space(uint8_t c) { return c == ' ' || c == '\t'; }

static size_t skip_space(const uint8_t *p, size_t n, size_t i) {
  while (i < n && is_space(p[i])) i++;
  return i;
}

static size_t skip_word(const uint8_t *p, size_t n, size_t i) {
  while (i < n && !is_space(p[i])) i++;
  return i;
}

static int has_control(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) return 1;
  return 0;
}

static int word_is(const uint8_t *p, size_t n, const char *word) {
  return n == strlen(word) && memcmp(p, word, n) == 0;
}

/* Decodes exactly 44 characters of canonical base64 (original variant, padded) into 32 bytes.
 * Returns 0, or -1 with out's contents unspecified. */
static int decode_key(const uint8_t *tok, size_t n, uint8_t out[CL_KEY_BYTES]) {
  if (n != CL_KEYS_B64_LEN) return -1;
  size_t bin_len = 0;
  const char *end = NULL;
  if (sodium_base642bin(out, CL_KEY_BYTES, (const char *)tok, n, NULL, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin_len != CL_KEY_BYTES || end != (const char *)tok + n)
    return -1;
  char again[CL_KEYS_B64_LEN + 1];   /* canonical: the same text comes back */
  sodium_bin2base64(again, sizeof again, out, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  int same = memcmp(again, tok, n) == 0;
  sodium_memzero(again, sizeof again);
  return same ? 0 : -1;
}

typedef enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_KEY } line_kind;

/* Parses one line of a .pub file or allow-list. Returns NULL (with *kind, and pk for a key line)
 * or the reason the line is malformed. */
static const char *parse_public_line(const uint8_t *p, size_t n, line_kind *kind,
                                     uint8_t pk[CL_KEY_BYTES]) {
  if (n > CL_KEYS_LINE_MAX) return "longer than 1024 bytes";
  if (has_control(p, n)) return "control character in the line";
  size_t i = skip_space(p, n, 0);
  *kind = i == n ? LINE_BLANK : p[i] == '#' ? LINE_COMMENT : LINE_KEY;
  if (*kind != LINE_KEY) return NULL;
  size_t w = skip_word(p, n, i);
  if (word_is(p + i, w - i, CL_KEYS_SECRET_WORD))
    return "a secret key line (secret keys never belong in a public key file)";
  if (!word_is(p + i, w - i, CL_KEYS_PUBLIC_WORD))
    return "unknown key type (expected 'cleave-x25519 <base64 key> [comment]')";
  size_t k = skip_space(p, n, w);
  if (k == w || k == n) return "missing key after 'cleave-x25519'";
  size_t e = skip_word(p, n, k);
  if (e - k != CL_KEYS_B64_LEN) return "the key is not 44 base64 characters (32 bytes)";
  if (decode_key(p + k, e - k, pk) != 0) return "the key is not valid base64";
  return NULL;   /* after a space, the rest of the line is a free comment */
}

/* The secret line: the word, spaces, 44 base64 characters, nothing but spaces after. */
static const char *parse_secret_line(const uint8_t *p, size_t n, uint8_t sk[CL_KEY_BYTES]) {
  if (n > CL_KEYS_LINE_MAX) return "longer than 1024 bytes";
  if (has_control(p, n)) return "control character in the line";
  size_t w = skip_word(p, n, 0);
  if (!word_is(p, w, CL_KEYS_SECRET_WORD))
    return "expected 'cleave-x25519-secret <base64 key>' (is this a secret key file?)";
  size_t k = skip_space(p, n, w);
  size_t e = skip_word(p, n, k);
  if (k == w || e - k != CL_KEYS_B64_LEN) return "the key is not 44 base64 characters (32 bytes)";
  if (skip_space(p, n, e) != n) return "unexpected text after the key";
  if (decode_key(p + k, e - k, sk) != 0) return "the key is not valid base64";
  return NULL;
}

/* === Formatting === */

int cl_keys_check_comment(const char *comment) {
  if (comment == NULL) return 0;
  size_t n = strlen(comment);
  return n <= CL_KEYS_COMMENT_MAX && !has_control((const uint8_t *)comment, n) ? 0 : -1;
}

size_t cl_keys_format_public(const uint8_t pk[CL_KEY_BYTES], const char *comment, char *out) {
  assert(pk != NULL && out != NULL && cl_keys_check_comment(comment) == 0);
  char b64[CL_KEYS_B64_LEN + 1];
  sodium_bin2base64(b64, sizeof b64, pk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  int n = snprintf(out, CL_KEYS_LINE_MAX + 2, "%s %s%s%s\n", CL_KEYS_PUBLIC_WORD, b64,
                   comment && *comment ? " " : "", comment ? comment : "");
  assert(n > 0 && n <= CL_KEYS_LINE_MAX + 1);
  return (size_t)n;
}

/* === .pub and .key files === */

cl_status cl_keys_parse_public(const uint8_t *buf, size_t len, uint8_t pk[CL_KEY_BYTES],
                               cl_error *err) {
  assert((buf != NULL || len == 0) && pk != NULL);
  line_reader r = {.buf = buf, .len = len};
  const uint8_t *line;
  size_t n;
  while (next_line(&r, &line, &n)) {
    line_kind kind;
    const char *why = parse_public_line(line, n, &kind, pk);
    if (!why && kind == LINE_KEY) return CL_OK;
    if (why) {
      memset(pk, 0, CL_KEY_BYTES);
      return cl_error_set(err, CL_ERR_FORMAT, "line %d: %s", r.no, why);
    }
  }
  memset(pk, 0, CL_KEY_BYTES);
  return cl_error_set(err, CL_ERR_FORMAT, "no 'cleave-x25519' key line");
}

static cl_status secret_lines(line_reader *r, cl_keypair *kp, cl_error *err) {
  const uint8_t *line;
  size_t n;
  if (!next_line(r, &line, &n)) return cl_error_set(err, CL_ERR_FORMAT, "empty key file");
  const char *why = parse_secret_line(line, n, kp->sk);
  if (why) return cl_error_set(err, CL_ERR_FORMAT, "line 1: %s", why);
  line_kind kind = LINE_BLANK;
  if (!next_line(r, &line, &n))
    return cl_error_set(err, CL_ERR_FORMAT, "line 2: missing the public key line");
  why = parse_public_line(line, n, &kind, kp->pk);
  if (!why && kind != LINE_KEY) why = "expected the public key line 'cleave-x25519 <base64 key>'";
  if (why) return cl_error_set(err, CL_ERR_FORMAT, "line 2: %s", why);
  if (next_line(r, &line, &n))
    return cl_error_set(err, CL_ERR_FORMAT, "line %d: a key file has exactly two lines", r->no);
  uint8_t derived[CL_KEY_BYTES];
  crypto_scalarmult_base(derived, kp->sk);
  int match = sodium_memcmp(derived, kp->pk, CL_KEY_BYTES) == 0;
  sodium_memzero(derived, sizeof derived);
  if (!match) return cl_error_set(err, CL_ERR_FORMAT, "line 2: the public key is not the secret's");
  return CL_OK;
}

cl_status cl_keys_parse_secret(const uint8_t *buf, size_t len, cl_keypair *out, cl_error *err) {
  assert((buf != NULL || len == 0) && out != NULL);
  line_reader r = {.buf = buf, .len = len};
  cl_status s = secret_lines(&r, out, err);
  if (s != CL_OK) cl_keys_wipe(out);
  return s;
}

/* === Allow-list === */

static int cmp_key(const void *a, const void *b) { return memcmp(a, b, CL_KEY_BYTES); }

/* Appends pk to a (growing by doubling). Returns 0 or -1 (out of memory). */
static int push_key(cl_allowlist *a, size_t *cap, const uint8_t pk[CL_KEY_BYTES]) {
  if (a->n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    void *k = realloc(a->keys, c * CL_KEY_BYTES);
    if (!k) return -1;
    a->keys = k;
    *cap = c;
  }
  memcpy(a->keys[a->n++], pk, CL_KEY_BYTES);
  return 0;
}

static cl_status allow_lines(cl_allowlist *a, const uint8_t *buf, size_t len, cl_error *err) {
  line_reader r = {.buf = buf, .len = len};
  const uint8_t *line;
  size_t n, cap = 0;
  while (next_line(&r, &line, &n)) {
    line_kind kind;
    uint8_t pk[CL_KEY_BYTES];
    const char *why = parse_public_line(line, n, &kind, pk);
    if (why) return cl_error_set(err, CL_ERR_FORMAT, "line %d: %s", r.no, why);
    if (kind != LINE_KEY) continue;
    if (a->n == CL_KEYS_ALLOW_MAX)
      return cl_error_set(err, CL_ERR_LIMIT, "line %d: more than %d keys", r.no, CL_KEYS_ALLOW_MAX);
    if (push_key(a, &cap, pk) != 0)
      return cl_error_set(err, CL_ERR_NOMEM, "out of memory at line %d", r.no);
  }
  return CL_OK;
}

/* Sorts the keys and drops duplicates. */
static void sort_unique(cl_allowlist *a) {
  if (a->n == 0) return;
  qsort(a->keys, a->n, CL_KEY_BYTES, cmp_key);
  size_t w = 1;
  for (size_t i = 1; i < a->n; i++)
    if (memcmp(a->keys[i], a->keys[w - 1], CL_KEY_BYTES) != 0)
      memmove(a->keys[w++], a->keys[i], CL_KEY_BYTES);
  a->n = w;
}

cl_status cl_allowlist_parse(const uint8_t *buf, size_t len, cl_allowlist **out, cl_error *err) {
  assert((buf != NULL || len == 0) && out != NULL);
  *out = NULL;
  cl_allowlist *a = calloc(1, sizeof *a);
  if (!a) return cl_error_set(err, CL_ERR_NOMEM, "out of memory for the allow-list");
  cl_status s = allow_lines(a, buf, len, err);
  if (s != CL_OK) {
    cl_allowlist_free(&a);
    return s;
  }
  sort_unique(a);
  *out = a;
  return CL_OK;
}

int cl_allowlist_contains(const cl_allowlist *a, const uint8_t pk[CL_KEY_BYTES]) {
  assert(a != NULL && pk != NULL);
  return a->n > 0 && bsearch(pk, a->keys, a->n, CL_KEY_BYTES, cmp_key) != NULL;
}

int cl_allowlist_count(const cl_allowlist *a) {
  assert(a != NULL);
  return (int)a->n;
}

void cl_allowlist_free(cl_allowlist **a) {
  if (!a || !*a) return;
  free((*a)->keys);
  free(*a);
  *a = NULL;
}
