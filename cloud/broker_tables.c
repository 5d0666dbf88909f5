/* cleave-cloud: the broker's tables (workers, messages in flight, session routes). */
#include "broker_tables.h"

#include <stdlib.h>
#include <string.h>

int bk_tables_init(bk_tables *t, int cap) {
  memset(t, 0, sizeof *t);
  t->cap = cap;
  t->pending = calloc((size_t)cap, sizeof *t->pending);
  t->routes = calloc((size_t)cap, sizeof *t->routes);
  return t->pending && t->routes ? 0 : -1;
}

void bk_tables_free(bk_tables *t) {
  free(t->pending);
  free(t->routes);
  memset(t, 0, sizeof *t);
}

/* === Workers === */

int bk_worker_find(const bk_tables *t, const uint8_t *id, size_t len) {
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++)
    if (t->workers[i].used && t->workers[i].id_len == len && memcmp(t->workers[i].id, id, len) == 0)
      return i;
  return -1;
}

int bk_worker_add(bk_tables *t, const uint8_t *id, size_t len) {
  if (len > BROKER_ID_MAX) return -1;
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++) {
    bk_worker *w = &t->workers[i];
    if (w->used) continue;
    memset(w, 0, sizeof *w);
    w->used = 1;
    memcpy(w->id, id, len);
    w->id_len = len;
    return i;
  }
  return -1;
}

static int serves(const bk_worker *w, const uint8_t model[32]) {
  for (int i = 0; i < w->n_models; i++)
    if (memcmp(w->models[i], model, 32) == 0) return 1;
  return 0;
}

int bk_worker_pick(bk_tables *t, const uint8_t model[32], int except) {
  int best = -1;
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++) {
    const bk_worker *w = &t->workers[i];
    if (!w->used || i == except || !serves(w, model)) continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const bk_worker *b = &t->workers[best];
    /* free share of capacity: compare (cap - inflight) / cap without dividing */
    long lhs = (long)(w->capacity - w->inflight) * b->capacity;
    long rhs = (long)(b->capacity - b->inflight) * w->capacity;
    if (lhs > rhs || (lhs == rhs && w->last_pick < b->last_pick)) best = i;
  }
  if (best >= 0) t->workers[best].last_pick = ++t->clock;
  return best;
}

int bk_workers_ready(const bk_tables *t) {
  int n = 0;
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++) n += t->workers[i].used;
  return n;
}

/* === Messages in flight === */

bk_pending *bk_pending_add(bk_tables *t) {
  for (int i = 0; i < t->cap; i++) {
    bk_pending *p = &t->pending[i];
    if (p->used) continue;
    p->used = 1;
    p->hello_len = 0;
    if (i + 1 > t->pending_hi) t->pending_hi = i + 1;
    return p;
  }
  return NULL;
}

bk_pending *bk_pending_find(bk_tables *t, int w, const uint8_t *dev, size_t dev_len,
                            uint64_t request_id) {
  for (int i = 0; i < t->pending_hi; i++) {
    bk_pending *p = &t->pending[i];
    if (p->used && p->worker == w && p->request_id == request_id && p->dev_len == dev_len &&
        memcmp(p->dev, dev, dev_len) == 0)
      return p;
  }
  return NULL;
}

void bk_pending_drop(bk_tables *t, bk_pending *p) {
  p->used = 0;
  while (t->pending_hi > 0 && !t->pending[t->pending_hi - 1].used) t->pending_hi--;
}

/* === Session routes === */

int bk_route_find(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES]) {
  for (int i = 0; i < t->cap; i++) {
    bk_route *r = &t->routes[i];
    if (r->used && memcmp(r->session, session, CL_SESSION_ID_BYTES) == 0) {
      r->last_use = ++t->clock;
      return r->worker;
    }
  }
  return -1;
}

void bk_route_set(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES], int worker) {
  bk_route *slot = NULL;
  for (int i = 0; i < t->cap; i++) {
    bk_route *r = &t->routes[i];
    if (!r->used) {
      if (!slot || slot->used) slot = r;
    } else if (memcmp(r->session, session, CL_SESSION_ID_BYTES) == 0) {
      slot = r;
      break;
    } else if (!slot || (slot->used && r->last_use < slot->last_use)) {
      slot = r;   /* the least recently used goes when the table is full */
    }
  }
  slot->used = 1;
  memcpy(slot->session, session, CL_SESSION_ID_BYTES);
  slot->worker = worker;
  slot->last_use = ++t->clock;
}

void bk_route_drop(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES]) {
  for (int i = 0; i < t->cap; i++)
    if (t->routes[i].used && memcmp(t->routes[i].session, session, CL_SESSION_ID_BYTES) == 0)
      t->routes[i].used = 0;
}

void bk_routes_drop_worker(bk_tables *t, int worker) {
  for (int i = 0; i < t->cap; i++)
    if (t->routes[i].used && t->routes[i].worker == worker) t->routes[i].used = 0;
}
