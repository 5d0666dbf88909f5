/* cleave partitioner: figures with units (units.h). */
#include "cleave/units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* === Splitting "<number><unit>" === */

typedef struct unit {
  const char *name;
  double scale;
} unit;

/* Parses s as a finite number followed by an optional unit from the table (case-insensitive unless
 * exact). *value is number * scale. Returns 0 on success, 1 when the number is bad, 2 when the unit
 * is unknown, 3 when a unit is required and missing. */
static int split_number(const char *s, const unit *units, int need_unit, int exact, double *value) {
  while (isspace((unsigned char)*s)) s++;
  if (*s == '\0' || *s == '+' || *s == '-' || !(isdigit((unsigned char)*s) || *s == '.')) return 1;
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v)) return 1;
  while (isspace((unsigned char)*end)) end++;
  char u[24];
  size_t n = strlen(end);
  while (n > 0 && isspace((unsigned char)end[n - 1])) n--;
  if (n >= sizeof u) return 2;
  memcpy(u, end, n);
  u[n] = '\0';
  if (n == 0) {
    if (need_unit) return 3;
    *value = v;
    return 0;
  }
  for (const unit *x = units; x->name; x++) {
    if (exact ? strcmp(u, x->name) == 0 : strcasecmp(u, x->name) == 0) {
      *value = v * x->scale;
      return isfinite(*value) ? 0 : 1;
    }
  }
  return 2;
}

/* An upper-case B that does not start "Bit"/"BIT": the user means bytes ("MB/s", "MBps"). */
static int mentions_bytes(const char *s) {
  for (const char *p = strchr(s, 'B'); p; p = strchr(p + 1, 'B'))
    if (strncasecmp(p, "bit", 3) != 0) return 1;
  return 0;
}

/* === Parsers === */

cl_status cl_units_bandwidth(const char *s, double *bps, cl_error *err) {
  static const unit units[] = {
      {"bit", 1}, {"bit/s", 1}, {"bps", 1},
      {"kbit", 1e3}, {"kbit/s", 1e3}, {"kbps", 1e3},
      {"mbit", 1e6}, {"mbit/s", 1e6}, {"mbps", 1e6},
      {"gbit", 1e9}, {"gbit/s", 1e9}, {"gbps", 1e9},
      {"tbit", 1e12}, {"tbit/s", 1e12}, {"tbps", 1e12}, {NULL, 0}};
  double v = 0;
  int rc = split_number(s, units, 1, 0, &v);
  if (rc == 0 && mentions_bytes(s)) rc = 2; /* "MBps": bytes are refused, not read as bits */
  if (rc == 0 && (v < 1 || v > 1e13))
    return cl_error_set(err, CL_ERR_ARG, "bandwidth '%s' out of range (1 bit/s to 10 Tbit/s)", s);
  if (rc == 3)
    return cl_error_set(err, CL_ERR_ARG, "bandwidth '%s' needs a unit (e.g. 10mbit, 1gbit, 100kbit)", s);
  if (rc)
    return cl_error_set(err, CL_ERR_ARG,
                        "bad bandwidth '%s' (give bits per second: 10mbit, 10Mbit/s, 1gbps, 100kbit)", s);
  *bps = v;
  return CL_OK;
}

cl_status cl_units_duration_ms(const char *s, double *ms, cl_error *err) {
  static const unit units[] = {{"s", 1e3}, {"ms", 1}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3},
                               {"ns", 1e-6}, {NULL, 0}};
  double v = 0;
  int rc = split_number(s, units, 1, 0, &v);
  if (rc == 0 && v > 3.6e6)
    return cl_error_set(err, CL_ERR_ARG, "duration '%s' out of range (at most one hour)", s);
  if (rc == 3) return cl_error_set(err, CL_ERR_ARG, "duration '%s' needs a unit (e.g. 20ms, 500us, 1s)", s);
  if (rc) return cl_error_set(err, CL_ERR_ARG, "bad duration '%s' (give e.g. 20ms, 500us, 0.1s)", s);
  *ms = v;
  return CL_OK;
}

cl_status cl_units_bytes(const char *s, uint64_t *bytes, cl_error *err) {
  static const unit units[] = {
      {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
      {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
      {"k", 1024.0}, {"m", 1048576.0}, {"g", 1073741824.0}, {NULL, 0}};
  double v = 0;
  int rc = split_number(s, units, 0, 0, &v);
  if (rc == 0 && v > 1125899906842624.0)
    return cl_error_set(err, CL_ERR_ARG, "size '%s' out of range (at most 1 PiB)", s);
  if (rc) return cl_error_set(err, CL_ERR_ARG, "bad size '%s' (give e.g. 64MiB, 512KiB, 1GB)", s);
  *bytes = (uint64_t)llround(v);
  return CL_OK;
}

cl_status cl_units_power_w(const char *s, double *w, cl_error *err) {
  static const unit units[] = {{"w", 1}, {"mw", 1e-3}, {NULL, 0}};
  double v = 0;
  int rc = split_number(s, units, 0, 0, &v);
  if (rc == 0 && v > 1e4) return cl_error_set(err, CL_ERR_ARG, "power '%s' out of range (at most 10 kW)", s);
  if (rc) return cl_error_set(err, CL_ERR_ARG, "bad power '%s' (give e.g. 2.5W, 300mW)", s);
  *w = v;
  return CL_OK;
}

/* === Formatting === */

char *cl_units_fmt_bytes(uint64_t bytes, char *buf, int cap) {
  double b = (double)bytes;
  if (bytes < 1000) snprintf(buf, (size_t)cap, "%llu B", (unsigned long long)bytes);
  else if (b < 1e6) snprintf(buf, (size_t)cap, "%.1f kB", b / 1e3);
  else if (b < 1e9) snprintf(buf, (size_t)cap, "%.1f MB", b / 1e6);
  else snprintf(buf, (size_t)cap, "%.2f GB", b / 1e9);
  return buf;
}

char *cl_units_fmt_bandwidth(double bps, char *buf, int cap) {
  if (bps >= 1e9) snprintf(buf, (size_t)cap, "%g Gbit/s", bps / 1e9);
  else if (bps >= 1e6) snprintf(buf, (size_t)cap, "%g Mbit/s", bps / 1e6);
  else if (bps >= 1e3) snprintf(buf, (size_t)cap, "%g kbit/s", bps / 1e3);
  else snprintf(buf, (size_t)cap, "%g bit/s", bps);
  return buf;
}
