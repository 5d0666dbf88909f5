/* cleave: keys, the handshake, and sealed messages (libsodium).
 *
 * Keys: long-term X25519 key pairs. `cl_keys_generate(PATH)` writes PATH.key (the secret key and its
 * public key, mode 0600) and PATH.pub (the public key, one line "cleave-x25519 <base64> <comment>").
 * The device pins the worker's public key; the worker keeps an allow-list of device public keys, one
 * a line in the .pub format (blank lines and '#' comments allowed), like ssh's authorized_keys.
 *
 * Handshake: two messages, HELLO (device -> worker) and WELCOME (worker -> device), in the pattern
 * of Noise KK: both sides know each other's static key in advance; each sends an ephemeral key and a
 * proof (a MAC over the transcript keyed by the Diffie-Hellman results so far). The worker learns the
 * device's identity from HELLO and refuses keys not in its allow-list; the device refuses a WELCOME
 * whose proof does not come from the pinned key. Session keys (one per direction) come from all four
 * DH results, including ephemeral-ephemeral: forward secrecy once the ephemeral secrets are wiped
 * (they are, at the end of the handshake). docs/SECURITY.md states the threat model.
 *
 * Messages: XChaCha20-Poly1305 with the wire header as associated data and a nonce made from the
 * message's sequence number (strictly increasing per direction, so never repeated under one key).
 * The receiver refuses any sequence number it has seen or that fell out of its 1024-message window
 * (replay protection that tolerates replies arriving out of order).
 *
 * Thread safety: cl_session_next_seq is atomic (several worker threads may seal replies of one
 * session); cl_session_open must be called by one thread at a time per session. cl_session_seal,
 * cl_handshake_welcome and cl_allowlist_contains only read shared state: any number of threads may
 * call them at once (an allow-list is read-only once loaded). */
#ifndef CLEAVE_SEAL_H
#define CLEAVE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CL_KEY_BYTES 32
#define CL_PROOF_BYTES 16
#define CL_TAG_BYTES 16
#define CL_SESSION_ID_BYTES 16
#define CL_REPLAY_WINDOW 1024

/* === Keys === */

typedef struct cl_keypair {
  uint8_t pk[CL_KEY_BYTES];
  uint8_t sk[CL_KEY_BYTES];
} cl_keypair;

/* Writes PATH.key (mode 0600) and PATH.pub; refused if either exists (or is a symbolic link), and
 * nothing is left behind on failure. comment may be NULL: at most 256 bytes, no control characters.
 * Errors: CL_ERR_IO, CL_ERR_ARG (bad comment, path too long), CL_ERR_BACKEND (libsodium). */
cl_status cl_keys_generate(const char *path, const char *comment, cl_error *err) CL_MUST_CHECK;

/* Reads a secret key file; refuses one that group or others may access (mode & 077) or that
 * belongs to another user (root excepted), or malformed (the public line must match the secret).
 * *out is zeroed on failure. Errors: CL_ERR_IO, CL_ERR_FORMAT, CL_ERR_AUTH (permissions),
 * CL_ERR_NOMEM. */
cl_status cl_keys_load_secret(const char *path, cl_keypair *out, cl_error *err) CL_MUST_CHECK;

/* Reads a public key file (the first key line; blank lines and '#' comments before it allowed).
 * Errors: CL_ERR_IO, CL_ERR_FORMAT, CL_ERR_NOMEM. */
cl_status cl_keys_load_public(const char *path, uint8_t pk[CL_KEY_BYTES], cl_error *err) CL_MUST_CHECK;

/* Wipes a key pair from memory. */
void cl_keys_wipe(cl_keypair *kp);

typedef struct cl_allowlist cl_allowlist;

/* Reads an allow-list (at most 100000 keys; a malformed line is an error naming its number;
 * duplicates count once; an empty list is valid and allows nobody). The caller owns *out (NULL on
 * failure). Errors: CL_ERR_IO, CL_ERR_FORMAT, CL_ERR_LIMIT (too many keys, file over 16 MiB),
 * CL_ERR_NOMEM. contains returns 1 or 0. */
cl_status cl_allowlist_load(const char *path, cl_allowlist **out, cl_error *err) CL_MUST_CHECK;
int cl_allowlist_contains(const cl_allowlist *a, const uint8_t pk[CL_KEY_BYTES]);
int cl_allowlist_count(const cl_allowlist *a);
void cl_allowlist_free(cl_allowlist **a);

/* === Sessions === */

typedef struct cl_session {
  uint8_t tx_key[32], rx_key[32];   /* this side's sending and receiving keys */
  uint8_t id[CL_SESSION_ID_BYTES];  /* the same on both sides */
  uint8_t peer[CL_KEY_BYTES];       /* the peer's long-term public key */
  uint64_t tx_seq;                  /* last sequence number handed out (atomic) */
  uint64_t rx_max;                  /* highest sequence number accepted */
  uint64_t rx_seen[CL_REPLAY_WINDOW / 64]; /* bitmap of accepted numbers in (rx_max - window, rx_max] */
} cl_session;

/* Device side of the handshake, between HELLO and WELCOME. Wiped by cl_handshake_finish; a
 * handshake abandoned without a WELCOME holds secrets: wipe it with sodium_memzero(hs, sizeof *hs). */
typedef struct cl_handshake {
  cl_keypair me;
  uint8_t server_pk[CL_KEY_BYTES];
  uint8_t eph_pk[CL_KEY_BYTES], eph_sk[CL_KEY_BYTES];
  uint8_t chain[32];                /* transcript key so far */
} cl_handshake;

/* Device: starts a handshake with the worker whose public key is server_pk; fills the HELLO fields
 * (the device's static key is me->pk). Errors: CL_ERR_AUTH (server_pk is a low-order point),
 * CL_ERR_BACKEND. */
cl_status cl_handshake_hello(cl_handshake *hs, const cl_keypair *me,
                             const uint8_t server_pk[CL_KEY_BYTES], uint8_t eph_out[CL_KEY_BYTES],
                             uint8_t proof_out[CL_PROOF_BYTES], cl_error *err) CL_MUST_CHECK;

/* Worker: checks a HELLO (client_pk must be in allow; CL_ERR_AUTH otherwise, or when the proof is
 * wrong), fills the WELCOME fields and opens the session (*out zeroed on failure). A replayed HELLO
 * passes: the session it opens cannot be used without the device's secrets (docs/SECURITY.md). */
cl_status cl_handshake_welcome(const cl_keypair *me, const cl_allowlist *allow,
                               const uint8_t client_pk[CL_KEY_BYTES],
                               const uint8_t client_eph[CL_KEY_BYTES],
                               const uint8_t proof[CL_PROOF_BYTES], uint8_t eph_out[CL_KEY_BYTES],
                               uint8_t proof_out[CL_PROOF_BYTES], cl_session *out,
                               cl_error *err) CL_MUST_CHECK;

/* Device: checks the WELCOME (CL_ERR_AUTH when the proof is not the pinned worker's), opens the
 * session and wipes hs, whether it succeeds or not (*out zeroed on failure). */
cl_status cl_handshake_finish(cl_handshake *hs, const uint8_t server_eph[CL_KEY_BYTES],
                              const uint8_t proof[CL_PROOF_BYTES], cl_session *out,
                              cl_error *err) CL_MUST_CHECK;

/* The next sequence number to send (1, 2, ...); put it in the header before sealing. Atomic. */
uint64_t cl_session_next_seq(cl_session *s);

/* Encrypts msg[0, len) in place under the sending key with nonce(seq) (seq little-endian in the
 * nonce's first 8 bytes, zeros after), authenticating ad too (the encoded header), and writes the
 * tag. seq comes from cl_session_next_seq and seals one message only: sealing two messages with one
 * number reuses a nonce. Cannot fail on valid arguments. */
void cl_session_seal(const cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len, uint8_t *msg,
                     size_t len, uint8_t tag[CL_TAG_BYTES]);

/* The same, encrypting src[0, len) into dst[0, len) (src == dst: in place; otherwise they must not
 * overlap): sealing a copy costs no separate memcpy of the plaintext. */
void cl_session_seal_from(const cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len,
                          uint8_t *dst, const uint8_t *src, size_t len, uint8_t tag[CL_TAG_BYTES]);

/* Checks and decrypts msg[0, len) in place. CL_ERR_AUTH when the tag does not verify (tampered
 * header or payload, wrong key) or seq was seen or is older than the window ("replayed message
 * (seq 41)"); the session is unchanged on failure. A replay refusal leaves msg as it was; a tag
 * that does not verify leaves it zeroed (libsodium's behaviour). */
cl_status cl_session_open(cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len, uint8_t *msg,
                          size_t len, const uint8_t tag[CL_TAG_BYTES], cl_error *err) CL_MUST_CHECK;

/* Wipes the session's keys. */
void cl_session_wipe(cl_session *s);

#ifdef __cplusplus
}
#endif
#endif
