/* cleave: the handshake (Noise KK-like, two messages) and the session key schedule.
 *
 * One chaining key absorbs, in order, the protocol name, both static keys, each ephemeral key and
 * every Diffie-Hellman result (es, ss after HELLO; ee, se after WELCOME); proofs and session keys
 * are keyed BLAKE2b outputs of it under distinct labels. docs/SECURITY.md is the full description. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "wire/keys_internal.h"

/* Protocol name and version: the first thing in the transcript. */
#define PROTOCOL_NAME "cleave/1 KK X25519 BLAKE2b-256 XChaCha20-Poly1305"

/* === Key schedule === */

/* ck = BLAKE2b-256(key = ck, label || NUL || data). Labels hold no NUL, data has a fixed length per
 * step, so what was absorbed is unambiguous. */
static void mix(uint8_t ck[32], const char *label, const uint8_t *data, size_t n) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, ck, 32, 32);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label) + 1);
  crypto_generichash_update(&st, data, n);
  crypto_generichash_final(&st, ck, 32);
  sodium_memzero(&st, sizeof st);
}

/* Mixes DH(sk, pk); -1 when pk is a low-order point (the result would be all zeros). */
static int mix_dh(uint8_t ck[32], const char *label, const uint8_t sk[CL_KEY_BYTES],
                  const uint8_t pk[CL_KEY_BYTES]) {
  uint8_t dh[crypto_scalarmult_BYTES];
  int rc = crypto_scalarmult(dh, sk, pk);
  if (rc == 0) mix(ck, label, dh, sizeof dh);
  sodium_memzero(dh, sizeof dh);
  return rc == 0 ? 0 : -1;
}

/* out = BLAKE2b-(outlen*8)(key = ck, label || NUL). */
static void derive(uint8_t *out, size_t outlen, const uint8_t ck[32], const char *label) {
  crypto_generichash(out, outlen, (const uint8_t *)label, strlen(label) + 1, ck, 32);
}

/* The chain after HELLO: name, statics, device ephemeral, es, ss. Either side computes it: the
 * device with (its ephemeral secret, its static secret), the worker with its static secret twice.
 * Returns -1 when a public key is a low-order point. */
static int chain_hello(uint8_t ck[32], const uint8_t dev_pk[CL_KEY_BYTES],
                       const uint8_t wrk_pk[CL_KEY_BYTES], const uint8_t dev_eph[CL_KEY_BYTES],
                       const uint8_t es_sk[CL_KEY_BYTES], const uint8_t es_pk[CL_KEY_BYTES],
                       const uint8_t ss_sk[CL_KEY_BYTES], const uint8_t ss_pk[CL_KEY_BYTES]) {
  crypto_generichash(ck, 32, (const uint8_t *)PROTOCOL_NAME, sizeof PROTOCOL_NAME - 1, NULL, 0);
  mix(ck, "device static", dev_pk, CL_KEY_BYTES);
  mix(ck, "worker static", wrk_pk, CL_KEY_BYTES);
  mix(ck, "device ephemeral", dev_eph, CL_KEY_BYTES);
  if (mix_dh(ck, "es", es_sk, es_pk) != 0 || mix_dh(ck, "ss", ss_sk, ss_pk) != 0) return -1;
  return 0;
}

/* The chain after WELCOME: worker ephemeral, ee, se. */
static int chain_welcome(uint8_t ck[32], const uint8_t wrk_eph[CL_KEY_BYTES],
                         const uint8_t ee_sk[CL_KEY_BYTES], const uint8_t ee_pk[CL_KEY_BYTES],
                         const uint8_t se_sk[CL_KEY_BYTES], const uint8_t se_pk[CL_KEY_BYTES]) {
  mix(ck, "worker ephemeral", wrk_eph, CL_KEY_BYTES);
  if (mix_dh(ck, "ee", ee_sk, ee_pk) != 0 || mix_dh(ck, "se", se_sk, se_pk) != 0) return -1;
  return 0;
}

/* Fills a fresh session from the final chain. device: 1 on the device's side. */
static void open_session(cl_session *s, const uint8_t ck[32], int device,
                         const uint8_t peer[CL_KEY_BYTES]) {
  memset(s, 0, sizeof *s);
  derive(device ? s->tx_key : s->rx_key, 32, ck, "device->worker key");
  derive(device ? s->rx_key : s->tx_key, 32, ck, "worker->device key");
  derive(s->id, CL_SESSION_ID_BYTES, ck, "session id");
  memcpy(s->peer, peer, CL_KEY_BYTES);
}

/* Short printable form of a key for messages: its base64. */
static void key_text(const uint8_t pk[CL_KEY_BYTES], char out[CL_KEYS_B64_LEN + 1]) {
  sodium_bin2base64(out, CL_KEYS_B64_LEN + 1, pk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
}

/* === Device: HELLO === */

cl_status cl_handshake_hello(cl_handshake *hs, const cl_keypair *me,
                             const uint8_t server_pk[CL_KEY_BYTES], uint8_t eph_out[CL_KEY_BYTES],
                             uint8_t proof_out[CL_PROOF_BYTES], cl_error *err) {
  assert(hs != NULL && me != NULL && server_pk != NULL && eph_out != NULL && proof_out != NULL);
  memset(hs, 0, sizeof *hs);
  if (cl_seal_init() != 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to start");
  hs->me = *me;
  memcpy(hs->server_pk, server_pk, CL_KEY_BYTES);
  crypto_kx_keypair(hs->eph_pk, hs->eph_sk);
  if (chain_hello(hs->chain, me->pk, server_pk, hs->eph_pk, hs->eph_sk, server_pk, me->sk,
                  server_pk) != 0) {
    sodium_memzero(hs, sizeof *hs);
    return cl_error_set(err, CL_ERR_AUTH, "the pinned worker key is not a usable X25519 key");
  }
  memcpy(eph_out, hs->eph_pk, CL_KEY_BYTES);
  derive(proof_out, CL_PROOF_BYTES, hs->chain, "hello proof");
  return CL_OK;
}

/* === Worker: HELLO -> WELCOME === */

/* Checks the HELLO proof; on success ck is the chain after HELLO. */
static cl_status check_hello(uint8_t ck[32], const cl_keypair *me,
                             const uint8_t client_pk[CL_KEY_BYTES],
                             const uint8_t client_eph[CL_KEY_BYTES],
                             const uint8_t proof[CL_PROOF_BYTES], cl_error *err) {
  char text[CL_KEYS_B64_LEN + 1];
  key_text(client_pk, text);
  if (chain_hello(ck, client_pk, me->pk, client_eph, me->sk, client_eph, me->sk, client_pk) != 0)
    return cl_error_set(err, CL_ERR_AUTH, "HELLO from device %s carries an invalid key", text);
  uint8_t expect[CL_PROOF_BYTES];
  derive(expect, sizeof expect, ck, "hello proof");
  int ok = sodium_memcmp(expect, proof, CL_PROOF_BYTES) == 0;
  sodium_memzero(expect, sizeof expect);
  if (!ok) return cl_error_set(err, CL_ERR_AUTH, "HELLO proof does not verify (device %s)", text);
  return CL_OK;
}

cl_status cl_handshake_welcome(const cl_keypair *me, const cl_allowlist *allow,
                               const uint8_t client_pk[CL_KEY_BYTES],
                               const uint8_t client_eph[CL_KEY_BYTES],
                               const uint8_t proof[CL_PROOF_BYTES], uint8_t eph_out[CL_KEY_BYTES],
                               uint8_t proof_out[CL_PROOF_BYTES], cl_session *out,
                               cl_error *err) {
  assert(me != NULL && allow != NULL && client_pk != NULL && client_eph != NULL && proof != NULL);
  assert(eph_out != NULL && proof_out != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  if (cl_seal_init() != 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to start");
  if (!cl_allowlist_contains(allow, client_pk)) {
    char text[CL_KEYS_B64_LEN + 1];
    key_text(client_pk, text);
    return cl_error_set(err, CL_ERR_AUTH, "device key %s is not in the allow-list", text);
  }
  uint8_t ck[32], eph_pk[CL_KEY_BYTES], eph_sk[CL_KEY_BYTES];
  cl_status s = check_hello(ck, me, client_pk, client_eph, proof, err);
  if (s == CL_OK) {
    crypto_kx_keypair(eph_pk, eph_sk);
    if (chain_welcome(ck, eph_pk, eph_sk, client_eph, eph_sk, client_pk) != 0)
      s = cl_error_set(err, CL_ERR_AUTH, "HELLO carries an invalid key");   /* checked already */
  }
  if (s == CL_OK) {
    memcpy(eph_out, eph_pk, CL_KEY_BYTES);
    derive(proof_out, CL_PROOF_BYTES, ck, "welcome proof");
    open_session(out, ck, 0, client_pk);
  }
  sodium_memzero(ck, sizeof ck);
  sodium_memzero(eph_sk, sizeof eph_sk);
  return s;
}

/* === Device: WELCOME === */

cl_status cl_handshake_finish(cl_handshake *hs, const uint8_t server_eph[CL_KEY_BYTES],
                              const uint8_t proof[CL_PROOF_BYTES], cl_session *out,
                              cl_error *err) {
  assert(hs != NULL && server_eph != NULL && proof != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  uint8_t ck[32], expect[CL_PROOF_BYTES];
  memcpy(ck, hs->chain, sizeof ck);
  cl_status s = CL_OK;
  if (chain_welcome(ck, server_eph, hs->eph_sk, server_eph, hs->me.sk, server_eph) != 0) {
    s = cl_error_set(err, CL_ERR_AUTH, "WELCOME carries an invalid ephemeral key");
  } else {
    derive(expect, sizeof expect, ck, "welcome proof");
    if (sodium_memcmp(expect, proof, CL_PROOF_BYTES) != 0)
      s = cl_error_set(err, CL_ERR_AUTH,
                       "WELCOME proof does not verify: the worker does not hold the pinned key");
    else
      open_session(out, ck, 1, hs->server_pk);
  }
  sodium_memzero(ck, sizeof ck);
  sodium_memzero(expect, sizeof expect);
  sodium_memzero(hs, sizeof *hs);
  return s;
}
