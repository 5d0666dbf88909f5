/* cleave-bench: goodput and round-trip probes (goodput.h). Blocking sockets with timeouts. */
#include "goodput.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_BYTES (256 * 1024)
#define MAX_TRANSFER ((size_t)1 << 34)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int addr_of(const char *host, int port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return port >= 0 && port < 65536 && inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void set_timeout(int fd, double s) {
  struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Reads one line (without its newline) into buf; -1 on EOF, error or an overlong line. */
static int read_line(int fd, char *buf, size_t cap) {
  size_t k = 0;
  while (k + 1 < cap) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0) return -1;
    if (c == '\n') { buf[k] = '\0'; return 0; }
    buf[k++] = c;
  }
  return -1;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Receives exactly n bytes, timing from the end of the first read to the last byte. */
static int receive_timed(int fd, size_t n, unsigned char *buf, double *bytes, double *secs) {
  size_t got = 0, first = 0;
  double t0 = 0, t1 = 0;
  while (got < n) {
    size_t want = n - got < IO_BYTES ? n - got : IO_BYTES;
    ssize_t r = read(fd, buf, want);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    double t = now_s();
    if (got == 0) { t0 = t; first = (size_t)r; }
    t1 = t;
    got += (size_t)r;
  }
  *bytes = (double)(got - first);
  *secs = t1 - t0;
  return 0;
}

/* === Server === */

static void serve_conn(int fd, unsigned char *buf) {
  char line[128];
  set_timeout(fd, 120);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  while (read_line(fd, line, sizeof line) == 0) {
    unsigned long long n;
    if (strcmp(line, "PING") == 0) {
      if (write_all(fd, "PONG\n", 5) != 0) return;
    } else if (sscanf(line, "UP %llu", &n) == 1 && n > 0 && n <= MAX_TRANSFER) {
      double bytes, secs;
      if (receive_timed(fd, (size_t)n, buf, &bytes, &secs) != 0) return;
      char out[96];
      int k = snprintf(out, sizeof out, "OK %.0f %.0f\n", bytes, secs * 1e9);
      if (write_all(fd, out, (size_t)k) != 0) return;
    } else if (sscanf(line, "DOWN %llu", &n) == 1 && n > 0 && n <= MAX_TRANSFER) {
      memset(buf, 0x5a, IO_BYTES);
      for (size_t left = (size_t)n; left;) {
        size_t w = left < IO_BYTES ? left : IO_BYTES;
        if (write_all(fd, buf, w) != 0) return;
        left -= w;
      }
    } else {
      return;
    }
  }
}

cl_status cl_goodput_serve(const char *host, int port, volatile sig_atomic_t *stop, int *bound,
                           void (*ready)(int port, void *ctx), void *ctx, cl_error *err) {
  struct sockaddr_in sa;
  if (addr_of(host, port, &sa)) return cl_error_set(err, CL_ERR_ARG, "goodput: bad address %s:%d", host, port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  socklen_t len = sizeof sa;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    cl_error_set(err, CL_ERR_IO, "goodput: listen on %s:%d: %s", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    return CL_ERR_IO;
  }
  if (bound) *bound = ntohs(sa.sin_port);
  if (ready) ready(ntohs(sa.sin_port), ctx);
  unsigned char *buf = malloc(IO_BYTES);
  if (!buf) { close(fd); return cl_error_set(err, CL_ERR_NOMEM, "goodput: out of memory"); }
  while (!stop || !*stop) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    serve_conn(c, buf);
    close(c);
  }
  free(buf);
  close(fd);
  return CL_OK;
}

/* === Client === */

static cl_status dial(const char *host, int port, double timeout_s, int *out, cl_error *err) {
  struct sockaddr_in sa;
  if (addr_of(host, port, &sa)) return cl_error_set(err, CL_ERR_ARG, "goodput: bad address %s:%d", host, port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return cl_error_set(err, CL_ERR_IO, "goodput: socket: %s", strerror(errno));
  set_timeout(fd, timeout_s);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    cl_error_set(err, CL_ERR_IO, "goodput: connect to %s:%d: %s", host, port, strerror(errno));
    close(fd);
    return CL_ERR_IO;
  }
  *out = fd;
  return CL_OK;
}

cl_status cl_goodput_measure(const char *host, int port, int up, size_t bytes, double timeout_s,
                             cl_goodput_result *out, cl_error *err) {
  memset(out, 0, sizeof *out);
  if (bytes < 2 || bytes > MAX_TRANSFER) return cl_error_set(err, CL_ERR_ARG, "goodput: bad size %zu", bytes);
  int fd;
  cl_status st = dial(host, port, timeout_s, &fd, err);
  if (st != CL_OK) return st;
  unsigned char *buf = malloc(IO_BYTES);
  char line[128];
  int k = snprintf(line, sizeof line, "%s %zu\n", up ? "UP" : "DOWN", bytes);
  if (!buf) st = cl_error_set(err, CL_ERR_NOMEM, "goodput: out of memory");
  else if (write_all(fd, line, (size_t)k) != 0) st = cl_error_set(err, CL_ERR_IO, "goodput: send: %s", strerror(errno));
  else if (up) {
    memset(buf, 0xa5, IO_BYTES);
    for (size_t left = bytes; left && st == CL_OK;) {
      size_t w = left < IO_BYTES ? left : IO_BYTES;
      if (write_all(fd, buf, w) != 0) st = cl_error_set(err, CL_ERR_IO, "goodput: send: %s", strerror(errno));
      left -= w;
    }
    double b, ns;
    if (st == CL_OK && read_line(fd, line, sizeof line) != 0)
      st = cl_error_set(err, CL_ERR_TIMEOUT, "goodput: no answer from the server");
    else if (st == CL_OK && sscanf(line, "OK %lf %lf", &b, &ns) != 2)
      st = cl_error_set(err, CL_ERR_PROTOCOL, "goodput: bad answer '%.40s'", line);
    else if (st == CL_OK) {
      out->bytes = b;
      out->seconds = ns * 1e-9;
    }
  } else if (receive_timed(fd, bytes, buf, &out->bytes, &out->seconds) != 0) {
    st = cl_error_set(err, CL_ERR_TIMEOUT, "goodput: the transfer broke or timed out");
  }
  if (st == CL_OK) {
    if (out->seconds <= 0) st = cl_error_set(err, CL_ERR_PROTOCOL, "goodput: too few bytes to time");
    else out->mbit = out->bytes * 8 / out->seconds / 1e6;
  }
  free(buf);
  close(fd);
  return st;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

cl_status cl_goodput_ping(const char *host, int port, int count, double timeout_s, double *median_ms,
                          double *max_ms, cl_error *err) {
  if (count < 1 || count > 10000) return cl_error_set(err, CL_ERR_ARG, "goodput: bad ping count");
  int fd;
  cl_status st = dial(host, port, timeout_s, &fd, err);
  if (st != CL_OK) return st;
  double *t = malloc(sizeof *t * (size_t)count);
  char line[16];
  for (int i = 0; i < count && st == CL_OK; i++) {
    double t0 = now_s();
    if (!t || write_all(fd, "PING\n", 5) != 0 || read_line(fd, line, sizeof line) != 0 ||
        strcmp(line, "PONG") != 0)
      st = cl_error_set(err, CL_ERR_IO, "goodput: ping %d failed", i + 1);
    else t[i] = (now_s() - t0) * 1e3;
  }
  if (st == CL_OK) {
    qsort(t, (size_t)count, sizeof *t, cmp_double);
    *median_ms = count % 2 ? t[count / 2] : (t[count / 2 - 1] + t[count / 2]) / 2;
    *max_ms = t[count - 1];
  }
  free(t);
  close(fd);
  return st;
}
