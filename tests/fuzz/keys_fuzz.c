/* cleave fuzzer: the key-file parsers (runtime/wire/keys_parse.c) on arbitrary bytes: a .pub file,
 * a .key file and an allow-list. Checks, besides the sanitizers:
 *   - a refusal always carries a message and leaves nothing behind (key zeroed, list NULL);
 *   - a parsed public key, written back in the .pub format, parses to the same key;
 *   - a parsed secret key's public key is the one derived from it;
 *   - the two grammars agree: when the .pub parser finds a first key, the allow-list parser either
 *     holds it or refuses a later line, and an allow-list with keys is a valid .pub file. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/seal.h"
#include "wire/keys_internal.h"

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

static int parse_public(const uint8_t *data, size_t size, uint8_t pk[CL_KEY_BYTES]) {
  cl_error err = {0};
  if (cl_keys_parse_public(data, size, pk, &err) != CL_OK) {
    if (err.msg[0] == '\0' || !all_zero(pk, CL_KEY_BYTES)) abort();
    return 0;
  }
  char line[CL_KEYS_LINE_MAX + 2];
  size_t n = cl_keys_format_public(pk, "round trip", line);
  uint8_t again[CL_KEY_BYTES];
  if (cl_keys_parse_public((const uint8_t *)line, n, again, &err) != CL_OK) abort();
  if (memcmp(pk, again, CL_KEY_BYTES) != 0) abort();
  return 1;
}

static void parse_secret(const uint8_t *data, size_t size) {
  cl_keypair kp;
  cl_error err = {0};
  if (cl_keys_parse_secret(data, size, &kp, &err) != CL_OK) {
    if (err.msg[0] == '\0' || !all_zero(&kp, sizeof kp)) abort();
    return;
  }
  uint8_t derived[CL_KEY_BYTES];
  crypto_scalarmult_base(derived, kp.sk);
  if (memcmp(derived, kp.pk, CL_KEY_BYTES) != 0) abort();
  cl_keys_wipe(&kp);
}

static void parse_allow(const uint8_t *data, size_t size, int have_first,
                        const uint8_t first[CL_KEY_BYTES]) {
  cl_allowlist *a = NULL;
  cl_error err = {0};
  if (cl_allowlist_parse(data, size, &a, &err) != CL_OK) {
    if (err.msg[0] == '\0' || a != NULL) abort();
    return;
  }
  int n = cl_allowlist_count(a);
  if (n < 0 || n > CL_KEYS_ALLOW_MAX) abort();
  if (have_first != (n > 0)) abort();
  if (have_first && !cl_allowlist_contains(a, first)) abort();
  cl_allowlist_free(&a);
  if (a != NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (cl_seal_init() != 0) abort();
    ready = 1;
  }
  uint8_t first[CL_KEY_BYTES];
  int have_first = parse_public(data, size, first);
  parse_secret(data, size);
  parse_allow(data, size, have_first, first);
  return 0;
}
