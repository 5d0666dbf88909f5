/* cleave-device: whole-model runs on this host (no --edge), with timing and --stats. */
#ifndef CLEAVE_DEVICE_LOCAL_H
#define CLEAVE_DEVICE_LOCAL_H

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/tensor.h"

typedef struct dev_config {
  const char *model_path;
  const char *inputs[16];   /* input tensor files, graph-input order */
  int n_inputs;
  const char *outputs[16];  /* output tensor files, graph-output order */
  int n_outputs;
  int threads;
  int repeat;               /* timed runs after one warm-up; 0: a single run */
  const char *stats_path;   /* JSON statistics, or NULL */
  int list_cuts;
  int profile;              /* print where the time goes, per operator type */
  int quiet;
  /* Split mode (--edge): */
  const char *edge;         /* ZeroMQ endpoint of cleave-edge, or NULL: local */
  int cut;                  /* nodes [0, cut) run here; -1 until given (and with --cut auto) */
  int cut_auto;             /* --cut auto: the cut comes from a plan or from two profiles */
  const char *plan_path;    /* --plan: its chosen cut and codec */
  const char *profile_dev;  /* --profile-device and --profile-edge: choose per request */
  const char *profile_edge;
  double bandwidth_bps;     /* --bandwidth: the starting link estimate (0: not given) */
  double rtt_ms;            /* --rtt (< 0: not given) */
  int min_cut;              /* --min-cut (-1: not given) */
  int codec_given;          /* --codec was on the command line */
  const char *key_path;     /* this device's key pair */
  const char *edge_pub;     /* the edge's public key (pinned) */
  const char *codec;        /* codec name (codec.h), "raw" by default */
  int insecure;             /* no seal (the edge must run --insecure too) */
  int inflight;             /* requests in flight at once (default 1) */
  int timeout_ms;           /* per request and for the handshake */
  int deadline_ms;          /* --deadline: per request (0: the plan's prediction x margin, else
                             * timeout_ms) */
  double deadline_margin;   /* --deadline-margin: times the predicted time (default 3) */
  int no_fallback;          /* --no-fallback: a failed request is an error, not run here */
  int retries;              /* --retries: re-sends of a request whose link was lost (default 1) */
  int interval_ms;          /* --interval: a request starts every interval (0: back to back) */
} dev_config;

/* Timing of repeated runs, in ms. */
typedef struct dev_timing {
  int runs;
  double median_ms, p90_ms, min_ms, mean_ms;
} dev_timing;

/* Loads the tensors named in cfg->inputs into ts[0..n) (caller releases). Returns 0 or 1 (message
 * printed). */
int dev_read_inputs(const dev_config *cfg, cl_tensor *ts);

/* Runs the model locally as cfg says; prints results; returns the exit status (0 or 1). */
int dev_run_local(const dev_config *cfg, cl_model_t *m, const cl_tensor *inputs);

/* Prints every cut with its frontier tensors and bytes. */
void dev_list_cuts(const cl_model_t *m);

/* Runs the model split with cfg->edge (device/split.c); returns the exit status (0 or 1). */
int dev_run_split(const dev_config *cfg, cl_model_t *m, const cl_tensor *inputs);

/* Prints one line describing an output tensor (shape, min, max, mean, argmax). */
void dev_print_output(const cl_tensor *t);

/* Writes the graph outputs to the --output files. Returns 0 or 1 (message printed). */
int dev_write_outputs(const dev_config *cfg, const cl_tensor *outs);

/* Sorts samples (ms) and fills t. */
void dev_timing_from(double *samples, int n, dev_timing *t);

/* Peak resident set size of this process, MiB. */
double dev_peak_rss_mb(void);

#endif
