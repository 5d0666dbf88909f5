/* cleave: the server's session table: bounded, per-key limits, expiry, connection binding. */
#include "wire/sessions.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* === Life === */

cl_status cl_sessions_init(cl_sessions *t, int cap, int max_per_key, int64_t idle_ms,
                           cl_error *err) {
  assert(t != NULL && cap > 0 && max_per_key > 0 && idle_ms > 0);
  memset(t, 0, sizeof *t);
  t->e = calloc((size_t)cap, sizeof *t->e);
  if (!t->e) return cl_error_set(err, CL_ERR_NOMEM, "out of memory for %d sessions", cap);
  t->cap = cap;
  t->max_per_key = max_per_key;
  t->idle_ms = idle_ms;
  t->unconfirmed_ms = idle_ms < CL_SESSIONS_UNCONFIRMED_MS ? idle_ms : CL_SESSIONS_UNCONFIRMED_MS;
  pthread_mutex_init(&t->lock, NULL);
  for (int i = 0; i < cap; i++) pthread_mutex_init(&t->e[i].open_lock, NULL);
  return CL_OK;
}

void cl_sessions_destroy(cl_sessions *t) {
  if (!t || !t->e) return;
  for (int i = 0; i < t->cap; i++) {
    cl_session_wipe(&t->e[i].s);
    pthread_mutex_destroy(&t->e[i].open_lock);
  }
  pthread_mutex_destroy(&t->lock);
  free(t->e);
  memset(t, 0, sizeof *t);
}

/* Empties a slot (the table lock held, no reference). */
static void drop(cl_sessions *t, cl_sessions_entry *e) {
  cl_session_wipe(&e->s);
  e->used = 0;
  e->refs = 0;
  e->confirmed = 0;
  e->closing = 0;
  e->identity_len = 0;
  t->live--;
}

/* === Inserting === */

static int same_key(const cl_sessions_entry *e, const cl_session *s, int insecure) {
  return !insecure && !e->insecure && memcmp(e->s.peer, s->peer, CL_KEY_BYTES) == 0;
}

/* The oldest unconfirmed, unused session among those that match (key: same key only). */
static cl_sessions_entry *oldest_unconfirmed(cl_sessions *t, const cl_session *s, int insecure,
                                             int key) {
  cl_sessions_entry *best = NULL;
  for (int i = 0; i < t->cap; i++) {
    cl_sessions_entry *e = &t->e[i];
    if (!e->used || e->confirmed || e->refs || (key && !same_key(e, s, insecure))) continue;
    if (!best || e->opened_ms < best->opened_ms) best = e;
  }
  return best;
}

/* A slot for a new session of s's key: a free one, or one that a HELLO may replace. */
static cl_sessions_entry *pick_slot(cl_sessions *t, const cl_session *s, int insecure, cl_error *err) {
  int mine = 0;
  cl_sessions_entry *free_slot = NULL;
  for (int i = 0; i < t->cap; i++) {
    if (t->e[i].used) mine += same_key(&t->e[i], s, insecure);
    else if (!free_slot) free_slot = &t->e[i];
  }
  if (!insecure && mine >= t->max_per_key) {
    cl_sessions_entry *e = oldest_unconfirmed(t, s, insecure, 1);
    if (!e)
      cl_error_set(err, CL_ERR_LIMIT, "too many sessions for this device key (%d, all in use)",
                   t->max_per_key);
    return e;
  }
  if (free_slot) return free_slot;
  cl_sessions_entry *e = oldest_unconfirmed(t, s, insecure, 0);
  if (!e) cl_error_set(err, CL_ERR_LIMIT, "too many sessions (%d, all in use)", t->cap);
  return e;
}

cl_status cl_sessions_insert(cl_sessions *t, const cl_session *s, int insecure, int model,
                             const uint8_t *identity, size_t identity_len, int64_t now_ms,
                             cl_error *err) {
  assert(t != NULL && s != NULL && identity_len <= CL_SESSIONS_IDENTITY_MAX);
  pthread_mutex_lock(&t->lock);
  cl_sessions_entry *e = pick_slot(t, s, insecure, err);
  if (e) {
    if (e->used) drop(t, e);
    e->s = *s;
    e->insecure = insecure;
    e->model = model;
    memcpy(e->identity, identity, identity_len);
    e->identity_len = identity_len;
    e->opened_ms = e->last_ms = now_ms;
    e->used = 1;
    t->live++;
  }
  pthread_mutex_unlock(&t->lock);
  return e ? CL_OK : CL_ERR_LIMIT;
}

/* === Using === */

cl_status cl_sessions_acquire(cl_sessions *t, const uint8_t id[CL_SESSION_ID_BYTES],
                              const uint8_t *identity, size_t identity_len, cl_sessions_entry **out,
                              cl_error *err) {
  assert(t != NULL && id != NULL && out != NULL);
  *out = NULL;
  cl_status st = CL_OK;
  pthread_mutex_lock(&t->lock);
  cl_sessions_entry *e = NULL;
  for (int i = 0; i < t->cap && !e; i++)
    if (t->e[i].used && !t->e[i].closing && memcmp(t->e[i].s.id, id, CL_SESSION_ID_BYTES) == 0)
      e = &t->e[i];
  if (!e) {
    st = cl_error_set(err, CL_ERR_PROTOCOL, "unknown or expired session (handshake again)");
  } else if (e->identity_len != identity_len || memcmp(e->identity, identity, identity_len) != 0) {
    st = cl_error_set(err, CL_ERR_AUTH, "the session belongs to another connection");
  } else {
    e->refs++;
    *out = e;
  }
  pthread_mutex_unlock(&t->lock);
  return st;
}

cl_status cl_sessions_open_msg(cl_sessions *t, cl_sessions_entry *e, uint64_t seq, const uint8_t *ad,
                               size_t ad_len, uint8_t *msg, size_t len,
                               const uint8_t tag[CL_TAG_BYTES], int64_t now_ms, cl_error *err) {
  assert(t != NULL && e != NULL && e->refs > 0);
  pthread_mutex_lock(&e->open_lock);
  cl_status st = cl_session_open(&e->s, seq, ad, ad_len, msg, len, tag, err);
  pthread_mutex_unlock(&e->open_lock);
  if (st == CL_OK) cl_sessions_touch(t, e, now_ms);
  return st;
}

void cl_sessions_touch(cl_sessions *t, cl_sessions_entry *e, int64_t now_ms) {
  pthread_mutex_lock(&t->lock);
  e->confirmed = 1;
  if (now_ms > e->last_ms) e->last_ms = now_ms;
  pthread_mutex_unlock(&t->lock);
}

void cl_sessions_release(cl_sessions *t, cl_sessions_entry *e) {
  if (!e) return;
  pthread_mutex_lock(&t->lock);
  assert(e->refs > 0);
  e->refs--;
  if (e->closing && e->refs == 0) drop(t, e);
  pthread_mutex_unlock(&t->lock);
}

void cl_sessions_close(cl_sessions *t, cl_sessions_entry *e) {
  pthread_mutex_lock(&t->lock);
  assert(e->refs > 0);
  e->closing = 1;
  pthread_mutex_unlock(&t->lock);
}

/* === Expiry === */

int cl_sessions_expire(cl_sessions *t, int64_t now_ms) {
  int n = 0;
  pthread_mutex_lock(&t->lock);
  for (int i = 0; i < t->cap; i++) {
    cl_sessions_entry *e = &t->e[i];
    if (!e->used || e->refs) continue;
    int64_t limit = e->confirmed ? t->idle_ms : t->unconfirmed_ms;
    if (now_ms - e->last_ms >= limit) {
      drop(t, e);
      n++;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return n;
}

int cl_sessions_live(cl_sessions *t) {
  pthread_mutex_lock(&t->lock);
  int n = t->live;
  pthread_mutex_unlock(&t->lock);
  return n;
}
