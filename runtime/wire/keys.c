/* cleave: key files on disk: generating them (O_EXCL, the secret at mode 0600), reading them with
 * size bounds and, for secret keys, permission checks. Parsing is in keys_parse.c. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/keys_internal.h"

/* === libsodium === */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_rc = -1;

static void sodium_start(void) { sodium_rc = sodium_init() < 0 ? -1 : 0; }

int cl_seal_init(void) {
  pthread_once(&sodium_once, sodium_start);
  return sodium_rc;
}

void cl_keys_wipe(cl_keypair *kp) {
  if (kp) sodium_memzero(kp, sizeof *kp);
}

/* === Reading === */

/* Opens path for reading without blocking on a FIFO and checks that it is a regular file. */
static cl_status open_regular(const char *path, int *fd, struct stat *st, cl_error *err) {
  *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (*fd < 0) return cl_error_set(err, CL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  cl_status s = CL_OK;
  if (fstat(*fd, st) != 0)
    s = cl_error_set(err, CL_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
  else if (!S_ISREG(st->st_mode))
    s = cl_error_set(err, CL_ERR_IO, "'%s' is not a regular file", path);
  if (s != CL_OK) {
    close(*fd);
    *fd = -1;
  }
  return s;
}

/* Reads the whole file behind fd into a malloc'd buffer, refusing more than max bytes (too_big
 * is the status then). The caller frees *buf (and wipes it first if it held a secret). */
static cl_status read_bounded(int fd, const char *path, const struct stat *st, size_t max,
                              cl_status too_big, uint8_t **buf, size_t *len, cl_error *err) {
  *buf = NULL;
  *len = 0;
  if ((uint64_t)st->st_size > max)
    return cl_error_set(err, too_big, "'%s' is larger than %zu bytes", path, max);
  size_t cap = (size_t)st->st_size + 1, got = 0;   /* one more byte sees a file that grew */
  uint8_t *b = malloc(cap);
  if (!b) return cl_error_set(err, CL_ERR_NOMEM, "out of memory reading '%s'", path);
  while (got < cap) {
    ssize_t r = read(fd, b + got, cap - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      free(b);
      return cl_error_set(err, CL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  if (got == cap) {
    sodium_memzero(b, cap);
    free(b);
    return cl_error_set(err, CL_ERR_IO, "'%s' changed while being read", path);
  }
  *buf = b;
  *len = got;
  return CL_OK;
}

/* The whole file: open, checks, bounded read. */
static cl_status slurp(const char *path, size_t max, cl_status too_big, uint8_t **buf, size_t *len,
                       cl_error *err) {
  int fd;
  struct stat st;
  cl_status s = open_regular(path, &fd, &st, err);
  if (s != CL_OK) return s;
  s = read_bounded(fd, path, &st, max, too_big, buf, len, err);
  close(fd);
  return s;
}

/* A secret key file must belong to this user (or root) and be closed to group and others. */
static cl_status check_private(const char *path, const struct stat *st, cl_error *err) {
  if (st->st_mode & 077)
    return cl_error_set(err, CL_ERR_AUTH,
                        "'%s' is accessible by group or others (mode %04o): run chmod 600 on it",
                        path, (unsigned)(st->st_mode & 07777));
  if (st->st_uid != geteuid() && st->st_uid != 0)
    return cl_error_set(err, CL_ERR_AUTH, "'%s' belongs to uid %u, not to this user", path,
                        (unsigned)st->st_uid);
  return CL_OK;
}

cl_status cl_keys_load_secret(const char *path, cl_keypair *out, cl_error *err) {
  assert(path != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  int fd;
  struct stat st;
  cl_status s = open_regular(path, &fd, &st, err);
  if (s != CL_OK) return s;
  uint8_t *buf = NULL;
  size_t len = 0;
  s = check_private(path, &st, err);
  if (s == CL_OK)
    s = read_bounded(fd, path, &st, CL_KEYS_SECRET_FILE_MAX, CL_ERR_FORMAT, &buf, &len, err);
  close(fd);
  if (s != CL_OK) return s;
  cl_error e = {0};
  s = cl_keys_parse_secret(buf, len, out, &e);
  sodium_memzero(buf, len);
  free(buf);
  if (s != CL_OK) return cl_error_set(err, s, "'%s': %s", path, e.msg);
  return CL_OK;
}

cl_status cl_keys_load_public(const char *path, uint8_t pk[CL_KEY_BYTES], cl_error *err) {
  assert(path != NULL && pk != NULL);
  memset(pk, 0, CL_KEY_BYTES);
  uint8_t *buf;
  size_t len;
  cl_status s = slurp(path, CL_KEYS_PUBLIC_FILE_MAX, CL_ERR_FORMAT, &buf, &len, err);
  if (s != CL_OK) return s;
  cl_error e = {0};
  s = cl_keys_parse_public(buf, len, pk, &e);
  free(buf);
  if (s != CL_OK) return cl_error_set(err, s, "'%s': %s", path, e.msg);
  return CL_OK;
}

cl_status cl_allowlist_load(const char *path, cl_allowlist **out, cl_error *err) {
  assert(path != NULL && out != NULL);
  *out = NULL;
  uint8_t *buf;
  size_t len;
  cl_status s = slurp(path, CL_KEYS_ALLOW_FILE_MAX, CL_ERR_LIMIT, &buf, &len, err);
  if (s != CL_OK) return s;
  cl_error e = {0};
  s = cl_allowlist_parse(buf, len, out, &e);
  free(buf);
  if (s != CL_OK) return cl_error_set(err, s, "'%s': %s", path, e.msg);
  return CL_OK;
}

/* === Writing === */

/* Writes all of text, then fsync. Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *text, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, text, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    text += w;
    n -= (size_t)w;
  }
  return fsync(fd);
}

/* Creates path (never an existing file, never through a symbolic link) with mode and writes text.
 * On failure nothing is left behind. */
static cl_status write_new(const char *path, mode_t mode, const char *text, size_t n, cl_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0 && errno == EEXIST)
    return cl_error_set(err, CL_ERR_IO, "'%s' already exists: not overwritten", path);
  if (fd < 0) return cl_error_set(err, CL_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
  /* The umask may only take bits away; a secret key file is exactly 0600 whatever it says. */
  int rc = (mode == 0600 ? fchmod(fd, mode) : 0) == 0 ? write_all(fd, text, n) : -1;
  int saved = errno;
  if (close(fd) != 0 && rc == 0) {
    rc = -1;
    saved = errno;
  }
  if (rc != 0) {
    unlink(path);
    return cl_error_set(err, CL_ERR_IO, "cannot write '%s': %s", path, strerror(saved));
  }
  return CL_OK;
}

/* PATH + suffix into out (PATH_MAX bytes). */
static cl_status with_suffix(const char *path, const char *suffix, char *out, cl_error *err) {
  int n = snprintf(out, PATH_MAX, "%s%s", path, suffix);
  if (n < 0 || n >= PATH_MAX) return cl_error_set(err, CL_ERR_ARG, "key path too long");
  return CL_OK;
}

/* The .key text: the secret line, then the public line. */
static size_t format_secret(const cl_keypair *kp, const char *comment, char *out, size_t cap) {
  char b64[CL_KEYS_B64_LEN + 1];
  sodium_bin2base64(b64, sizeof b64, kp->sk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  int n = snprintf(out, cap, "%s %s\n", CL_KEYS_SECRET_WORD, b64);
  sodium_memzero(b64, sizeof b64);
  assert(n > 0 && (size_t)n + CL_KEYS_LINE_MAX + 2 <= cap);
  return (size_t)n + cl_keys_format_public(kp->pk, comment, out + n);
}

static cl_status write_pair(const char *path, const cl_keypair *kp, const char *comment,
                            cl_error *err) {
  char key_path[PATH_MAX], pub_path[PATH_MAX];
  cl_status s = with_suffix(path, ".key", key_path, err);
  if (s == CL_OK) s = with_suffix(path, ".pub", pub_path, err);
  if (s != CL_OK) return s;
  char secret[2 * CL_KEYS_LINE_MAX + 4], pub[CL_KEYS_LINE_MAX + 2];
  size_t n = format_secret(kp, comment, secret, sizeof secret);
  size_t m = cl_keys_format_public(kp->pk, comment, pub);
  s = write_new(key_path, 0600, secret, n, err);
  sodium_memzero(secret, sizeof secret);
  if (s == CL_OK && (s = write_new(pub_path, 0644, pub, m, err)) != CL_OK) unlink(key_path);
  return s;
}

cl_status cl_keys_generate(const char *path, const char *comment, cl_error *err) {
  assert(path != NULL);
  if (cl_keys_check_comment(comment) != 0)
    return cl_error_set(err, CL_ERR_ARG, "a key comment is one line of at most %d bytes",
                        CL_KEYS_COMMENT_MAX);
  if (cl_seal_init() != 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to start");
  cl_keypair kp;
  randombytes_buf(kp.sk, sizeof kp.sk);
  crypto_scalarmult_base(kp.pk, kp.sk);
  cl_status s = write_pair(path, &kp, comment, err);
  cl_keys_wipe(&kp);
  return s;
}
