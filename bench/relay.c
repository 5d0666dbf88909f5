/* cleave-bench: the delaying TCP relay (relay.h). One thread, ppoll with microsecond deadlines. */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define READ_BYTES (256 * 1024)
#define DEFAULT_MAX_QUEUE ((size_t)64 << 20)

/* === Queues === */

typedef struct chunk {
  struct chunk *next;
  double due;                 /* monotonic seconds: arrival + delay */
  size_t len, off;            /* bytes, and how many already written */
  unsigned char data[];
} chunk;

typedef struct direction {
  chunk *head, *tail;
  size_t queued;              /* bytes waiting */
  int eof_in;                 /* the source said it will send no more */
  int shut_out;               /* ... and we passed that on */
} direction;

typedef struct conn {
  int fd[2];                  /* 0: the accepted client, 1: the target */
  direction d[2];             /* d[i]: fd[i] -> fd[1 - i] */
  int used;
} conn;

struct cl_relay {
  cl_relay_opts o;
  int listen_fd, port;
  int stop_pipe[2];
  struct sockaddr_in target;
  double delay_s;
  conn conns[MAX_CONNS];
  unsigned char buf[READ_BYTES];
  long connections;
  unsigned long long bytes[2];
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void dir_clear(direction *d) {
  for (chunk *c = d->head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  memset(d, 0, sizeof *d);
}

static void conn_close(cl_relay_t *r, conn *c, const char *why) {
  if (r->o.log && why) fprintf(r->o.log, "relay: connection closed: %s\n", why);
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] >= 0) close(c->fd[i]);
    dir_clear(&c->d[i]);
  }
  memset(c, 0, sizeof *c);
  c->fd[0] = c->fd[1] = -1;
}

static void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int parse_addr(const char *host, int port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return port >= 0 && port < 65536 && inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* === Life === */

cl_status cl_relay_create(const cl_relay_opts *o, cl_relay_t **out, cl_error *err) {
  *out = NULL;
  struct sockaddr_in la, ta;
  if (parse_addr(o->listen_host, o->listen_port, &la) || parse_addr(o->target_host, o->target_port, &ta) ||
      o->target_port == 0)
    return cl_error_set(err, CL_ERR_ARG, "relay: bad address %s:%d or %s:%d", o->listen_host,
                        o->listen_port, o->target_host, o->target_port);
  if (!(o->delay_ms >= 0 && o->delay_ms < 60000))
    return cl_error_set(err, CL_ERR_ARG, "relay: delay must be in [0, 60000) ms");
  cl_relay_t *r = calloc(1, sizeof *r);
  if (!r) return cl_error_set(err, CL_ERR_NOMEM, "relay: out of memory");
  r->o = *o;
  if (!r->o.max_queue) r->o.max_queue = DEFAULT_MAX_QUEUE;
  r->target = ta;
  r->delay_s = o->delay_ms / 1000.0;
  r->stop_pipe[0] = r->stop_pipe[1] = -1;
  for (int i = 0; i < MAX_CONNS; i++) r->conns[i].fd[0] = r->conns[i].fd[1] = -1;
  r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  socklen_t len = sizeof la;
  if (r->listen_fd < 0 || setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(r->listen_fd, (struct sockaddr *)&la, sizeof la) != 0 || listen(r->listen_fd, 64) != 0 ||
      getsockname(r->listen_fd, (struct sockaddr *)&la, &len) != 0 ||
      pipe2(r->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    cl_error_set(err, CL_ERR_IO, "relay: listen on %s:%d: %s", o->listen_host, o->listen_port,
                 strerror(errno));
    cl_relay_free(&r);
    return CL_ERR_IO;
  }
  r->port = ntohs(la.sin_port);
  *out = r;
  return CL_OK;
}

int cl_relay_port(const cl_relay_t *r) { return r->port; }

void cl_relay_stop(cl_relay_t *r) {
  char b = 1;
  (void)!write(r->stop_pipe[1], &b, 1);
}

void cl_relay_counts(const cl_relay_t *r, long *connections, unsigned long long *up,
                     unsigned long long *down) {
  *connections = r->connections;
  *up = r->bytes[0];
  *down = r->bytes[1];
}

void cl_relay_free(cl_relay_t **rp) {
  if (!rp || !*rp) return;
  cl_relay_t *r = *rp;
  for (int i = 0; i < MAX_CONNS; i++)
    if (r->conns[i].used) conn_close(r, &r->conns[i], NULL);
  if (r->listen_fd >= 0) close(r->listen_fd);
  for (int i = 0; i < 2; i++)
    if (r->stop_pipe[i] >= 0) close(r->stop_pipe[i]);
  free(r);
  *rp = NULL;
}

/* === Serving === */

static void accept_one(cl_relay_t *r) {
  int cfd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (cfd < 0) return;
  conn *c = NULL;
  for (int i = 0; i < MAX_CONNS && !c; i++)
    if (!r->conns[i].used) c = &r->conns[i];
  if (!c) {
    if (r->o.log) fprintf(r->o.log, "relay: too many connections, refused one\n");
    close(cfd);
    return;
  }
  /* The target is local (loopback of the same namespace): a blocking connect is immediate. */
  int tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (tfd < 0 || connect(tfd, (struct sockaddr *)&r->target, sizeof r->target) != 0) {
    if (r->o.log) fprintf(r->o.log, "relay: connect to the target: %s\n", strerror(errno));
    if (tfd >= 0) close(tfd);
    close(cfd);
    return;
  }
  tune_socket(cfd);
  tune_socket(tfd);
  memset(c, 0, sizeof *c);
  c->fd[0] = cfd;
  c->fd[1] = tfd;
  c->used = 1;
  r->connections++;
}

/* Reads what src has into a new chunk due at now + delay. Returns -1 when the connection broke. */
static int read_side(cl_relay_t *r, conn *c, int i, double now) {
  direction *d = &c->d[i];
  ssize_t n = read(c->fd[i], r->buf, sizeof r->buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (n == 0) { d->eof_in = 1; return 0; }
  chunk *k = malloc(sizeof *k + (size_t)n);
  if (!k) return -1;
  k->next = NULL;
  k->due = now + r->delay_s;
  k->len = (size_t)n;
  k->off = 0;
  memcpy(k->data, r->buf, (size_t)n);
  if (d->tail) d->tail->next = k;
  else d->head = k;
  d->tail = k;
  d->queued += (size_t)n;
  r->bytes[i] += (unsigned long long)n;
  return 0;
}

/* Writes every due chunk it can. *blocked: the destination is full. Returns -1 on a broken pipe. */
static int flush_side(conn *c, int i, double now, int *blocked) {
  direction *d = &c->d[i];
  int dst = c->fd[1 - i];
  *blocked = 0;
  while (d->head && d->head->due <= now) {
    chunk *k = d->head;
    ssize_t n = send(dst, k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) { *blocked = 1; return 0; }
      return -1;
    }
    k->off += (size_t)n;
    d->queued -= (size_t)n;
    if (k->off < k->len) { *blocked = 1; return 0; }
    d->head = k->next;
    if (!d->head) d->tail = NULL;
    free(k);
  }
  if (!d->head && d->eof_in && !d->shut_out) {
    shutdown(dst, SHUT_WR);
    d->shut_out = 1;
  }
  return 0;
}

cl_status cl_relay_run(cl_relay_t *r, cl_error *err) {
  prctl(PR_SET_TIMERSLACK, 1UL);   /* wake at the due time, not 50 us later */
  struct pollfd pfd[2 + 2 * MAX_CONNS];
  conn *owner[2 + 2 * MAX_CONNS];
  int side[2 + 2 * MAX_CONNS];
  for (;;) {
    double now = now_s(), next_due = -1;
    int n = 0;
    pfd[n++] = (struct pollfd){r->stop_pipe[0], POLLIN, 0};
    pfd[n++] = (struct pollfd){r->listen_fd, POLLIN, 0};
    for (int ci = 0; ci < MAX_CONNS; ci++) {
      conn *c = &r->conns[ci];
      if (!c->used) continue;
      short ev[2] = {0, 0};
      int broken = 0;
      for (int i = 0; i < 2 && !broken; i++) {
        int blocked;
        if (flush_side(c, i, now, &blocked) != 0) { broken = 1; break; }
        if (blocked) ev[1 - i] |= POLLOUT;
        if (!c->d[i].eof_in && c->d[i].queued < r->o.max_queue) ev[i] |= POLLIN;
        if (c->d[i].head && !blocked && (next_due < 0 || c->d[i].head->due < next_due))
          next_due = c->d[i].head->due;
      }
      if (broken) { conn_close(r, c, "reset by a peer"); continue; }
      if (c->d[0].shut_out && c->d[1].shut_out) { conn_close(r, c, NULL); continue; }
      for (int i = 0; i < 2; i++) {
        owner[n] = c;
        side[n] = i;
        /* Nothing wanted: not polled at all (a half-closed socket would report POLLHUP forever). */
        pfd[n++] = (struct pollfd){ev[i] ? c->fd[i] : -1, ev[i], 0};
      }
    }
    struct timespec ts, *tsp = NULL;
    if (next_due >= 0) {
      double wait = next_due - now_s();
      if (wait < 0) wait = 0;
      ts.tv_sec = (time_t)wait;
      ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
      tsp = &ts;
    }
    int k = ppoll(pfd, (nfds_t)n, tsp, NULL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return cl_error_set(err, CL_ERR_IO, "relay: poll: %s", strerror(errno));
    }
    if (pfd[0].revents) return CL_OK;
    now = now_s();
    if (pfd[1].revents & POLLIN) accept_one(r);
    for (int j = 2; j < n; j++) {
      conn *c = owner[j];
      if (!c->used || !pfd[j].revents) continue;
      int i = side[j];
      if ((pfd[j].revents & (POLLIN | POLLHUP | POLLERR)) && !c->d[i].eof_in &&
          (pfd[j].events & POLLIN)) {
        if (read_side(r, c, i, now) != 0) conn_close(r, c, "read error");
      } else if ((pfd[j].revents & POLLERR) && !(pfd[j].events & POLLIN)) {
        conn_close(r, c, "socket error");
      }
    }
  }
}
