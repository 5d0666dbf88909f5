/* cleave-bench: result rows and their CSV files.
 *
 * One row per (model, bandwidth, rtt, slowdown, strategy), and for strategy "cut" one per measured cut.
 * Strategies (docs/BENCH.md):
 *   device_only      the whole model on the device, no network (cut n)
 *   edge_raw         cut 0, the raw input uncompressed (codec raw+nolz4)
 *   edge_compressed  cut 0, the input as a camera sends it: JPEG (codec "jpeg-qQ") for images, LZ4 of
 *                    the raw input (codec raw) otherwise
 *   cut              one measured cut with the planner's codec for it (cut n: the device_only run)
 *   planner          the planner's chosen cut, its prediction, and that cut's measurement: cleave-partitioner
 *                    plan on the device profile taken under the quota, throttle-calibrated (calib.h)
 *   planner_uncal    the same from the device profile as measured, without the calibration
 *   best             the measured cut with the smallest median
 * A missing number is NAN (an empty CSV field); a row that was not measured (predicted too slow, or a
 * failure) has measured_ms NAN and says why in `note`.
 *
 * results.csv is written one row at a time and flushed, so an interrupted sweep keeps what it did. The
 * reader accepts the columns in any order, ignores unknown ones and needs the key columns. */
#ifndef CLEAVE_BENCH_RESULTS_H
#define CLEAVE_BENCH_RESULTS_H

#include <stdio.h>

#include "cleave/status.h"

#define CL_RESULTS_NAME_MAX 64
#define CL_RESULTS_NOTE_MAX 160

typedef struct cl_result {
  char model[CL_RESULTS_NAME_MAX];
  double bandwidth_mbit;      /* the rate tbf was set to */
  double rtt_ms;              /* the relay's round-trip delay */
  double slowdown;            /* the device's CPU quota is 1/slowdown of a core */
  char strategy[CL_RESULTS_NAME_MAX];
  int cut;                    /* nodes [0, cut) on the device; -1: none */
  int nodes;                  /* n, the model's node count */
  char codec[CL_RESULTS_NAME_MAX];
  double measured_ms;         /* median end-to-end time of one request */
  double p90_ms;
  double mean_ms;
  int runs;                   /* timed requests behind the median */
  double predicted_ms;        /* the planner's prediction for this cut and codec */
  double predicted_uncal_ms;  /* the same from the uncalibrated device profile (calib.h) */
  double bytes_up, bytes_down;/* per request, after codec and sealing */
  double device_ms, encode_ms, wire_ms, edge_ms; /* medians of the parts, as cleave-device reports */
  double goodput_mbit;        /* measured goodput of this shaped rate (device to edge) */
  double out_rel_l2;          /* output difference from the local run (edge_compressed JPEG) */
  double load_avg;            /* the host's 1-minute load average when the row was written */
  char note[CL_RESULTS_NOTE_MAX];
} cl_result;

/* A row with every number NAN, cut and nodes -1, strings empty. */
void cl_result_init(cl_result *r);

/* The CSV header line (no newline); its column names are the field names above. */
const char *cl_results_header(void);

/* Writes the header (with a newline) to f. */
void cl_results_write_header(FILE *f);

/* Writes r as one CSV line (NAN as an empty field; strings quoted when they hold a comma, a quote
 * or a newline) and flushes f. Returns 0, or -1 on a write error. */
int cl_results_write_row(FILE *f, const cl_result *r);

/* A growable array of rows. */
typedef struct cl_results {
  cl_result *rows;
  int n, cap;
} cl_results;

/* Appends a copy of r. Errors: CL_ERR_NOMEM. */
cl_status cl_results_push(cl_results *rs, const cl_result *r) CL_MUST_CHECK;

/* Frees the rows (the struct itself is the caller's) and zeroes it. */
void cl_results_free(cl_results *rs);

/* Reads a results.csv (ours or another writer's with the same column names) into rs (which must be
 * zeroed). Errors: CL_ERR_IO, CL_ERR_FORMAT ("results.csv line 7: bad number 'x' in measured_ms",
 * a missing key column, a row with the wrong field count), CL_ERR_NOMEM. */
cl_status cl_results_read(const char *path, cl_results *rs, cl_error *err) CL_MUST_CHECK;

/* The same from text in memory (the caller keeps it); name is used in messages. */
cl_status cl_results_parse(const char *text, const char *name, cl_results *rs,
                           cl_error *err) CL_MUST_CHECK;

/* === Goodput of the shaped links (goodput.csv) === */

typedef struct cl_goodput_row {
  double set_mbit;            /* the rate tbf was set to */
  char direction[8];          /* "up" (device to edge) or "down" */
  double goodput_mbit;        /* TCP payload bits per second at the receiver, first to last byte */
  double bytes;               /* payload bytes measured */
  double seconds;
} cl_goodput_row;

const char *cl_goodput_header(void);
/* Writes one line and flushes f; returns 0 or -1. */
int cl_goodput_write_row(FILE *f, const cl_goodput_row *g);
/* Reads goodput.csv into *out (malloc'd, the caller frees it) and *n. Errors as cl_results_read. */
cl_status cl_goodput_read(const char *path, cl_goodput_row **out, int *n, cl_error *err) CL_MUST_CHECK;

#endif
