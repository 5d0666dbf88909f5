/* cleave tests: the handshake, sealed messages, the replay window and sequence numbers
 * (runtime/wire/handshake.c, seal.c). Keys are made in memory; key files are test_keys.c's. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleave/seal.h"
#include "wire/keys_internal.h"

/* === Helpers === */

static cl_keypair new_keypair(void) {
  cl_keypair kp;
  cr_assert_eq(cl_seal_init(), 0);
  crypto_kx_keypair(kp.pk, kp.sk);
  return kp;
}

/* An allow-list holding the given keys (through the text parser, as a file would be). */
static cl_allowlist *allow_of(const cl_keypair *keys, int n) {
  static char text[64 * (CL_KEYS_LINE_MAX + 2)];
  size_t len = 0;
  for (int i = 0; i < n; i++) len += cl_keys_format_public(keys[i].pk, "test", text + len);
  cl_allowlist *a = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_allowlist_parse((const uint8_t *)text, len, &a, &err), CL_OK, "%s", err.msg);
  return a;
}

/* The HELLO and WELCOME fields as they would travel. */
typedef struct hello_msg {
  uint8_t static_key[CL_KEY_BYTES], eph[CL_KEY_BYTES], proof[CL_PROOF_BYTES];
} hello_msg;
typedef struct welcome_msg {
  uint8_t eph[CL_KEY_BYTES], proof[CL_PROOF_BYTES];
} welcome_msg;

static void say_hello(cl_handshake *hs, const cl_keypair *dev, const uint8_t server_pk[CL_KEY_BYTES],
                      hello_msg *h) {
  cl_error err = {0};
  cr_assert_eq(cl_handshake_hello(hs, dev, server_pk, h->eph, h->proof, &err), CL_OK, "%s", err.msg);
  memcpy(h->static_key, dev->pk, CL_KEY_BYTES);
}

static cl_status answer(const cl_keypair *wrk, const cl_allowlist *allow, const hello_msg *h,
                        welcome_msg *w, cl_session *out, cl_error *err) {
  return cl_handshake_welcome(wrk, allow, h->static_key, h->eph, h->proof, w->eph, w->proof, out, err);
}

/* A whole handshake that must succeed. */
static void handshake(const cl_keypair *dev, const cl_keypair *wrk, const cl_allowlist *allow,
                      cl_session *ds, cl_session *ws) {
  cl_handshake hs;
  hello_msg h;
  welcome_msg w;
  cl_error err = {0};
  say_hello(&hs, dev, wrk->pk, &h);
  cr_assert_eq(answer(wrk, allow, &h, &w, ws, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_handshake_finish(&hs, w.eph, w.proof, ds, &err), CL_OK, "%s", err.msg);
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

/* A header-like associated data block holding seq, and a payload of n pseudo-random bytes. */
static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
}

/* Seals a copy of plain from `from` and opens it at `to`; returns the open status. */
static cl_status send_one(cl_session *from, cl_session *to, const uint8_t *plain, size_t n,
                          cl_error *err) {
  uint64_t seq = cl_session_next_seq(from);
  uint8_t ad[40], tag[CL_TAG_BYTES];
  fill(ad, sizeof ad, (uint32_t)seq);
  memcpy(ad, &seq, sizeof seq);
  uint8_t *buf = malloc(n ? n : 1);
  cr_assert_not_null(buf);
  memcpy(buf, plain, n);
  cl_session_seal(from, seq, ad, sizeof ad, buf, n, tag);
  if (n >= 16) cr_assert_neq(memcmp(buf, plain, n), 0, "the payload was not encrypted");
  cl_status s = cl_session_open(to, seq, ad, sizeof ad, buf, n, tag, err);
  if (s == CL_OK) cr_assert_eq(memcmp(buf, plain, n), 0, "opened payload differs");
  free(buf);
  return s;
}

static cl_keypair dev, wrk;
static cl_allowlist *allow;

static void setup(void) {
  dev = new_keypair();
  wrk = new_keypair();
  allow = allow_of(&dev, 1);
}

static void teardown(void) { cl_allowlist_free(&allow); }

/* === Handshake === */

TestSuite(handshake, .init = setup, .fini = teardown);

Test(handshake, both_sides_agree_and_messages_flow_both_ways) {
  cl_session ds, ws;
  handshake(&dev, &wrk, allow, &ds, &ws);
  cr_assert_eq(memcmp(ds.id, ws.id, CL_SESSION_ID_BYTES), 0);
  cr_assert_eq(memcmp(ds.tx_key, ws.rx_key, 32), 0);
  cr_assert_eq(memcmp(ds.rx_key, ws.tx_key, 32), 0);
  cr_assert_neq(memcmp(ds.tx_key, ds.rx_key, 32), 0);
  cr_assert_eq(memcmp(ds.peer, wrk.pk, CL_KEY_BYTES), 0);
  cr_assert_eq(memcmp(ws.peer, dev.pk, CL_KEY_BYTES), 0);
  static uint8_t plain[70000];
  cl_error err = {0};
  for (int i = 0; i < 3000; i++) {
    size_t n = (size_t)(i * 7919) % sizeof plain;
    if (i % 100 == 0) n = 0;
    fill(plain, n, (uint32_t)i);
    cr_assert_eq(send_one(&ds, &ws, plain, n, &err), CL_OK, "device->worker %d: %s", i, err.msg);
    cr_assert_eq(send_one(&ws, &ds, plain, n, &err), CL_OK, "worker->device %d: %s", i, err.msg);
  }
  cr_assert_eq(ds.tx_seq, 3000);
  cr_assert_eq(ws.rx_max, 3000);
}

Test(handshake, device_state_is_wiped_after_finish) {
  cl_handshake hs;
  hello_msg h;
  welcome_msg w;
  cl_session ds, ws;
  cl_error err = {0};
  say_hello(&hs, &dev, wrk.pk, &h);
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_handshake_finish(&hs, w.eph, w.proof, &ds, &err), CL_OK, "%s", err.msg);
  cr_assert(all_zero(&hs, sizeof hs), "the handshake state still holds secrets");
}

Test(handshake, device_refuses_a_welcome_not_from_the_pinned_worker) {
  /* The device pins wrk; another worker (with the device in its allow-list) answers. */
  cl_keypair other = new_keypair();
  cl_handshake to_pinned, to_other;
  hello_msg h1, h2;
  welcome_msg w2;
  cl_session ds, os;
  cl_error err = {0};
  say_hello(&to_pinned, &dev, wrk.pk, &h1);
  cr_assert_eq(answer(&other, allow, &h1, &w2, &os, &err), CL_ERR_AUTH,
               "a worker without the pinned key accepted the HELLO");
  cr_assert(strstr(err.msg, "HELLO proof does not verify"), "%s", err.msg);
  /* Even a WELCOME that `other` made properly (to a HELLO meant for it) does not pass. */
  say_hello(&to_other, &dev, other.pk, &h2);
  cl_error_clear(&err);
  cr_assert_eq(answer(&other, allow, &h2, &w2, &os, &err), CL_OK, "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(cl_handshake_finish(&to_pinned, w2.eph, w2.proof, &ds, &err), CL_ERR_AUTH);
  cr_assert(strstr(err.msg, "pinned key"), "%s", err.msg);
  cr_assert(all_zero(&ds, sizeof ds), "a session was opened");
}

Test(handshake, worker_refuses_a_device_not_in_the_allow_list) {
  cl_keypair stranger = new_keypair();
  cl_handshake hs;
  hello_msg h;
  welcome_msg w;
  cl_session ws;
  cl_error err = {0};
  say_hello(&hs, &stranger, wrk.pk, &h);
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_ERR_AUTH);
  char b64[CL_KEYS_B64_LEN + 1];
  sodium_bin2base64(b64, sizeof b64, stranger.pk, CL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  cr_assert(strstr(err.msg, "not in the allow-list") && strstr(err.msg, b64), "%s", err.msg);
  cr_assert(all_zero(&ws, sizeof ws));
  /* A device that claims an allowed key without its secret is refused by the proof. */
  memcpy(h.static_key, dev.pk, CL_KEY_BYTES);
  cl_error_clear(&err);
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_ERR_AUTH);
  cr_assert(strstr(err.msg, "proof does not verify"), "%s", err.msg);
}

Test(handshake, every_flipped_bit_of_hello_is_refused) {
  cl_handshake hs;
  hello_msg h;
  welcome_msg w;
  cl_session ws;
  say_hello(&hs, &dev, wrk.pk, &h);
  for (size_t bit = 0; bit < 8 * sizeof h; bit++) {
    hello_msg bad = h;
    ((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    cl_error err = {0};
    cr_assert_eq(answer(&wrk, allow, &bad, &w, &ws, &err), CL_ERR_AUTH, "bit %zu accepted", bit);
    cr_assert(err.msg[0] != '\0');
    cr_assert(all_zero(&ws, sizeof ws));
  }
  cl_error err = {0};
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_OK, "%s", err.msg);
}

Test(handshake, every_flipped_bit_of_welcome_is_refused) {
  for (size_t bit = 0; bit < 8 * sizeof(welcome_msg); bit++) {
    cl_handshake hs;
    hello_msg h;
    welcome_msg w;
    cl_session ds, ws;
    cl_error err = {0};
    say_hello(&hs, &dev, wrk.pk, &h);
    cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_OK, "%s", err.msg);
    ((uint8_t *)&w)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    cr_assert_eq(cl_handshake_finish(&hs, w.eph, w.proof, &ds, &err), CL_ERR_AUTH,
                 "bit %zu accepted", bit);
    cr_assert(all_zero(&hs, sizeof hs) && all_zero(&ds, sizeof ds));
  }
}

Test(handshake, low_order_keys_are_refused) {
  /* The identity point (all zeros) gives an all-zero Diffie-Hellman result. */
  uint8_t zero[CL_KEY_BYTES] = {0};
  cl_handshake hs;
  uint8_t eph[CL_KEY_BYTES], proof[CL_PROOF_BYTES];
  cl_error err = {0};
  cr_assert_eq(cl_handshake_hello(&hs, &dev, zero, eph, proof, &err), CL_ERR_AUTH);
  cr_assert(all_zero(&hs, sizeof hs));
  hello_msg h;
  welcome_msg w;
  cl_session ws;
  say_hello(&hs, &dev, wrk.pk, &h);
  memset(h.eph, 0, sizeof h.eph);
  cl_error_clear(&err);
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_ERR_AUTH);
  cl_session ds;
  cl_error_clear(&err);
  cr_assert_eq(cl_handshake_finish(&hs, zero, w.proof, &ds, &err), CL_ERR_AUTH);
}

Test(handshake, a_replayed_hello_gives_the_attacker_nothing) {
  /* A real handshake, recorded by the attacker. */
  cl_handshake hs;
  hello_msg h;
  welcome_msg w1, w2;
  cl_session ds, ws1, ws2;
  cl_error err = {0};
  say_hello(&hs, &dev, wrk.pk, &h);
  cr_assert_eq(answer(&wrk, allow, &h, &w1, &ws1, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_handshake_finish(&hs, w1.eph, w1.proof, &ds, &err), CL_OK, "%s", err.msg);
  /* The replay: the worker cannot tell, answers with a fresh ephemeral and opens a new session. */
  cr_assert_eq(answer(&wrk, allow, &h, &w2, &ws2, &err), CL_OK, "%s", err.msg);
  cr_assert_neq(memcmp(w1.eph, w2.eph, CL_KEY_BYTES), 0);
  cr_assert_neq(memcmp(ws1.rx_key, ws2.rx_key, 32), 0);
  cr_assert_neq(memcmp(ws1.id, ws2.id, CL_SESSION_ID_BYTES), 0);
  /* Finishing needs the device's ephemeral secret, wiped by the device: even an attacker who later
   * steals the device's static key (and so runs its own HELLO) cannot finish this WELCOME. */
  cl_handshake stolen;
  hello_msg ignored;
  say_hello(&stolen, &dev, wrk.pk, &ignored);
  memcpy(stolen.eph_pk, h.eph, CL_KEY_BYTES);   /* the replayed public ephemeral is all it has */
  cl_session as;
  cl_error_clear(&err);
  cr_assert_eq(cl_handshake_finish(&stolen, w2.eph, w2.proof, &as, &err), CL_ERR_AUTH);
  /* Nor can it use the old session it watched: messages sealed with it do not open in ws2. */
  static const uint8_t plain[64] = {1, 2, 3};
  cl_error_clear(&err);
  cr_assert_eq(send_one(&ds, &ws2, plain, sizeof plain, &err), CL_ERR_AUTH);
  cr_assert_eq(ws2.rx_max, 0, "the replayed session accepted a message");
  /* The real device and its session go on undisturbed. */
  cl_error_clear(&err);
  cr_assert_eq(send_one(&ds, &ws1, plain, sizeof plain, &err), CL_OK, "%s", err.msg);
}

/* The key schedule of docs/SECURITY.md, written again from the document. */
static void ref_mix(uint8_t ck[32], const char *label, const uint8_t *data, size_t n) {
  uint8_t in[64 + 32];
  size_t k = strlen(label) + 1;
  memcpy(in, label, k);
  memcpy(in + k, data, n);
  crypto_generichash(ck, 32, in, k + n, ck, 32);
}

static void ref_dh(uint8_t ck[32], const char *label, const uint8_t *sk, const uint8_t *pk) {
  uint8_t dh[32];
  cr_assert_eq(crypto_scalarmult(dh, sk, pk), 0);
  ref_mix(ck, label, dh, 32);
}

static void ref_out(uint8_t *out, size_t n, const uint8_t ck[32], const char *label) {
  crypto_generichash(out, n, (const uint8_t *)label, strlen(label) + 1, ck, 32);
}

Test(handshake, key_schedule_is_the_documented_one) {
  cl_handshake hs, copy;
  hello_msg h;
  welcome_msg w;
  cl_session ds, ws;
  cl_error err = {0};
  say_hello(&hs, &dev, wrk.pk, &h);
  copy = hs;   /* the device's ephemeral secret, before finish wipes it */
  cr_assert_eq(answer(&wrk, allow, &h, &w, &ws, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_handshake_finish(&hs, w.eph, w.proof, &ds, &err), CL_OK, "%s", err.msg);
  static const char name[] = "cleave/1 KK X25519 BLAKE2b-256 XChaCha20-Poly1305";
  uint8_t ck[32], proof[CL_PROOF_BYTES], key[32], id[CL_SESSION_ID_BYTES];
  crypto_generichash(ck, 32, (const uint8_t *)name, sizeof name - 1, NULL, 0);
  ref_mix(ck, "device static", dev.pk, 32);
  ref_mix(ck, "worker static", wrk.pk, 32);
  ref_mix(ck, "device ephemeral", h.eph, 32);
  ref_dh(ck, "es", copy.eph_sk, wrk.pk);
  ref_dh(ck, "ss", dev.sk, wrk.pk);
  ref_out(proof, sizeof proof, ck, "hello proof");
  cr_assert_eq(memcmp(proof, h.proof, sizeof proof), 0, "HELLO proof");
  cr_assert_eq(memcmp(ck, copy.chain, 32), 0, "chain after HELLO");
  ref_mix(ck, "worker ephemeral", w.eph, 32);
  ref_dh(ck, "ee", copy.eph_sk, w.eph);
  ref_dh(ck, "se", dev.sk, w.eph);
  ref_out(proof, sizeof proof, ck, "welcome proof");
  cr_assert_eq(memcmp(proof, w.proof, sizeof proof), 0, "WELCOME proof");
  ref_out(key, 32, ck, "device->worker key");
  cr_assert_eq(memcmp(key, ds.tx_key, 32), 0, "device->worker key");
  ref_out(key, 32, ck, "worker->device key");
  cr_assert_eq(memcmp(key, ds.rx_key, 32), 0, "worker->device key");
  ref_out(id, sizeof id, ck, "session id");
  cr_assert_eq(memcmp(id, ds.id, sizeof id), 0, "session id");
}

Test(handshake, two_sessions_between_the_same_keys_differ) {
  cl_session d1, w1, d2, w2;
  handshake(&dev, &wrk, allow, &d1, &w1);
  handshake(&dev, &wrk, allow, &d2, &w2);
  cr_assert_neq(memcmp(d1.tx_key, d2.tx_key, 32), 0);
  cr_assert_neq(memcmp(d1.rx_key, d2.rx_key, 32), 0);
  cr_assert_neq(memcmp(d1.id, d2.id, CL_SESSION_ID_BYTES), 0);
  /* A message of one session does not open in the other. */
  static const uint8_t plain[100];
  cl_error err = {0};
  cr_assert_eq(send_one(&d1, &w2, plain, sizeof plain, &err), CL_ERR_AUTH);
}

Test(handshake, many_devices_one_worker) {
  cl_keypair devs[20];
  for (int i = 0; i < 20; i++) devs[i] = new_keypair();
  cl_allowlist *many = allow_of(devs, 20);
  cr_assert_eq(cl_allowlist_count(many), 20);
  for (int i = 0; i < 20; i++) {
    cl_session ds, ws;
    handshake(&devs[i], &wrk, many, &ds, &ws);
    cr_assert_eq(memcmp(ws.peer, devs[i].pk, CL_KEY_BYTES), 0);
  }
  cl_allowlist_free(&many);
  cr_assert_null(many);
}

/* === Sealed messages === */

static cl_session ds, ws;

static void session_setup(void) {
  setup();
  handshake(&dev, &wrk, allow, &ds, &ws);
}

TestSuite(sealed, .init = session_setup, .fini = teardown);

/* One sealed message kept aside so that every test can tamper with a fresh copy. */
typedef struct sealed_msg {
  uint64_t seq;
  uint8_t ad[48], payload[300], tag[CL_TAG_BYTES];
} sealed_msg;

static sealed_msg seal_one(cl_session *from, uint8_t plain[300]) {
  sealed_msg m;
  m.seq = cl_session_next_seq(from);
  fill(m.ad, sizeof m.ad, 7);
  fill(plain, 300, 11);
  memcpy(m.payload, plain, 300);
  cl_session_seal(from, m.seq, m.ad, sizeof m.ad, m.payload, sizeof m.payload, m.tag);
  return m;
}

static cl_status open_copy(cl_session *to, const sealed_msg *m, cl_error *err) {
  sealed_msg c = *m;
  return cl_session_open(to, c.seq, c.ad, sizeof c.ad, c.payload, sizeof c.payload, c.tag, err);
}

Test(sealed, one_flipped_bit_anywhere_is_refused_and_the_session_is_unchanged) {
  uint8_t plain[300];
  sealed_msg m = seal_one(&ds, plain);
  cl_session before = ws;
  size_t bits = 8 * (sizeof m.ad + sizeof m.payload + sizeof m.tag);
  for (size_t bit = 0; bit < bits; bit++) {
    sealed_msg bad = m;
    size_t byte = bit / 8;
    uint8_t *p = byte < sizeof m.ad                      ? bad.ad + byte
                 : byte < sizeof m.ad + sizeof m.payload ? bad.payload + (byte - sizeof m.ad)
                                                         : bad.tag + (byte - sizeof m.ad - sizeof m.payload);
    *p ^= (uint8_t)(1u << (bit % 8));
    cl_error err = {0};
    cr_assert_eq(open_copy(&ws, &bad, &err), CL_ERR_AUTH, "flipped bit %zu accepted", bit);
    cr_assert(strstr(err.msg, "does not authenticate"), "%s", err.msg);
    cr_assert_eq(memcmp(&before, &ws, sizeof ws), 0, "the session changed after bit %zu", bit);
  }
  sealed_msg c = m;
  cl_error err = {0};
  cr_assert_eq(cl_session_open(&ws, c.seq, c.ad, sizeof c.ad, c.payload, sizeof c.payload, c.tag, &err),
               CL_OK, "%s", err.msg);
  cr_assert_eq(memcmp(c.payload, plain, sizeof plain), 0);
}

Test(sealed, another_seq_or_direction_is_refused) {
  uint8_t plain[300];
  sealed_msg m = seal_one(&ds, plain);
  sealed_msg other = m;
  other.seq = m.seq + 1;   /* the header says another number: another nonce */
  cl_error err = {0};
  cr_assert_eq(open_copy(&ws, &other, &err), CL_ERR_AUTH);
  cl_error_clear(&err);
  cr_assert_eq(open_copy(&ds, &m, &err), CL_ERR_AUTH, "a message was reflected to its sender");
  cl_error_clear(&err);
  cr_assert_eq(open_copy(&ws, &m, &err), CL_OK, "%s", err.msg);
}

Test(sealed, a_replayed_seq_is_refused) {
  uint8_t plain[300];
  sealed_msg m = seal_one(&ds, plain);
  cl_error err = {0};
  cr_assert_eq(open_copy(&ws, &m, &err), CL_OK, "%s", err.msg);
  cl_session before = ws;
  cr_assert_eq(open_copy(&ws, &m, &err), CL_ERR_AUTH);
  cr_assert_str_eq(err.msg, "replayed message (seq 1)");
  cr_assert_eq(memcmp(&before, &ws, sizeof ws), 0);
  sealed_msg zero = m;
  zero.seq = 0;
  cl_error_clear(&err);
  cr_assert_eq(open_copy(&ws, &zero, &err), CL_ERR_AUTH);
}

/* Seals messages 1..n from ds, returned in order. */
static sealed_msg *seal_many(int n) {
  sealed_msg *all = calloc((size_t)n, sizeof *all);
  cr_assert_not_null(all);
  uint8_t plain[300];
  for (int i = 0; i < n; i++) {
    all[i] = seal_one(&ds, plain);
    cr_assert_eq(all[i].seq, (uint64_t)i + 1);
  }
  return all;
}

Test(sealed, out_of_order_within_the_window_is_accepted_once_each) {
  enum { N = 4096, BLOCK = 1000 };
  sealed_msg *all = seal_many(N);
  int order[N];
  for (int i = 0; i < N; i++) order[i] = i;
  /* Shuffle inside blocks shorter than the window: every number arrives within it. */
  uint32_t r = 12345;
  for (int b = 0; b < N; b += BLOCK)
    for (int i = (b + BLOCK < N ? b + BLOCK : N) - 1; i > b; i--) {
      r = r * 1664525u + 1013904223u;
      int j = b + (int)(r % (uint32_t)(i - b + 1));
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  for (int i = 0; i < N; i++) {
    cl_error err = {0};
    cr_assert_eq(open_copy(&ws, &all[order[i]], &err), CL_OK, "seq %d: %s", order[i] + 1, err.msg);
    /* A replay of anything already accepted inside the window is refused. */
    int back = order[i / 2];
    if (ws.rx_max - (uint64_t)(back + 1) < CL_REPLAY_WINDOW)
      cr_assert_eq(open_copy(&ws, &all[back], &err), CL_ERR_AUTH, "seq %d accepted twice", back + 1);
  }
  cr_assert_eq(ws.rx_max, N);
  free(all);
}

Test(sealed, older_than_the_window_is_refused) {
  enum { N = 2000 };
  sealed_msg *all = seal_many(N);
  cl_error err = {0};
  cr_assert_eq(open_copy(&ws, &all[N - 1], &err), CL_OK, "%s", err.msg);
  /* Window: (2000 - 1024, 2000]. 976 is out, 977 is in. */
  cr_assert_eq(open_copy(&ws, &all[975], &err), CL_ERR_AUTH);
  cr_assert(strstr(err.msg, "too old message (seq 976,"), "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(open_copy(&ws, &all[976], &err), CL_OK, "%s", err.msg);
  cr_assert_eq(open_copy(&ws, &all[0], &err), CL_ERR_AUTH);
  free(all);
}

Test(sealed, a_jump_beyond_the_window_forgets_the_old_bits) {
  /* Receive 1..10, then a number far ahead: the numbers just under the new one, never seen, are
   * accepted (their bits from the old window must not survive). */
  uint8_t plain[300];
  sealed_msg first[10];
  cl_error err = {0};
  for (int i = 0; i < 10; i++) {
    first[i] = seal_one(&ds, plain);
    cr_assert_eq(open_copy(&ws, &first[i], &err), CL_OK, "%s", err.msg);
  }
  ds.tx_seq = 5000;   /* the sender moved on (its other messages were lost) */
  sealed_msg far = seal_one(&ds, plain);
  cr_assert_eq(open_copy(&ws, &far, &err), CL_OK, "%s", err.msg);
  for (uint64_t seq = 4097; seq <= 4106; seq++) {   /* the same bits as 1..10 (seq % 1024) */
    ds.tx_seq = seq - 1;
    sealed_msg late = seal_one(&ds, plain);
    cr_assert_eq(open_copy(&ws, &late, &err), CL_OK, "seq %d: %s", (int)seq, err.msg);
  }
  ds.tx_seq = 5001 - 1024;   /* the oldest number still inside: 3978 */
  sealed_msg oldest = seal_one(&ds, plain);
  cr_assert_eq(open_copy(&ws, &oldest, &err), CL_OK, "%s", err.msg);
  for (int i = 0; i < 10; i++) cr_assert_eq(open_copy(&ws, &first[i], &err), CL_ERR_AUTH);
}

Test(sealed, empty_payload_and_empty_ad) {
  uint8_t tag[CL_TAG_BYTES];
  uint64_t seq = cl_session_next_seq(&ws);
  cl_session_seal(&ws, seq, NULL, 0, NULL, 0, tag);
  cl_error err = {0};
  cr_assert_eq(cl_session_open(&ds, seq, NULL, 0, NULL, 0, tag, &err), CL_OK, "%s", err.msg);
  tag[0] ^= 1;
  seq = cl_session_next_seq(&ws);
  cr_assert_eq(cl_session_open(&ds, seq, NULL, 0, NULL, 0, tag, &err), CL_ERR_AUTH);
}

Test(sealed, wipe_clears_the_session) {
  cl_session_wipe(&ds);
  cr_assert(all_zero(&ds, sizeof ds));
  cl_session_wipe(NULL);
}

/* === Sequence numbers === */

enum { THREADS = 8, PER_THREAD = 100000 };
static uint64_t taken[THREADS][PER_THREAD];

static void *take_numbers(void *arg) {
  uint64_t *mine = arg;
  for (int i = 0; i < PER_THREAD; i++) mine[i] = cl_session_next_seq(&ds);
  return NULL;
}

Test(sealed, next_seq_is_strictly_increasing_and_atomic_across_threads) {
  cr_assert_eq(cl_session_next_seq(&ds), 1);
  cr_assert_eq(cl_session_next_seq(&ds), 2);
  ds.tx_seq = 0;
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) cr_assert_eq(pthread_create(&t[i], NULL, take_numbers, taken[i]), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  size_t total = (size_t)THREADS * PER_THREAD;
  uint8_t *seen = calloc(total + 1, 1);
  cr_assert_not_null(seen);
  for (int i = 0; i < THREADS; i++)
    for (int k = 0; k < PER_THREAD; k++) {
      uint64_t s = taken[i][k];
      cr_assert(s >= 1 && s <= total, "number %llu out of range", (unsigned long long)s);
      cr_assert_eq(seen[s], 0, "number %llu handed out twice", (unsigned long long)s);
      seen[s] = 1;
      if (k > 0) cr_assert_gt(s, taken[i][k - 1], "not increasing within a thread");
    }
  cr_assert_eq(ds.tx_seq, total);
  free(seen);
}

/* === Throughput (logged, never pass/fail) === */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* MB/s (10^6 bytes) of seal and of open of size-byte messages, sealing for at least `seconds`. */
static void measure(size_t size, double seconds, double *seal_mbs, double *open_mbs) {
  uint8_t *buf = malloc(size);
  cr_assert_not_null(buf);
  fill(buf, size, 3);
  uint8_t ad[200], tag[CL_TAG_BYTES];
  fill(ad, sizeof ad, 5);
  double seal_t = 0, open_t = 0;
  long n = 0;
  while (n < 3 || seal_t < seconds) {
    cl_error err = {0};
    uint64_t seq = cl_session_next_seq(&ds);
    double a = now_s();
    cl_session_seal(&ds, seq, ad, sizeof ad, buf, size, tag);
    double b = now_s();
    cr_assert_eq(cl_session_open(&ws, seq, ad, sizeof ad, buf, size, tag, &err), CL_OK, "%s", err.msg);
    double c = now_s();
    seal_t += b - a;
    open_t += c - b;
    n++;
  }
  *seal_mbs = (double)size * (double)n / seal_t / 1e6;
  *open_mbs = (double)size * (double)n / open_t / 1e6;
  free(buf);
}

Test(sealed, throughput_is_logged) {
  double seconds = getenv("CLEAVE_SEAL_BENCH_SECONDS") ? atof(getenv("CLEAVE_SEAL_BENCH_SECONDS")) : 0.1;
  static const size_t sizes[] = {64 << 10, 1 << 20, 16 << 20};
  for (int i = 0; i < 3; i++) {
    double s, o;
    measure(sizes[i], seconds, &s, &o);
    cr_log_info("seal/open %8zu bytes: seal %.0f MB/s, open %.0f MB/s (one core)", sizes[i], s, o);
  }
}
