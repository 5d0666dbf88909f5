/* cleave partitioner: figures with units, as a user types them on the command line.
 *
 * Each parser takes the whole string (surrounding spaces and a space before the unit allowed),
 * refuses anything else with CL_ERR_ARG and a one-line message naming the string and what is
 * accepted, and never returns a non-finite value. Units are case-insensitive except where noted. */
#ifndef CLEAVE_UNITS_H
#define CLEAVE_UNITS_H

#include <stdint.h>

#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bandwidth in bit/s: a number > 0 and a unit bit, kbit, mbit, gbit, tbit (decimal prefixes),
 * each also as "<x>bit/s" or "<x>bps" ("10mbit", "10 Mbit/s", "1gbps", "100kbit"). Byte units
 * ("MB/s") are refused, as is a number without a unit. Range: 1 bit/s to 10 Tbit/s. */
cl_status cl_units_bandwidth(const char *s, double *bps, cl_error *err) CL_MUST_CHECK;

/* A duration in ms: a number >= 0 and a unit s, ms, us (or µs), ns ("20ms", "0.5 s"). A number
 * without a unit is refused. Range: up to one hour. */
cl_status cl_units_duration_ms(const char *s, double *ms, cl_error *err) CL_MUST_CHECK;

/* Bytes: a number >= 0 with an optional unit B, KB, MB, GB (decimal), KiB, MiB, GiB (binary), or
 * K, M, G (binary, as ulimit and sizes of memory are usually meant) ("64MiB", "512k", "1000000").
 * Range: up to 2^50 (1 PiB). */
cl_status cl_units_bytes(const char *s, uint64_t *bytes, cl_error *err) CL_MUST_CHECK;

/* Power in W: a number >= 0 with an optional unit W or mW ("2.5W", "300mW", "1"). Up to 10 kW. */
cl_status cl_units_power_w(const char *s, double *w, cl_error *err) CL_MUST_CHECK;

/* Formats a byte count for tables: "602.1 kB", "4.8 MB", "812 B" (decimal units). Returns buf. */
char *cl_units_fmt_bytes(uint64_t bytes, char *buf, int cap);

/* Formats a bandwidth: "10 Mbit/s". Returns buf. */
char *cl_units_fmt_bandwidth(double bps, char *buf, int cap);

#ifdef __cplusplus
}
#endif
#endif
