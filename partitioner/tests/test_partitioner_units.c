/* cleave partitioner: figures with units (units.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cleave/units.h"

Test(units, bandwidth) {
  struct { const char *s; double bps; } good[] = {
      {"10mbit", 10e6}, {"10Mbit/s", 10e6}, {"10 Mbit/s", 10e6}, {"1gbit", 1e9}, {"1Gbps", 1e9},
      {"100kbit", 100e3}, {"2.5mbps", 2.5e6}, {" 56 kbit/s ", 56e3}, {"1e3bit", 1e3}, {"10tbit", 1e13}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    double v = 0;
    cl_error err = {0};
    cr_assert_eq(cl_units_bandwidth(good[i].s, &v, &err), CL_OK, "'%s': %s", good[i].s, err.msg);
    cr_assert(fabs(v - good[i].bps) < 1e-6 * good[i].bps, "'%s' -> %g", good[i].s, v);
  }
  const char *bad[] = {"", "10", "mbit", "-10mbit", "0mbit", "10MB/s", "10MBps", "nan", "inf mbit",
                       "10 mbits of", "1e400mbit", "100tbit", "10 furlongs", "0.5bit"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double v = 0;
    cl_error err = {0};
    cr_assert_eq(cl_units_bandwidth(bad[i], &v, &err), CL_ERR_ARG, "'%s' accepted as %g", bad[i], v);
    cr_assert(strchr(err.msg, '\n') == NULL && err.msg[0], "one line");
  }
}

Test(units, durations_bytes_power) {
  double ms;
  cr_assert_eq(cl_units_duration_ms("20ms", &ms, NULL), CL_OK);
  cr_assert_float_eq(ms, 20, 1e-12);
  cr_assert_eq(cl_units_duration_ms("500us", &ms, NULL), CL_OK);
  cr_assert_float_eq(ms, 0.5, 1e-12);
  cr_assert_eq(cl_units_duration_ms("0.1 s", &ms, NULL), CL_OK);
  cr_assert_float_eq(ms, 100, 1e-9);
  cr_assert_eq(cl_units_duration_ms("0ms", &ms, NULL), CL_OK);
  const char *bad_t[] = {"20", "-1ms", "1h", "ms", "2e9s", "nan ms"};
  for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++)
    cr_assert_eq(cl_units_duration_ms(bad_t[i], &ms, NULL), CL_ERR_ARG, "'%s'", bad_t[i]);
  uint64_t b;
  cr_assert_eq(cl_units_bytes("64MiB", &b, NULL), CL_OK);
  cr_assert_eq(b, 64ull << 20);
  cr_assert_eq(cl_units_bytes("1GB", &b, NULL), CL_OK);
  cr_assert_eq(b, 1000000000ull);
  cr_assert_eq(cl_units_bytes("512k", &b, NULL), CL_OK);
  cr_assert_eq(b, 512ull << 10);
  cr_assert_eq(cl_units_bytes("123", &b, NULL), CL_OK);
  cr_assert_eq(b, 123);
  cr_assert_eq(cl_units_bytes("-1MiB", &b, NULL), CL_ERR_ARG);
  cr_assert_eq(cl_units_bytes("2PiB", &b, NULL), CL_ERR_ARG);
  double w;
  cr_assert_eq(cl_units_power_w("2.5W", &w, NULL), CL_OK);
  cr_assert_float_eq(w, 2.5, 1e-12);
  cr_assert_eq(cl_units_power_w("300mW", &w, NULL), CL_OK);
  cr_assert_float_eq(w, 0.3, 1e-12);
  cr_assert_eq(cl_units_power_w("1kW", &w, NULL), CL_ERR_ARG);
  char buf[32];
  cr_assert_str_eq(cl_units_fmt_bytes(602112, buf, sizeof buf), "602.1 kB");
  cr_assert_str_eq(cl_units_fmt_bandwidth(10e6, buf, sizeof buf), "10 Mbit/s");
}
