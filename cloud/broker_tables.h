/* cleave-cloud internal: the broker's tables, fixed sizes allocated at create: workers ready, the
 * messages in flight to them (to answer or re-route when a worker is lost), and which worker holds
 * which session. Single-threaded (the broker's run thread). */
#ifndef CLEAVE_CLOUD_BROKER_TABLES_H
#define CLEAVE_CLOUD_BROKER_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "cleave/seal.h"

#define BROKER_ID_MAX 255           /* ZeroMQ routing ids are at most 255 bytes */
#define BROKER_HELLO_MAX 512        /* a HELLO header kept for a re-send (a real one is ~150 B) */
#define BROKER_MODELS 8

typedef struct bk_worker {
  int used;
  uint8_t id[BROKER_ID_MAX];   /* its routing id on the back socket */
  size_t id_len;
  int capacity, inflight;      /* READY's capacity; messages handed and not answered */
  int64_t expires_ms;          /* dropped when nothing came by then */
  uint64_t last_pick;          /* when it last got a HELLO (least recently used first) */
  int n_models;
  uint8_t models[BROKER_MODELS][32];
} bk_worker;

typedef struct bk_pending {
  int used;
  int worker;                  /* index in the worker table */
  uint8_t dev[BROKER_ID_MAX];  /* the device's routing id on the front socket */
  size_t dev_len;
  uint64_t request_id;         /* 0: a HELLO */
  uint8_t session[CL_SESSION_ID_BYTES];
  uint8_t hello[BROKER_HELLO_MAX]; /* HELLO: its header, to send it again elsewhere */
  uint8_t model[32];           /* HELLO: the model it names */
  int64_t since_ms;            /* when it was handed over */
  size_t hello_len;
} bk_pending;

typedef struct bk_route {
  int used;
  uint8_t session[CL_SESSION_ID_BYTES];
  int worker;
  uint64_t last_use;
} bk_route;

typedef struct bk_tables {
  bk_worker workers[CL_BROKER_MAX_WORKERS];
  bk_pending *pending;         /* cap */
  bk_route *routes;            /* cap */
  int cap, pending_hi;         /* pending_hi: one past the highest used pending entry */
  uint64_t clock;              /* counts picks and route uses (LRU) */
} bk_tables;

int bk_tables_init(bk_tables *t, int cap);   /* 0, or -1 out of memory */
void bk_tables_free(bk_tables *t);

/* Workers. */
int bk_worker_find(const bk_tables *t, const uint8_t *id, size_t len);   /* index or -1 */
int bk_worker_add(bk_tables *t, const uint8_t *id, size_t len);          /* index or -1 (full) */
/* The readiest worker serving model (most free capacity, then least recently picked), not
 * `except`; -1 when none. Counts the pick. */
int bk_worker_pick(bk_tables *t, const uint8_t model[32], int except);
int bk_workers_ready(const bk_tables *t);

/* Messages in flight. */
bk_pending *bk_pending_add(bk_tables *t);    /* a free entry (used, zeroed otherwise) or NULL */
/* The entry of worker w for this device and request id (0: its HELLO); NULL when none. */
bk_pending *bk_pending_find(bk_tables *t, int w, const uint8_t *dev, size_t dev_len,
                            uint64_t request_id);
void bk_pending_drop(bk_tables *t, bk_pending *p);

/* Sessions. */
int bk_route_find(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES]);   /* worker or -1 */
void bk_route_set(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES], int worker);
void bk_route_drop(bk_tables *t, const uint8_t session[CL_SESSION_ID_BYTES]);
void bk_routes_drop_worker(bk_tables *t, int worker);

#endif
