/* cleave-cloud's tables (cloud/broker_tables.c): the readiest worker is chosen, messages in flight
 * are found by worker, device and request id, session routes are found, replaced least recently
 * used first when full, and dropped with their worker. */
#include <criterion/criterion.h>
#include <string.h>

#include "broker_tables.h"

static const uint8_t model_a[32] = {1}, model_b[32] = {2};

static int add_worker(bk_tables *t, const char *id, int capacity, const uint8_t *model) {
  int w = bk_worker_add(t, (const uint8_t *)id, strlen(id));
  cr_assert_geq(w, 0);
  t->workers[w].capacity = capacity;
  t->workers[w].n_models = 1;
  memcpy(t->workers[w].models[0], model, 32);
  return w;
}

Test(broker_tables, the_readiest_worker_serving_the_model_is_picked) {
  bk_tables t;
  cr_assert_eq(bk_tables_init(&t, 16), 0);
  int a = add_worker(&t, "wa", 2, model_a), b = add_worker(&t, "wb", 4, model_a);
  int c = add_worker(&t, "wc", 8, model_b);
  cr_expect_eq(bk_worker_pick(&t, model_b, -1), c);
  int first = bk_worker_pick(&t, model_a, -1), second = bk_worker_pick(&t, model_a, -1);
  cr_expect(first != second, "equal free shares: least recently picked first");
  t.workers[a].inflight = 2;                 /* full */
  t.workers[b].inflight = 1;                 /* 3 of 4 free */
  cr_expect_eq(bk_worker_pick(&t, model_a, -1), b);
  cr_expect_eq(bk_worker_pick(&t, model_a, b), a, "except b: the only other one, even full");
  static const uint8_t none[32] = {9};
  cr_expect_eq(bk_worker_pick(&t, none, -1), -1);
  cr_expect_eq(bk_worker_find(&t, (const uint8_t *)"wb", 2), b);
  t.workers[b].used = 0;
  cr_expect_eq(bk_worker_find(&t, (const uint8_t *)"wb", 2), -1);
  cr_expect_eq(bk_workers_ready(&t), 2);
  bk_tables_free(&t);
}

Test(broker_tables, messages_in_flight_are_found_and_dropped) {
  bk_tables t;
  cr_assert_eq(bk_tables_init(&t, 4), 0);
  bk_pending *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = bk_pending_add(&t);
    cr_assert_not_null(p[i]);
    p[i]->worker = i % 2;
    p[i]->dev_len = 2;
    memcpy(p[i]->dev, i < 2 ? "d1" : "d2", 2);
    p[i]->request_id = (uint64_t)i;
  }
  cr_expect_null(bk_pending_add(&t), "full");
  cr_expect_eq(bk_pending_find(&t, 1, (const uint8_t *)"d2", 2, 3), p[3]);
  cr_expect_null(bk_pending_find(&t, 0, (const uint8_t *)"d2", 2, 3), "another worker's");
  cr_expect_null(bk_pending_find(&t, 1, (const uint8_t *)"d1", 2, 3), "another device's");
  bk_pending_drop(&t, p[3]);
  cr_expect_eq(t.pending_hi, 3);
  cr_expect_null(bk_pending_find(&t, 1, (const uint8_t *)"d2", 2, 3));
  cr_expect_eq(bk_pending_add(&t), p[3], "a freed entry is reused");
  bk_tables_free(&t);
}

Test(broker_tables, session_routes_replace_the_least_recently_used) {
  bk_tables t;
  cr_assert_eq(bk_tables_init(&t, 3), 0);
  uint8_t s[4][CL_SESSION_ID_BYTES];
  for (int i = 0; i < 4; i++) memset(s[i], 'a' + i, sizeof s[i]);
  bk_route_set(&t, s[0], 0);
  bk_route_set(&t, s[1], 1);
  bk_route_set(&t, s[2], 1);
  cr_expect_eq(bk_route_find(&t, s[0]), 0);   /* s[1] is now the least recently used */
  bk_route_set(&t, s[3], 2);
  cr_expect_eq(bk_route_find(&t, s[1]), -1);
  cr_expect_eq(bk_route_find(&t, s[3]), 2);
  bk_route_set(&t, s[0], 2);                   /* moved */
  cr_expect_eq(bk_route_find(&t, s[0]), 2);
  bk_routes_drop_worker(&t, 2);
  cr_expect_eq(bk_route_find(&t, s[0]), -1);
  cr_expect_eq(bk_route_find(&t, s[3]), -1);
  cr_expect_eq(bk_route_find(&t, s[2]), 1);
  bk_route_drop(&t, s[2]);
  cr_expect_eq(bk_route_find(&t, s[2]), -1);
  bk_tables_free(&t);
}
