/* cleave-bench: the delaying relay and the goodput probes on 127.0.0.1 (no root, no namespaces). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "goodput.h"
#include "relay.h"

typedef struct server {
  pthread_t th;
  volatile sig_atomic_t stop;
  volatile int port;
} server;

static void ready(int port, void *ctx) { ((server *)ctx)->port = port; }

static void *serve_ready(void *arg) {
  server *s = arg;
  cl_error err = {0};
  if (cl_goodput_serve("127.0.0.1", 0, &s->stop, NULL, ready, s, &err) != CL_OK) s->port = -1;
  return NULL;
}

static void server_start(server *s) {
  memset(s, 0, sizeof *s);
  cr_assert_eq(pthread_create(&s->th, NULL, serve_ready, s), 0);
  for (int i = 0; i < 500 && s->port == 0; i++) usleep(2000);
  cr_assert_gt(s->port, 0, "the goodput server did not start");
}

static void server_stop(server *s) {
  s->stop = 1;
  pthread_join(s->th, NULL);
}

static void *relay_main(void *arg) {
  cl_error err = {0};
  if (cl_relay_run(arg, &err) != CL_OK) fprintf(stderr, "relay: %s\n", err.msg);
  return NULL;
}

Test(link, goodput_and_ping_on_loopback) {
  server s;
  server_start(&s);
  cl_goodput_result g;
  cl_error err = {0};
  cr_assert_eq(cl_goodput_measure("127.0.0.1", s.port, 1, 8 << 20, 30, &g, &err), CL_OK, "%s", err.msg);
  cr_assert_gt(g.bytes, 4 << 20);
  cr_assert_gt(g.mbit, 50, "loopback carries more than 50 Mbit/s (%.1f)", g.mbit);
  cr_assert_eq(cl_goodput_measure("127.0.0.1", s.port, 0, 8 << 20, 30, &g, &err), CL_OK, "%s", err.msg);
  cr_assert_gt(g.bytes, 4 << 20);
  double med = 0, mx = 0;
  cr_assert_eq(cl_goodput_ping("127.0.0.1", s.port, 10, 10, &med, &mx, &err), CL_OK, "%s", err.msg);
  cr_assert_lt(med, 5, "a loopback round trip is well under 5 ms (%.3f)", med);
  server_stop(&s);
}

Test(link, the_relay_adds_its_delay_both_ways_and_loses_nothing) {
  server s;
  server_start(&s);
  cl_relay_opts o = {"127.0.0.1", 0, "127.0.0.1", s.port, 10.0, 0, NULL};
  cl_relay_t *r = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_relay_create(&o, &r, &err), CL_OK, "%s", err.msg);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, relay_main, r), 0);
  double med = 0, mx = 0;
  cr_assert_eq(cl_goodput_ping("127.0.0.1", cl_relay_port(r), 10, 10, &med, &mx, &err), CL_OK, "%s", err.msg);
  cr_assert_geq(med, 20.0, "the round trip through a 10 ms relay is at least 20 ms (%.3f)", med);
  /* Loose: a loaded machine delays the relay thread (the sweep checks the RTT with linktest). */
  cr_assert_lt(med, 60.0, "the round trip through a 10 ms relay is about 20 ms (%.3f)", med);
  cl_goodput_result g;
  cr_assert_eq(cl_goodput_measure("127.0.0.1", cl_relay_port(r), 1, 4 << 20, 30, &g, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_goodput_measure("127.0.0.1", cl_relay_port(r), 0, 4 << 20, 30, &g, &err), CL_OK, "%s", err.msg);
  cl_relay_stop(r);
  pthread_join(th, NULL);
  long conns = 0;
  unsigned long long up = 0, down = 0;
  cl_relay_counts(r, &conns, &up, &down);
  cr_assert_eq(conns, 3);
  cr_assert_geq(up, 4ull << 20, "every byte sent up went through (%llu)", up);
  cr_assert_geq(down, 4ull << 20, "every byte sent down went through (%llu)", down);
  cl_relay_free(&r);
  cr_assert_null(r);
  server_stop(&s);
}

Test(link, bad_addresses_are_refused) {
  cl_relay_opts o = {"not-an-ip", 0, "127.0.0.1", 1, 1.0, 0, NULL};
  cl_relay_t *r = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_relay_create(&o, &r, &err), CL_ERR_ARG);
  cr_assert_null(r);
  o.listen_host = "127.0.0.1";
  o.delay_ms = -1;
  cr_assert_eq(cl_relay_create(&o, &r, &err), CL_ERR_ARG);
  cl_goodput_result g;
  cr_assert_neq(cl_goodput_measure("127.0.0.1", 1, 1, 1000, 2, &g, &err), CL_OK);
}
