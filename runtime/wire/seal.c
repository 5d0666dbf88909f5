/* cleave: sealed messages: sequence numbers, nonces, XChaCha20-Poly1305 with the header as
 * associated data, and the receiver's sliding replay window. */
#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#include "wire/keys_internal.h"

_Static_assert(CL_REPLAY_WINDOW % 64 == 0, "the replay bitmap is made of 64-bit words");
_Static_assert(CL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(sizeof(((cl_session *)0)->tx_key) == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "key size");

/* === Nonces and sequence numbers === */

/* The 24-byte nonce of message seq: seq little-endian in bytes 0..7, zeros after. Each direction
 * has its own key and strictly increasing numbers, so a (key, nonce) pair is never used twice. */
static void make_nonce(uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], uint64_t seq) {
  memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  for (int i = 0; i < 8; i++) nonce[i] = (uint8_t)(seq >> (8 * i));
}

uint64_t cl_session_next_seq(cl_session *s) {
  assert(s != NULL);
  uint64_t seq = __atomic_add_fetch(&s->tx_seq, 1, __ATOMIC_RELAXED);
  assert(seq != 0);   /* 2^64 messages in one session: never */
  return seq;
}

/* libsodium declares the message pointers nonnull even for an empty message. */
static uint8_t empty_msg[1];

/* === Sealing === */

void cl_session_seal_from(const cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len,
                          uint8_t *dst, const uint8_t *src, size_t len, uint8_t tag[CL_TAG_BYTES]) {
  assert(s != NULL && seq != 0 && tag != NULL);
  assert((ad != NULL || ad_len == 0) && ((dst != NULL && src != NULL) || len == 0));
  assert(src == dst || src + len <= dst || dst + len <= src);
  (void)cl_seal_init();   /* picks libsodium's fastest implementations; cannot matter for results */
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  make_nonce(nonce, seq);
  unsigned long long taglen = 0;
  if (len == 0) dst = empty_msg, src = empty_msg;
  crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, tag, &taglen, src, len, ad, ad_len, NULL,
                                                      nonce, s->tx_key);
}

void cl_session_seal(const cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len, uint8_t *msg,
                     size_t len, uint8_t tag[CL_TAG_BYTES]) {
  cl_session_seal_from(s, seq, ad, ad_len, msg, msg, len, tag);
}

/* === Opening and the replay window === */

/* Bit of seq in the bitmap of the numbers (rx_max - window, rx_max]. */
static int window_has(const cl_session *s, uint64_t seq) {
  uint64_t bit = seq % CL_REPLAY_WINDOW;
  return (int)((s->rx_seen[bit / 64] >> (bit % 64)) & 1);
}

/* CL_OK when seq may be accepted: never seen and not older than the window. */
static cl_status window_check(const cl_session *s, uint64_t seq, cl_error *err) {
  if (seq == 0) return cl_error_set(err, CL_ERR_AUTH, "invalid sequence number 0");
  if (seq > s->rx_max) return CL_OK;
  if (s->rx_max - seq >= CL_REPLAY_WINDOW)
    return cl_error_set(err, CL_ERR_AUTH,
                        "replayed or too old message (seq %" PRIu64 ", newest %" PRIu64
                        ", window %d)",
                        seq, s->rx_max, CL_REPLAY_WINDOW);
  if (window_has(s, seq))
    return cl_error_set(err, CL_ERR_AUTH, "replayed message (seq %" PRIu64 ")", seq);
  return CL_OK;
}

/* Records seq (checked): moves the window forward when seq is the newest, clearing the bits of the
 * numbers it skips. */
static void window_accept(cl_session *s, uint64_t seq) {
  if (seq > s->rx_max) {
    if (seq - s->rx_max >= CL_REPLAY_WINDOW) {
      memset(s->rx_seen, 0, sizeof s->rx_seen);
    } else {
      for (uint64_t n = s->rx_max + 1; n < seq; n++) {
        uint64_t bit = n % CL_REPLAY_WINDOW;
        s->rx_seen[bit / 64] &= ~((uint64_t)1 << (bit % 64));
      }
    }
    s->rx_max = seq;
  }
  uint64_t bit = seq % CL_REPLAY_WINDOW;
  s->rx_seen[bit / 64] |= (uint64_t)1 << (bit % 64);
}

cl_status cl_session_open(cl_session *s, uint64_t seq, const uint8_t *ad, size_t ad_len, uint8_t *msg,
                          size_t len, const uint8_t tag[CL_TAG_BYTES], cl_error *err) {
  assert(s != NULL && tag != NULL);
  assert((ad != NULL || ad_len == 0) && (msg != NULL || len == 0));
  cl_status st = window_check(s, seq, err);
  if (st != CL_OK) return st;
  (void)cl_seal_init();
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  make_nonce(nonce, seq);
  if (len == 0) msg = empty_msg;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(msg, NULL, msg, len, tag, ad, ad_len, nonce,
                                                          s->rx_key) != 0)
    return cl_error_set(err, CL_ERR_AUTH,
                        "message does not authenticate (seq %" PRIu64
                        "): tampered header or payload, or another session's key",
                        seq);
  window_accept(s, seq);
  return CL_OK;
}

void cl_session_wipe(cl_session *s) {
  if (s) sodium_memzero(s, sizeof *s);
}
