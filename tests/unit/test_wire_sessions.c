/* cleave tests: the server's session table (runtime/wire/sessions.c): limits per key and in all,
 * which session a HELLO may replace, expiry, connection binding, BYE. */
#include <criterion/criterion.h>
#include <string.h>

#include "wire/sessions.h"

static cl_sessions t;

static cl_session session(uint8_t key, uint8_t id) {
  cl_session s;
  memset(&s, 0, sizeof s);
  memset(s.peer, key, sizeof s.peer);
  memset(s.id, id, sizeof s.id);
  return s;
}

static cl_status insert(uint8_t key, uint8_t id, int64_t now, cl_error *err) {
  cl_session s = session(key, id);
  return cl_sessions_insert(&t, &s, 0, 0, (const uint8_t *)"conn", 4, now, err);
}

static cl_sessions_entry *acquire(uint8_t id) {
  uint8_t sid[CL_SESSION_ID_BYTES];
  memset(sid, id, sizeof sid);
  cl_sessions_entry *e = NULL;
  cl_error err = {0};
  return cl_sessions_acquire(&t, sid, (const uint8_t *)"conn", 4, &e, &err) == CL_OK ? e : NULL;
}

/* Confirms session id (as a request that opened would). */
static void confirm(uint8_t id, int64_t now) {
  cl_sessions_entry *e = acquire(id);
  cr_assert_not_null(e);
  cl_sessions_touch(&t, e, now);
  cl_sessions_release(&t, e);
}

static void fini(void) { cl_sessions_destroy(&t); }

Test(sessions, per_key_limit_replaces_only_sessions_that_never_worked, .fini = fini) {
  cr_assert_eq(cl_sessions_init(&t, 16, 3, 60000, NULL), CL_OK);
  for (uint8_t i = 1; i <= 3; i++) cr_assert_eq(insert(7, i, i, NULL), CL_OK);
  confirm(1, 10), confirm(2, 10);
  cr_assert_eq(insert(7, 4, 20, NULL), CL_OK, "replaces 3, which never worked");
  cr_expect_null(acquire(3));
  cr_expect_not_null(acquire(1));
  cl_sessions_release(&t, acquire(1)), cl_sessions_release(&t, acquire(1));
  confirm(4, 30);
  cl_error err = {0};
  cr_expect_eq(insert(7, 5, 40, &err), CL_ERR_LIMIT);
  cr_expect_str_eq(err.msg, "too many sessions for this device key (3, all in use)");
  cr_expect_eq(insert(8, 6, 40, NULL), CL_OK, "another key is not limited by this one");
  cr_expect_eq(cl_sessions_live(&t), 4);
}

Test(sessions, total_limit, .fini = fini) {
  cr_assert_eq(cl_sessions_init(&t, 3, 3, 60000, NULL), CL_OK);
  for (uint8_t i = 1; i <= 3; i++) cr_assert_eq(insert(i, i, i, NULL), CL_OK);
  confirm(1, 5), confirm(3, 5);
  cr_expect_eq(insert(9, 9, 10, NULL), CL_OK, "replaces the unconfirmed session 2");
  cr_expect_null(acquire(2));
  confirm(9, 11);
  cl_error err = {0};
  cr_expect_eq(insert(10, 10, 12, &err), CL_ERR_LIMIT);
  cr_expect_str_eq(err.msg, "too many sessions (3, all in use)");
}

Test(sessions, expiry_spares_sessions_in_use, .fini = fini) {
  cr_assert_eq(cl_sessions_init(&t, 8, 8, 60000, NULL), CL_OK);
  cr_assert_eq(insert(1, 1, 0, NULL), CL_OK);   /* never confirmed: 10 s */
  cr_assert_eq(insert(1, 2, 0, NULL), CL_OK);
  confirm(2, 0);                                 /* confirmed: 60 s */
  cr_expect_eq(cl_sessions_expire(&t, 9999), 0);
  cr_expect_eq(cl_sessions_expire(&t, 10000), 1);
  cr_expect_null(acquire(1));
  cl_sessions_entry *e = acquire(2);
  cr_assert_not_null(e);
  cr_expect_eq(cl_sessions_expire(&t, 100000), 0, "a worker holds it");
  cl_sessions_release(&t, e);
  cr_expect_eq(cl_sessions_expire(&t, 100000), 1);
  cr_expect_eq(cl_sessions_live(&t), 0);
}

Test(sessions, bound_to_their_connection, .fini = fini) {
  cr_assert_eq(cl_sessions_init(&t, 4, 4, 60000, NULL), CL_OK);
  cr_assert_eq(insert(1, 1, 0, NULL), CL_OK);
  uint8_t sid[CL_SESSION_ID_BYTES];
  memset(sid, 1, sizeof sid);
  cl_sessions_entry *e = NULL;
  cl_error err = {0};
  cr_expect_eq(cl_sessions_acquire(&t, sid, (const uint8_t *)"other", 5, &e, &err), CL_ERR_AUTH);
  cr_expect_str_eq(err.msg, "the session belongs to another connection");
  memset(sid, 2, sizeof sid);
  cl_error_clear(&err);
  cr_expect_eq(cl_sessions_acquire(&t, sid, (const uint8_t *)"conn", 4, &e, &err), CL_ERR_PROTOCOL);
  cr_expect_str_eq(err.msg, "unknown or expired session (handshake again)");
}

Test(sessions, bye_closes_once_released, .fini = fini) {
  cr_assert_eq(cl_sessions_init(&t, 4, 4, 60000, NULL), CL_OK);
  cr_assert_eq(insert(1, 1, 0, NULL), CL_OK);
  cl_sessions_entry *a = acquire(1), *b = acquire(1);
  cr_assert(a && b);
  cl_sessions_close(&t, a);
  cr_expect_null(acquire(1), "closing: not found any more");
  cl_sessions_release(&t, a);
  cr_expect_eq(cl_sessions_live(&t), 1, "still held by b");
  cl_sessions_release(&t, b);
  cr_expect_eq(cl_sessions_live(&t), 0);
}
