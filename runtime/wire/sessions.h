/* cleave internal: the server's session table.
 *
 * A fixed number of slots, allocated once. A session is found by its 16-byte id (the header's
 * `session`) and belongs to the ZeroMQ connection (ROUTER identity) whose HELLO opened it: a
 * message for it from another connection is refused. Limits (docs/SECURITY.md, section 8):
 *   - at most max_per_key sessions per device key (insecure sessions have no key: only the total
 *     applies), at most cap in all;
 *   - a session that has not received a request within min(10 s, idle_ms) of its HELLO, or nothing
 *     for idle_ms, is closed by cl_sessions_expire (never while a worker uses it);
 *   - a new HELLO never closes a session that has received a request: when its key (or the table)
 *     is full, the oldest session that never did is replaced, and if there is none the HELLO is
 *     refused (CL_ERR_LIMIT).
 *
 * Thread safety: every function takes the table's lock; cl_sessions_open_msg serialises
 * cl_session_open per session with the entry's own lock; an acquired entry stays valid (and is
 * not expired or replaced) until released. */
#ifndef CLEAVE_WIRE_SESSIONS_H
#define CLEAVE_WIRE_SESSIONS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cleave/seal.h"
#include "cleave/status.h"

#define CL_SESSIONS_IDENTITY_MAX 255            /* ZeroMQ routing ids are at most 255 bytes */
#define CL_SESSIONS_UNCONFIRMED_MS 10000        /* HELLO -> first request, at most */

typedef struct cl_sessions_entry {
  int used;                    /* slot holds a session */
  cl_session s;                /* keys, sequence numbers, replay window (zero keys when insecure) */
  int insecure;                /* opened without a seal */
  int model;                   /* index of the model the HELLO named */
  uint8_t identity[CL_SESSIONS_IDENTITY_MAX]; /* ROUTER identity of the connection */
  size_t identity_len;
  int refs;                    /* workers using the entry now */
  int confirmed;               /* a request opened (the device holds the keys) */
  int closing;                 /* BYE received: dropped when the last reference goes */
  int64_t opened_ms;           /* when the HELLO was accepted */
  int64_t last_ms;             /* last accepted message */
  pthread_mutex_t open_lock;   /* serialises cl_session_open */
} cl_sessions_entry;

typedef struct cl_sessions {
  pthread_mutex_t lock;
  cl_sessions_entry *e;        /* cap entries, owned */
  int cap, max_per_key, live;
  int64_t idle_ms, unconfirmed_ms;
} cl_sessions;

/* Allocates cap entries. Errors: CL_ERR_NOMEM. */
cl_status cl_sessions_init(cl_sessions *t, int cap, int max_per_key, int64_t idle_ms,
                           cl_error *err) CL_MUST_CHECK;

/* Wipes every session and frees the table. Safe on a zeroed table. */
void cl_sessions_destroy(cl_sessions *t);

/* Adds a session (copied; the caller wipes its copy) for the connection identity. Applies the
 * limits above. Errors: CL_ERR_LIMIT (full: "too many sessions for device key ..."). */
cl_status cl_sessions_insert(cl_sessions *t, const cl_session *s, int insecure, int model,
                             const uint8_t *identity, size_t identity_len, int64_t now_ms,
                             cl_error *err) CL_MUST_CHECK;

/* Finds the session id and takes a reference. Errors: CL_ERR_PROTOCOL (unknown or expired session),
 * CL_ERR_AUTH (the session belongs to another connection). */
cl_status cl_sessions_acquire(cl_sessions *t, const uint8_t id[CL_SESSION_ID_BYTES],
                              const uint8_t *identity, size_t identity_len, cl_sessions_entry **out,
                              cl_error *err) CL_MUST_CHECK;

/* Opens a message with the entry's session (cl_session_open under the entry's lock); on success the
 * session is confirmed and its idle clock restarts. */
cl_status cl_sessions_open_msg(cl_sessions *t, cl_sessions_entry *e, uint64_t seq, const uint8_t *ad,
                               size_t ad_len, uint8_t *msg, size_t len,
                               const uint8_t tag[CL_TAG_BYTES], int64_t now_ms,
                               cl_error *err) CL_MUST_CHECK;

/* Marks an insecure session used (it has nothing to open). */
void cl_sessions_touch(cl_sessions *t, cl_sessions_entry *e, int64_t now_ms);

/* Drops the reference (NULL: nothing); a closing session goes with its last reference. */
void cl_sessions_release(cl_sessions *t, cl_sessions_entry *e);

/* Closes an acquired session (after its BYE opened): no new acquire finds it, and it is wiped
 * when released by everyone. */
void cl_sessions_close(cl_sessions *t, cl_sessions_entry *e);

/* Closes (wipes) the sessions past their deadline that no worker uses; returns how many. */
int cl_sessions_expire(cl_sessions *t, int64_t now_ms);

/* Sessions open now. */
int cl_sessions_live(cl_sessions *t);

#endif
