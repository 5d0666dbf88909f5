/* cleave end-to-end: a recording TCP relay and a search for plaintext in what it recorded.
 *
 * The relay listens on 127.0.0.1:<free port> and forwards every connection to 127.0.0.1:target,
 * both ways, keeping a copy of every byte that crosses (device -> edge in `up`, edge -> device in
 * `down`): what a capture of the loopback interface would hold, without root.
 *
 * The search: every 16-byte window of a plaintext (a tensor as it lies in memory, an encoded payload
 * before sealing) is looked up in a capture; windows whose 16 bytes are all equal are left out
 * (they say nothing: zero padding looks the same in any format). Include from test files only. */
#ifndef CLEAVE_TESTS_CAPTURE_RELAY_H
#define CLEAVE_TESTS_CAPTURE_RELAY_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_MAX_CONNS 16
#define CAPTURE_WINDOW 16

/* === The relay === */

typedef struct capture_buf {
  uint8_t *data;               /* malloc'ed, len bytes recorded */
  size_t len, cap;
} capture_buf;

typedef struct relay {
  int listen_fd;
  int port;                    /* where devices connect */
  int target_port;             /* the edge */
  pthread_t thread;
  int stop;                    /* atomic: the thread returns */
  int fds[RELAY_MAX_CONNS][2]; /* per connection: [0] the device's side, [1] the edge's; -1 closed */
  int conns;                   /* connections accepted */
  capture_buf up, down;        /* device -> edge, edge -> device */
  int failed;                  /* a forward failed (the test fails) */
} relay;

static inline void capture_append(capture_buf *b, const uint8_t *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap < b->len + n) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) abort();
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static inline int relay_write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static inline int relay_connect_target(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

static inline void relay_close_pair(int pair[2]) {
  for (int k = 0; k < 2; k++)
    if (pair[k] >= 0) close(pair[k]), pair[k] = -1;
}

static inline void *relay_main(void *arg) {
  relay *r = arg;
  static __thread uint8_t buf[1 << 16];
  while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
    struct pollfd p[1 + 2 * RELAY_MAX_CONNS];
    int who[1 + 2 * RELAY_MAX_CONNS], n = 0;
    p[n] = (struct pollfd){r->listen_fd, POLLIN, 0};
    who[n++] = -1;
    for (int i = 0; i < r->conns; i++)
      for (int k = 0; k < 2; k++)
        if (r->fds[i][k] >= 0) {
          p[n] = (struct pollfd){r->fds[i][k], POLLIN, 0};
          who[n++] = 2 * i + k;
        }
    if (poll(p, (nfds_t)n, 50) <= 0) continue;
    for (int j = 0; j < n; j++) {
      if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (who[j] < 0) {
        int c = accept(r->listen_fd, NULL, NULL);
        if (c < 0) continue;
        int t = r->conns < RELAY_MAX_CONNS ? relay_connect_target(r->target_port) : -1;
        if (t < 0) {
          close(c);
          r->failed = 1;
          continue;
        }
        r->fds[r->conns][0] = c;
        r->fds[r->conns][1] = t;
        r->conns++;
        continue;
      }
      int i = who[j] / 2, k = who[j] % 2;
      if (r->fds[i][k] < 0) continue;   /* closed earlier in this round */
      ssize_t got = recv(r->fds[i][k], buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {                 /* one side closed: close both (ZeroMQ reconnects if needed) */
        relay_close_pair(r->fds[i]);
        continue;
      }
      capture_append(k == 0 ? &r->up : &r->down, buf, (size_t)got);
      if (relay_write_all(r->fds[i][1 - k], buf, (size_t)got) != 0) relay_close_pair(r->fds[i]);
    }
  }
  for (int i = 0; i < r->conns; i++) relay_close_pair(r->fds[i]);
  return NULL;
}

/* Starts a relay to 127.0.0.1:target_port; r->port is where to connect. */
static inline void relay_start(relay *r, int target_port) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < RELAY_MAX_CONNS; i++) r->fds[i][0] = r->fds[i][1] = -1;
  r->target_port = target_port;
  r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(r->listen_fd, 0, "socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  cr_assert_eq(bind(r->listen_fd, (struct sockaddr *)&a, sizeof a), 0, "bind");
  cr_assert_eq(listen(r->listen_fd, 16), 0, "listen");
  cr_assert_eq(getsockname(r->listen_fd, (struct sockaddr *)&a, &len), 0);
  r->port = ntohs(a.sin_port);
  cr_assert_eq(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

/* Stops the relay; the captures stay until relay_free. */
static inline void relay_stop(relay *r) {
  __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
  pthread_join(r->thread, NULL);
  close(r->listen_fd);
}

static inline void relay_free(relay *r) {
  free(r->up.data);
  free(r->down.data);
  memset(&r->up, 0, sizeof r->up);
  memset(&r->down, 0, sizeof r->down);
}

/* === The search === */

/* The distinct informative windows of some plaintexts, in an open-addressing hash table. */
typedef struct window_set {
  const uint8_t **slot;        /* a window's first byte, or NULL; cap slots */
  uint8_t *found;              /* per slot: seen in the capture */
  size_t cap;                  /* a power of two */
  size_t count;                /* distinct windows held */
  size_t constant;             /* windows left out: 16 equal bytes */
  size_t bytes;                /* plaintext bytes added */
} window_set;

static inline uint64_t window_hash(const uint8_t *p) {
  uint64_t a, b;
  memcpy(&a, p, 8);
  memcpy(&b, p + 8, 8);
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  return h ^ h >> 29;
}

static inline int window_constant(const uint8_t *p) {
  for (int i = 1; i < CAPTURE_WINDOW; i++)
    if (p[i] != p[0]) return 0;
  return 1;
}

/* A set with room for max_windows windows. */
static inline void window_set_init(window_set *s, size_t max_windows) {
  memset(s, 0, sizeof *s);
  s->cap = 1024;
  while (s->cap < 2 * max_windows) s->cap *= 2;
  s->slot = calloc(s->cap, sizeof *s->slot);
  s->found = calloc(s->cap, 1);
  cr_assert(s->slot && s->found, "out of memory");
}

static inline void window_set_free(window_set *s) {
  free(s->slot);
  free(s->found);
  memset(s, 0, sizeof *s);
}

/* Slot of window p: where it is, or the empty slot where it would go. */
static inline size_t window_find(const window_set *s, const uint8_t *p) {
  size_t i = window_hash(p) & (s->cap - 1);
  while (s->slot[i] && memcmp(s->slot[i], p, CAPTURE_WINDOW) != 0) i = (i + 1) & (s->cap - 1);
  return i;
}

/* Adds every window of data[0, len) (which must outlive the set). */
static inline void window_set_add(window_set *s, const void *data, size_t len) {
  const uint8_t *d = data;
  s->bytes += len;
  for (size_t o = 0; o + CAPTURE_WINDOW <= len; o++) {
    if (window_constant(d + o)) {
      s->constant++;
      continue;
    }
    size_t i = window_find(s, d + o);
    if (s->slot[i]) continue;
    cr_assert_lt(2 * (s->count + 1), s->cap, "window set too small");
    s->slot[i] = d + o;
    s->count++;
  }
}

/* Marks the windows that occur in cap[0, len); returns how many of the set's windows were seen
 * (cumulative over calls). */
static inline size_t window_set_search(window_set *s, const uint8_t *cap, size_t len) {
  for (size_t o = 0; o + CAPTURE_WINDOW <= len; o++) {
    size_t i = window_find(s, cap + o);
    if (s->slot[i]) s->found[i] = 1;
  }
  size_t seen = 0;
  for (size_t i = 0; i < s->cap; i++) seen += s->found[i];
  return seen;
}

#endif
