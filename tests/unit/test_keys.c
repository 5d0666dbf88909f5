/* cleave tests: key files and allow-lists (runtime/wire/keys.c, keys_parse.c) and the cleave-keygen
 * binary. The binary is found through $CLEAVE_KEYGEN, else next to this test: ../bin/cleave-keygen. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleave/seal.h"
#include "wire/keys_internal.h"

/* === Helpers === */

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/cleave-keys-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  umask(022);
}

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_expect_eq(system(cmd), 0);
}

static const char *tmp_path(const char *name) {
  static char path[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
  return path[k];
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  cr_assert(fd >= 0, "cannot create %s", path);
  cr_assert_eq(write(fd, data, n), (ssize_t)n);
  cr_assert_eq(fchmod(fd, mode), 0);
  close(fd);
}

static void write_text(const char *path, const char *text, mode_t mode) {
  write_file(path, text, strlen(text), mode);
}

static mode_t mode_of(const char *path) {
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "%s missing", path);
  return st.st_mode & 07777;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* A valid public key line for a fresh random key (pk_out may be NULL). */
static const char *pub_line(uint8_t *pk_out, const char *comment) {
  static char line[CL_KEYS_LINE_MAX + 2];
  uint8_t pk[CL_KEY_BYTES], sk[CL_KEY_BYTES];
  cr_assert_eq(cl_seal_init(), 0);
  crypto_kx_keypair(pk, sk);
  cl_keys_format_public(pk, comment, line);
  if (pk_out) memcpy(pk_out, pk, CL_KEY_BYTES);
  return line;
}

static cl_status parse_pub(const char *text, uint8_t pk[CL_KEY_BYTES], cl_error *err) {
  return cl_keys_parse_public((const uint8_t *)text, strlen(text), pk, err);
}

static cl_status parse_allow(const char *text, cl_allowlist **a, cl_error *err) {
  return cl_allowlist_parse((const uint8_t *)text, strlen(text), a, err);
}

static cl_status parse_secret(const char *text, cl_keypair *kp, cl_error *err) {
  return cl_keys_parse_secret((const uint8_t *)text, strlen(text), kp, err);
}

/* === Generating and loading === */

TestSuite(keyfiles, .init = make_tmpdir, .fini = remove_tmpdir);

Test(keyfiles, generate_then_load) {
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("dev"), "my device", &err), CL_OK, "%s", err.msg);
  cr_assert_eq(mode_of(tmp_path("dev.key")), 0600);
  cr_assert_eq(mode_of(tmp_path("dev.pub")), 0644);
  cl_keypair kp;
  uint8_t pk[CL_KEY_BYTES], derived[CL_KEY_BYTES];
  cr_assert_eq(cl_keys_load_secret(tmp_path("dev.key"), &kp, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_keys_load_public(tmp_path("dev.pub"), pk, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(kp.pk, pk, CL_KEY_BYTES), 0);
  crypto_scalarmult_base(derived, kp.sk);
  cr_assert_eq(memcmp(derived, pk, CL_KEY_BYTES), 0);
  /* The .pub file is one line: the word, the base64 key, the comment. */
  FILE *f = fopen(tmp_path("dev.pub"), "r");
  char line[256], b64[CL_KEYS_B64_LEN + 1];
  cr_assert(fgets(line, sizeof line, f) != NULL);
  cr_assert_eq(fgetc(f), EOF);
  fclose(f);
  sodium_bin2base64(b64, sizeof b64, pk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  char expect[256];
  snprintf(expect, sizeof expect, "cleave-x25519 %s my device\n", b64);
  cr_assert_str_eq(line, expect);
  /* The allow-list grammar reads it too. */
  cl_allowlist *a = NULL;
  cr_assert_eq(cl_allowlist_load(tmp_path("dev.pub"), &a, &err), CL_OK, "%s", err.msg);
  cr_assert(cl_allowlist_contains(a, pk));
  cl_allowlist_free(&a);
  cl_keys_wipe(&kp);
  cr_assert_eq(kp.sk[0] | kp.sk[31] | kp.pk[0], 0);
}

Test(keyfiles, secret_key_is_0600_whatever_the_umask) {
  umask(0);
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("k"), NULL, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(mode_of(tmp_path("k.key")), 0600);
  umask(0277);   /* would give 0400 */
  cr_assert_eq(cl_keys_generate(tmp_path("k2"), NULL, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(mode_of(tmp_path("k2.key")), 0600);
  umask(022);
}

Test(keyfiles, two_generations_differ_and_nothing_is_overwritten) {
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("a"), NULL, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_keys_generate(tmp_path("b"), NULL, &err), CL_OK, "%s", err.msg);
  uint8_t a[CL_KEY_BYTES], b[CL_KEY_BYTES], again[CL_KEY_BYTES];
  cr_assert_eq(cl_keys_load_public(tmp_path("a.pub"), a, &err), CL_OK);
  cr_assert_eq(cl_keys_load_public(tmp_path("b.pub"), b, &err), CL_OK);
  cr_assert_neq(memcmp(a, b, CL_KEY_BYTES), 0);
  cr_assert_eq(cl_keys_generate(tmp_path("a"), NULL, &err), CL_ERR_IO);
  cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
  cr_assert_eq(cl_keys_load_public(tmp_path("a.pub"), again, NULL), CL_OK);
  cr_assert_eq(memcmp(a, again, CL_KEY_BYTES), 0);
  /* Only the .pub exists: refused, and no .key is left behind. */
  write_text(tmp_path("c.pub"), "whatever\n", 0644);
  cl_error_clear(&err);
  cr_assert_eq(cl_keys_generate(tmp_path("c"), NULL, &err), CL_ERR_IO);
  cr_assert(strstr(err.msg, "c.pub' already exists"), "%s", err.msg);
  cr_assert(!exists(tmp_path("c.key")));
}

Test(keyfiles, a_symbolic_link_is_not_followed_when_writing) {
  cr_assert_eq(symlink(tmp_path("elsewhere"), tmp_path("l.key")), 0);
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("l"), NULL, &err), CL_ERR_IO);
  cr_assert(!exists(tmp_path("elsewhere")));
}

Test(keyfiles, bad_comments_are_bad_arguments) {
  char long_comment[CL_KEYS_COMMENT_MAX + 2];
  memset(long_comment, 'x', sizeof long_comment - 1);
  long_comment[sizeof long_comment - 1] = '\0';
  const char *bad[] = {"two\nlines", "carriage\rreturn", long_comment};
  for (int i = 0; i < 3; i++) {
    cl_error err = {0};
    cr_assert_eq(cl_keys_generate(tmp_path("x"), bad[i], &err), CL_ERR_ARG);
    cr_assert(!exists(tmp_path("x.key")) && !exists(tmp_path("x.pub")));
  }
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("y"), "tab\tand UTF-8 \xc3\xa9", &err), CL_OK, "%s", err.msg);
}

Test(keyfiles, secret_key_readable_by_others_is_refused) {
  cl_error err = {0};
  cr_assert_eq(cl_keys_generate(tmp_path("dev"), NULL, &err), CL_OK, "%s", err.msg);
  static const mode_t bad[] = {0644, 0640, 0604, 0660, 0601, 0610};
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(chmod(tmp_path("dev.key"), bad[i]), 0);
    cl_keypair kp;
    cl_error e = {0};
    cr_assert_eq(cl_keys_load_secret(tmp_path("dev.key"), &kp, &e), CL_ERR_AUTH, "mode %o", bad[i]);
    cr_assert(strstr(e.msg, "chmod 600"), "%s", e.msg);
    cr_assert_eq(kp.sk[0] | kp.sk[1] | kp.sk[31], 0);
  }
  cr_assert_eq(chmod(tmp_path("dev.key"), 0400), 0);
  cl_keypair kp;
  cr_assert_eq(cl_keys_load_secret(tmp_path("dev.key"), &kp, &err), CL_OK, "%s", err.msg);
}

Test(keyfiles, missing_files_directories_and_fifos) {
  cl_error err = {0};
  uint8_t pk[CL_KEY_BYTES];
  cl_keypair kp;
  cl_allowlist *a = NULL;
  cr_assert_eq(cl_keys_load_public(tmp_path("none.pub"), pk, &err), CL_ERR_IO);
  cr_assert(strstr(err.msg, "none.pub"), "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(cl_keys_load_secret(tmpdir, &kp, &err), CL_ERR_IO);
  cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
  cr_assert_eq(mkfifo(tmp_path("fifo"), 0600), 0);
  cl_error_clear(&err);
  cr_assert_eq(cl_allowlist_load(tmp_path("fifo"), &a, &err), CL_ERR_IO);   /* and no hang */
  cr_assert_null(a);
}

Test(keyfiles, huge_files_are_refused_before_reading) {
  cl_error err = {0};
  int fd = open(tmp_path("huge"), O_WRONLY | O_CREAT, 0600);
  cr_assert(fd >= 0);
  cr_assert_eq(ftruncate(fd, (off_t)CL_KEYS_ALLOW_FILE_MAX + 1), 0);   /* sparse */
  close(fd);
  uint8_t pk[CL_KEY_BYTES];
  cl_keypair kp;
  cl_allowlist *a = NULL;
  cr_assert_eq(cl_keys_load_public(tmp_path("huge"), pk, &err), CL_ERR_FORMAT);
  cr_assert(strstr(err.msg, "larger than"), "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(cl_keys_load_secret(tmp_path("huge"), &kp, &err), CL_ERR_FORMAT);
  cl_error_clear(&err);
  cr_assert_eq(cl_allowlist_load(tmp_path("huge"), &a, &err), CL_ERR_LIMIT);
  cr_assert(strstr(err.msg, "larger than 16777216 bytes"), "%s", err.msg);
}

Test(keyfiles, file_errors_name_the_file_and_line) {
  char text[512];
  snprintf(text, sizeof text, "# devices\n\n%scleave-x25519 AAAA\n", pub_line(NULL, "a"));
  write_text(tmp_path("devices.pub"), text, 0644);
  cl_allowlist *a = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_allowlist_load(tmp_path("devices.pub"), &a, &err), CL_ERR_FORMAT);
  cr_assert(strstr(err.msg, "devices.pub': line 4: "), "%s", err.msg);
  cr_assert_null(a);
}

/* === Parsing (memory buffers) === */

TestSuite(keyparse);

Test(keyparse, public_files_with_comments_blank_lines_and_crlf) {
  uint8_t pk[CL_KEY_BYTES], got[CL_KEY_BYTES];
  char text[1024];
  const char *line = pub_line(pk, "laptop");
  snprintf(text, sizeof text, "# pinned worker\r\n\r\n   \t\n%.*s\r\n", (int)strlen(line) - 1, line);
  cl_error err = {0};
  cr_assert_eq(parse_pub(text, got, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(pk, got, CL_KEY_BYTES), 0);
  /* No final newline, no comment, tabs as separators, leading spaces. */
  char b64[CL_KEYS_B64_LEN + 1];
  sodium_bin2base64(b64, sizeof b64, pk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  snprintf(text, sizeof text, "  cleave-x25519\t%s", b64);
  cr_assert_eq(parse_pub(text, got, &err), CL_OK, "%s", err.msg);
  snprintf(text, sizeof text, "cleave-x25519 %s \t comment with  spaces # and hash", b64);
  cr_assert_eq(parse_pub(text, got, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(pk, got, CL_KEY_BYTES), 0);
}

/* Each text must be refused with a message naming line `line` (0: the text has no key line). */
typedef struct bad_case {
  const char *text;
  int line;
  const char *why;
} bad_case;

static void expect_bad_public(const char *text, int line, const char *why) {
  uint8_t pk[CL_KEY_BYTES];
  cl_allowlist *a = NULL;
  cl_error e1 = {0}, e2 = {0};
  cr_assert_eq(parse_pub(text, pk, &e1), CL_ERR_FORMAT, "accepted: %s", text);
  if (line == 0) {   /* no key line: an error for a .pub file, an empty allow-list */
    cr_assert_eq(parse_allow(text, &a, &e2), CL_OK, "%s", e2.msg);
    cr_assert_eq(cl_allowlist_count(a), 0);
    cl_allowlist_free(&a);
    if (why) cr_assert(strstr(e1.msg, why), "'%s' lacks '%s'", e1.msg, why);
    return;
  }
  cr_assert_eq(parse_allow(text, &a, &e2), CL_ERR_FORMAT, "allow-list accepted: %s", text);
  cr_assert_null(a);
  cr_assert_str_eq(e1.msg, e2.msg);
  char prefix[32];
  snprintf(prefix, sizeof prefix, "line %d: ", line);
  if (line) cr_assert(strncmp(e2.msg, prefix, strlen(prefix)) == 0, "'%s' for: %s", e2.msg, text);
  if (why) cr_assert(strstr(e2.msg, why), "'%s' lacks '%s'", e2.msg, why);
}

#define K43 "QIYfEs1Kjt1/yYZGH2A5La4M3Q8S4Il5VvThf41n8RM"   /* + '=' is a valid key */

Test(keyparse, malformed_public_lines_are_refused_with_their_number) {
  static const bad_case cases[] = {
      {"", 0, "no 'cleave-x25519' key line"},
      {"# only a comment\n\n", 0, "no 'cleave-x25519' key line"},
      {"cleave-x25519\n", 1, "missing key"},
      {"cleave-x25519 \n", 1, "missing key"},
      {"cleave-x25519" K43 "=\n", 1, "unknown key type"},
      {"ssh-ed25519 " K43 "= me\n", 1, "unknown key type"},
      {"CLEAVE-X25519 " K43 "=\n", 1, "unknown key type"},
      {"\n# c\ncleave-x25519-secret " K43 "=\n", 3, "secret key line"},
      {"cleave-x25519 " K43 "\n", 1, "44 base64"},             /* 43: no padding */
      {"cleave-x25519 " K43 "==\n", 1, "44 base64"},           /* 45 */
      {"cleave-x25519 " K43 "=x\n", 1, "44 base64"},           /* key glued to text */
      {"cleave-x25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 1, "44 base64"}, /* 30 bytes */
      {"cleave-x25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 1, "44 base64"}, /* 36 */
      {"cleave-x25519 QIYfEs1Kjt1/yYZGH2A5La4M3Q8S4Il5VvThf41n8R==\n", 1, "valid base64"}, /* 31 bytes */
      {"cleave-x25519 QIYfEs1Kjt1_yYZGH2A5La4M3Q8S4Il5VvThf41n8RM=\n", 1, "valid base64"}, /* url-safe */
      {"cleave-x25519 QIYfEs1Kjt1!yYZGH2A5La4M3Q8S4Il5VvThf41n8RM=\n", 1, "valid base64"},
      {"cleave-x25519 QIYfEs1Kjt1/yYZGH2A5La4M3Q8S4Il5VvThf41n8RN=\n", 1, "valid base64"}, /* not canonical */
      {"cleave-x25519 QIYfEs1Kjt1/yYZGH2A5La4M3Q8S4Il5VvThf41n8R=M\n", 1, "valid base64"},
      {"cleave-x25519 ============================================\n", 1, "valid base64"},
      {"cleave-x25519 " K43 "= comment\x01\n", 1, "control character"},
      {"# fine\ncleave-x25519 " K43 "=\x7f\n", 2, "control character"},
      {"# nul \0 inside\n", 0, NULL},   /* strlen stops at the NUL: no key line */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_bad_public(cases[i].text, cases[i].line, cases[i].why);
}

Test(keyparse, bytes_that_strings_cannot_hold) {
  /* A NUL byte and a lone '\r' inside a line. */
  static const char with_nul[] = "cleave-x25519 " K43 "= a\0b\n";
  static const char with_cr[] = "cleave-x25519 " K43 "= a\rb\n";
  uint8_t pk[CL_KEY_BYTES];
  cl_error err = {0};
  cr_assert_eq(cl_keys_parse_public((const uint8_t *)with_nul, sizeof with_nul - 1, pk, &err), CL_ERR_FORMAT);
  cr_assert(strstr(err.msg, "line 1: control character"), "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(cl_keys_parse_public((const uint8_t *)with_cr, sizeof with_cr - 1, pk, &err), CL_ERR_FORMAT);
}

Test(keyparse, long_lines_are_refused) {
  static char text[3000];
  memset(text, 'x', sizeof text - 1);
  text[0] = '#';
  text[CL_KEYS_LINE_MAX] = '\n';   /* line 1: exactly 1024 bytes, fine */
  text[2 * CL_KEYS_LINE_MAX + 2] = '\n';   /* line 2: 1025 bytes */
  expect_bad_public(text, 2, "longer than 1024");
}

Test(keyparse, allow_list_counts_distinct_keys) {
  uint8_t k1[CL_KEY_BYTES], k2[CL_KEY_BYTES], k3[CL_KEY_BYTES];
  char text[2048] = "# devices of the lab\n\n";
  strcat(text, pub_line(k1, "one"));
  strcat(text, pub_line(k2, "two"));
  strcat(text, "   # indented comment\n");
  size_t len = strlen(text);
  cl_keys_format_public(k1, "one again", text + len);   /* a duplicate */
  cl_allowlist *a = NULL;
  cl_error err = {0};
  cr_assert_eq(parse_allow(text, &a, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_allowlist_count(a), 2);
  cr_assert(cl_allowlist_contains(a, k1) && cl_allowlist_contains(a, k2));
  pub_line(k3, NULL);
  cr_assert(!cl_allowlist_contains(a, k3));
  cl_allowlist_free(&a);
  cl_allowlist_free(&a);   /* idempotent */
  cr_assert_eq(parse_allow("# nobody yet\n", &a, &err), CL_OK);
  cr_assert_eq(cl_allowlist_count(a), 0);
  cr_assert(!cl_allowlist_contains(a, k1));
  cl_allowlist_free(&a);
}

/* n distinct key lines (key i is i in its first bytes). */
static char *many_keys(int n, size_t *len) {
  char *text = malloc((size_t)n * 60 + 1);
  cr_assert_not_null(text);
  *len = 0;
  for (int i = 0; i < n; i++) {
    uint8_t pk[CL_KEY_BYTES] = {0};
    memcpy(pk, &i, sizeof i);
    pk[31] = 9;
    char line[CL_KEYS_LINE_MAX + 2];
    size_t k = cl_keys_format_public(pk, NULL, line);
    memcpy(text + *len, line, k);
    *len += k;
  }
  text[*len] = '\0';
  return text;
}

Test(keyparse, allow_list_size_limit) {
  size_t len;
  char *text = many_keys(CL_KEYS_ALLOW_MAX + 1, &len);
  size_t last = len - 59;   /* every line here is 59 bytes: word, space, 44, newline */
  cl_allowlist *a = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_allowlist_parse((const uint8_t *)text, last, &a, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_allowlist_count(a), CL_KEYS_ALLOW_MAX);
  uint8_t pk[CL_KEY_BYTES] = {0};
  int i = 77777;
  memcpy(pk, &i, sizeof i);
  pk[31] = 9;
  cr_assert(cl_allowlist_contains(a, pk));
  cl_allowlist_free(&a);
  cr_assert_eq(cl_allowlist_parse((const uint8_t *)text, len, &a, &err), CL_ERR_LIMIT);
  cr_assert(strstr(err.msg, "line 100001: more than 100000 keys"), "%s", err.msg);
  cr_assert_null(a);
  free(text);
}

/* === Secret key text === */

static char secret_text[2 * CL_KEYS_LINE_MAX + 4];
static uint8_t secret_pk[CL_KEY_BYTES], secret_sk[CL_KEY_BYTES];
static char secret_b64[CL_KEYS_B64_LEN + 1];

static void make_secret_text(void) {
  cr_assert_eq(cl_seal_init(), 0);
  crypto_kx_keypair(secret_pk, secret_sk);
  sodium_bin2base64(secret_b64, sizeof secret_b64, secret_sk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  char line[CL_KEYS_LINE_MAX + 2];
  cl_keys_format_public(secret_pk, "c", line);
  snprintf(secret_text, sizeof secret_text, "cleave-x25519-secret %s\n%s", secret_b64, line);
}

TestSuite(secretparse, .init = make_secret_text);

Test(secretparse, the_written_format_parses) {
  cl_keypair kp;
  cl_error err = {0};
  cr_assert_eq(parse_secret(secret_text, &kp, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(kp.sk, secret_sk, CL_KEY_BYTES), 0);
  cr_assert_eq(memcmp(kp.pk, secret_pk, CL_KEY_BYTES), 0);
}

static void expect_bad_secret(const char *text, const char *why) {
  cl_keypair kp;
  cl_error err = {0};
  cr_assert_eq(parse_secret(text, &kp, &err), CL_ERR_FORMAT, "accepted: %s", text);
  cr_assert(strstr(err.msg, why), "'%s' lacks '%s'", err.msg, why);
  cr_assert(!strstr(err.msg, secret_b64), "the message shows the secret");
  uint8_t zero[sizeof kp] = {0};
  cr_assert_eq(memcmp(&kp, zero, sizeof kp), 0, "a refused key pair was left in memory");
}

Test(secretparse, malformed_secret_files_are_refused) {
  char text[4 * CL_KEYS_LINE_MAX];
  expect_bad_secret("", "empty key file");
  snprintf(text, sizeof text, "cleave-x25519-secret %s\n", secret_b64);
  expect_bad_secret(text, "line 2: missing the public key line");
  snprintf(text, sizeof text, "cleave-x25519-secret %s\n# c\n", secret_b64);
  expect_bad_secret(text, "line 2: expected the public key line");
  snprintf(text, sizeof text, "%s\n", secret_text);
  expect_bad_secret(text, "line 3: a key file has exactly two lines");
  snprintf(text, sizeof text, "%s%s", secret_text, pub_line(NULL, NULL));
  expect_bad_secret(text, "line 3: a key file has exactly two lines");
  snprintf(text, sizeof text, "cleave-x25519-secret %s\n%s", secret_b64, pub_line(NULL, "other"));
  expect_bad_secret(text, "line 2: the public key is not the secret's");
  snprintf(text, sizeof text, "cleave-x25519-secret %s extra\n%s", secret_b64, strchr(secret_text, '\n') + 1);
  expect_bad_secret(text, "line 1: unexpected text after the key");
  snprintf(text, sizeof text, "cleave-x25519-secret %.43s\n%s", secret_b64, strchr(secret_text, '\n') + 1);
  expect_bad_secret(text, "line 1: the key is not 44 base64");
  snprintf(text, sizeof text, "  cleave-x25519-secret %s\n%s", secret_b64, strchr(secret_text, '\n') + 1);
  expect_bad_secret(text, "line 1: expected 'cleave-x25519-secret");
  expect_bad_secret(strchr(secret_text, '\n') + 1, "line 1: expected 'cleave-x25519-secret");
  /* The public key file given where the secret is expected, and the reverse. */
  uint8_t pk[CL_KEY_BYTES];
  cl_error err = {0};
  cr_assert_eq(parse_pub(secret_text, pk, &err), CL_ERR_FORMAT);
  cr_assert(strstr(err.msg, "secret key line") && !strstr(err.msg, secret_b64), "%s", err.msg);
}

Test(secretparse, base64_garbage_in_the_secret) {
  char text[4 * CL_KEYS_LINE_MAX], bad[CL_KEYS_B64_LEN + 1];
  const char *pub = strchr(secret_text, '\n') + 1;
  static const char garbage[] = {'!', '-', '_', '=', ' ', '.', '\x80'};
  for (size_t g = 0; g < sizeof garbage; g++) {
    memcpy(bad, secret_b64, sizeof bad);
    bad[10] = garbage[g];
    snprintf(text, sizeof text, "cleave-x25519-secret %s\n%s", bad, pub);
    cl_keypair kp;
    cl_error err = {0};
    cr_assert_eq(parse_secret(text, &kp, &err), CL_ERR_FORMAT, "garbage '%c' accepted", garbage[g]);
  }
}

/* === cleave-keygen === */

static char keygen[PATH_MAX];

/* Every keygen test starts here: a missing binary is a failure, with the reason. */
static void find_keygen(void) {
  const char *env = getenv("CLEAVE_KEYGEN");
  if (env) {
    snprintf(keygen, sizeof keygen, "%s", env);
  } else {
    char exe[PATH_MAX] = {0};
    cr_assert(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    snprintf(keygen, sizeof keygen, "%s/../bin/cleave-keygen", dirname(exe));
  }
  cr_assert(access(keygen, X_OK) == 0,
            "cleave-keygen not found at %s (set CLEAVE_KEYGEN, or add keygen/ to the build)", keygen);
}

/* Runs cleave-keygen with args (a shell fragment) in tmpdir; returns its exit status and leaves its
 * stderr in tmpdir/err. */
static int run_keygen(const char *args) {
  char cmd[PATH_MAX + 512];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out 2>err", tmpdir, keygen, args);
  int rc = system(cmd);
  cr_assert(WIFEXITED(rc), "cleave-keygen did not exit normally");
  return WEXITSTATUS(rc);
}

/* The stderr of the last run: at most one line. */
static const char *keygen_stderr(void) {
  static char text[1024];
  FILE *f = fopen(tmp_path("err"), "r");
  cr_assert_not_null(f);
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  char *nl = strchr(text, '\n');
  cr_assert(nl == NULL || nl[1] == '\0', "more than one line on stderr: %s", text);
  return text;
}

TestSuite(keygen, .init = make_tmpdir, .fini = remove_tmpdir);

Test(keygen, writes_a_loadable_pair_and_refuses_to_overwrite) {
  find_keygen();
  cr_assert_eq(run_keygen("edge"), 0, "%s", keygen_stderr());
  cr_assert_eq(mode_of(tmp_path("edge.key")), 0600);
  cl_keypair kp;
  uint8_t pk[CL_KEY_BYTES];
  cl_error err = {0};
  cr_assert_eq(cl_keys_load_secret(tmp_path("edge.key"), &kp, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_keys_load_public(tmp_path("edge.pub"), pk, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(kp.pk, pk, CL_KEY_BYTES), 0);
  FILE *f = fopen(tmp_path("edge.pub"), "r");
  char line[256];
  cr_assert(fgets(line, sizeof line, f));
  fclose(f);
  cr_assert(strlen(line) > 5 && strcmp(line + strlen(line) - 6, " edge\n") == 0, "%s", line);
  cr_assert_eq(run_keygen("edge"), 1);
  cr_assert(strstr(keygen_stderr(), "already exists"), "%s", keygen_stderr());
  uint8_t again[CL_KEY_BYTES];
  cr_assert_eq(cl_keys_load_public(tmp_path("edge.pub"), again, &err), CL_OK);
  cr_assert_eq(memcmp(again, pk, CL_KEY_BYTES), 0, "the key was overwritten");
}

Test(keygen, comment_option) {
  find_keygen();
  cr_assert_eq(run_keygen("--comment 'lab camera 3' cam"), 0, "%s", keygen_stderr());
  FILE *f = fopen(tmp_path("cam.pub"), "r");
  char line[256];
  cr_assert(fgets(line, sizeof line, f));
  fclose(f);
  cr_assert(strstr(line, "= lab camera 3\n"), "%s", line);
  cr_assert_eq(run_keygen("--comment \"$(printf 'a\\nb')\" bad"), 2);
  cr_assert(!exists(tmp_path("bad.key")));
}

Test(keygen, usage_help_version_and_failures) {
  find_keygen();
  cr_assert_eq(run_keygen(""), 2);
  cr_assert(strstr(keygen_stderr(), "PATH is required"), "%s", keygen_stderr());
  cr_assert_eq(run_keygen("a b"), 2);
  cr_assert_eq(run_keygen("--nope a"), 2);
  cr_assert_eq(run_keygen("--comment"), 2);
  cr_assert_eq(run_keygen("--help"), 0);
  cr_assert_eq(run_keygen("--version"), 0);
  FILE *f = fopen(tmp_path("out"), "r");
  char line[128];
  cr_assert(fgets(line, sizeof line, f));
  fclose(f);
  cr_assert(strncmp(line, "cleave-keygen ", 14) == 0, "%s", line);
  cr_assert_eq(run_keygen("no/such/dir/k"), 1);
  cr_assert(strstr(keygen_stderr(), "cannot create"), "%s", keygen_stderr());
  cr_assert(!exists(tmp_path("k.key")));
}
