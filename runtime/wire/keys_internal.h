/* cleave internal: what keys.c, keys_parse.c, handshake.c and seal.c share.
 *
 * The key-file parsers work on memory buffers so that the fuzzer (tests/fuzz/keys_fuzz.c) runs them
 * on arbitrary bytes; keys.c only reads files (bounded) and hands the bytes over. docs/SECURITY.md
 * gives the grammar. */
#ifndef CLEAVE_WIRE_KEYS_INTERNAL_H
#define CLEAVE_WIRE_KEYS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/seal.h"

/* Bounds: a line is at most CL_KEYS_LINE_MAX bytes (its end of line not counted); a .key file at
 * most CL_KEYS_SECRET_FILE_MAX bytes, a .pub file CL_KEYS_PUBLIC_FILE_MAX, an allow-list
 * CL_KEYS_ALLOW_FILE_MAX and CL_KEYS_ALLOW_MAX keys; a comment at most CL_KEYS_COMMENT_MAX bytes. */
#define CL_KEYS_LINE_MAX 1024
#define CL_KEYS_COMMENT_MAX 256
#define CL_KEYS_SECRET_FILE_MAX 4096
#define CL_KEYS_PUBLIC_FILE_MAX 65536
#define CL_KEYS_ALLOW_FILE_MAX ((size_t)16 << 20)
#define CL_KEYS_ALLOW_MAX 100000

/* The words that start a key line, and the length of a 32-byte key in base64 (original variant,
 * padded: 44 characters). */
#define CL_KEYS_PUBLIC_WORD "cleave-x25519"
#define CL_KEYS_SECRET_WORD "cleave-x25519-secret"
#define CL_KEYS_B64_LEN 44

/* Calls sodium_init once per process (thread-safe). Returns 0, or -1 when libsodium cannot start. */
int cl_seal_init(void);

/* Writes "cleave-x25519 <base64 pk>[ <comment>]\n" to out (NUL-terminated) and returns its length.
 * comment may be NULL or "". out must hold CL_KEYS_LINE_MAX + 2 bytes; the comment must already be
 * valid (cl_keys_check_comment). */
size_t cl_keys_format_public(const uint8_t pk[CL_KEY_BYTES], const char *comment, char *out);

/* 0 when comment (NULL allowed) fits a key line: at most CL_KEYS_COMMENT_MAX bytes, no control
 * characters but tab; else -1. */
int cl_keys_check_comment(const char *comment);

/* Parsers of untrusted bytes: they never read outside buf[0, len), whatever the input, and refuse
 * malformed input with CL_ERR_FORMAT and a message naming the line ("line 3: ..."). */

/* A .pub file: blank lines, '#' comments and key lines; at least one key; pk is the first (zeroed
 * on failure). Lines after the first key line are not read. */
cl_status cl_keys_parse_public(const uint8_t *buf, size_t len, uint8_t pk[CL_KEY_BYTES],
                               cl_error *err) CL_MUST_CHECK;

/* A .key file: exactly the secret line then its public line; the public key must be the secret's.
 * On failure *out is zeroed. */
cl_status cl_keys_parse_secret(const uint8_t *buf, size_t len, cl_keypair *out,
                               cl_error *err) CL_MUST_CHECK;

/* An allow-list (the .pub grammar, any number of keys up to CL_KEYS_ALLOW_MAX: CL_ERR_LIMIT beyond;
 * CL_ERR_NOMEM). The caller owns *out (cl_allowlist_free); NULL on failure. */
cl_status cl_allowlist_parse(const uint8_t *buf, size_t len, cl_allowlist **out,
                             cl_error *err) CL_MUST_CHECK;

#endif
