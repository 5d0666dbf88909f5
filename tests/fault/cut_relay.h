/* cleave fault tests: a TCP relay on 127.0.0.1 whose link can be cut. Each accepted connection is
 * relayed to 127.0.0.1:target both ways by one thread (poll). cut = 1 stops everything, as a link
 * shaped to zero would: nothing is read, forwarded or accepted (bytes wait in the kernel's buffers,
 * new connections in the backlog); cut = 0 resumes. cut_relay_drop closes every connection at once
 * (a dropped relay). Include from test files only. */
#ifndef CLEAVE_TESTS_CUT_RELAY_H
#define CLEAVE_TESTS_CUT_RELAY_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CUT_RELAY_CONNS 64

typedef struct cut_relay {
  int listen_fd, port, target_port;
  int fds[CUT_RELAY_CONNS][2];  /* [device side, edge side], -1 when closed */
  int cut;                      /* atomic: 1 while the link is cut */
  int drop;                     /* atomic: 1 asks the thread to close every connection */
  int stop;                     /* atomic */
  pthread_t thread;
} cut_relay;

static inline int cut_relay_send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

static inline void cut_relay_close(int pair[2]) {
  for (int k = 0; k < 2; k++)
    if (pair[k] >= 0) close(pair[k]), pair[k] = -1;
}

static inline void cut_relay_accept(cut_relay *r) {
  int c = accept(r->listen_fd, NULL, NULL);
  if (c < 0) return;
  int t = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->target_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < CUT_RELAY_CONNS && t >= 0; i++)
    if (r->fds[i][0] < 0 && connect(t, (struct sockaddr *)&a, sizeof a) == 0) {
      r->fds[i][0] = c, r->fds[i][1] = t;
      return;
    }
  close(c);
  if (t >= 0) close(t);
}

static inline void *cut_relay_main(void *arg) {
  cut_relay *r = arg;
  static __thread uint8_t buf[1 << 16];
  while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
    if (__atomic_exchange_n(&r->drop, 0, __ATOMIC_ACQ_REL))
      for (int i = 0; i < CUT_RELAY_CONNS; i++) cut_relay_close(r->fds[i]);
    if (__atomic_load_n(&r->cut, __ATOMIC_ACQUIRE)) {
      usleep(5000);
      continue;
    }
    struct pollfd p[1 + 2 * CUT_RELAY_CONNS];
    int who[1 + 2 * CUT_RELAY_CONNS], n = 0;
    p[n] = (struct pollfd){r->listen_fd, POLLIN, 0}, who[n++] = -1;
    for (int i = 0; i < CUT_RELAY_CONNS; i++)
      for (int k = 0; k < 2; k++)
        if (r->fds[i][k] >= 0) p[n] = (struct pollfd){r->fds[i][k], POLLIN, 0}, who[n++] = 2 * i + k;
    if (poll(p, (nfds_t)n, 20) <= 0) continue;
    for (int j = 0; j < n; j++) {
      if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (who[j] < 0) {
        cut_relay_accept(r);
        continue;
      }
      int i = who[j] / 2, k = who[j] % 2;
      if (r->fds[i][k] < 0) continue;
      ssize_t got = recv(r->fds[i][k], buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0 || cut_relay_send_all(r->fds[i][1 - k], buf, (size_t)got) != 0)
        cut_relay_close(r->fds[i]);
    }
  }
  for (int i = 0; i < CUT_RELAY_CONNS; i++) cut_relay_close(r->fds[i]);
  return NULL;
}

static inline void cut_relay_start(cut_relay *r, int target_port) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < CUT_RELAY_CONNS; i++) r->fds[i][0] = r->fds[i][1] = -1;
  r->target_port = target_port;
  r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(r->listen_fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  cr_assert_eq(bind(r->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(r->listen_fd, 64), 0);
  cr_assert_eq(getsockname(r->listen_fd, (struct sockaddr *)&a, &len), 0);
  r->port = ntohs(a.sin_port);
  cr_assert_eq(pthread_create(&r->thread, NULL, cut_relay_main, r), 0);
}

static inline void cut_relay_stop(cut_relay *r) {
  __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
  pthread_join(r->thread, NULL);
  close(r->listen_fd);
}

#endif
