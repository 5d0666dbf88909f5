/* cleave partitioner: a profile, what one host measured for one model.
 *
 * A profile holds the model's graph as cleave built it (nodes in topological order with the value ids
 * they read and write, every value's bytes and role), the time of each node on the host (median and
 * p90 over timed runs), what each codec does to each tensor that can cross a cut (encoded bytes,
 * encode and decode time on one core of the host, measured on real activations), and per cut k in
 * [0, n]: its frontier, the sums over it, the device memory [0, k) needs and, for lossy codecs, the
 * measured error of the final output. The planner (plan.h) compares two or three profiles of the same
 * model; the profiler (cl_profile_measure) makes one; files are protobuf (proto/partition.proto).
 *
 * A profile is a plain struct: callers read its fields directly. Everything it points to is owned by
 * it and freed by cl_profile_free. Files are untrusted: cl_profile_decode checks every count, id,
 * byte sum, time and the graph's structure, and refuses anything inconsistent with a one-line
 * message; it never aborts on bad bytes. */
#ifndef CLEAVE_PROFILE_H
#define CLEAVE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* === Limits (anything beyond is refused with CL_ERR_LIMIT) === */
#define CL_PROFILE_MAX_NODES 10000
#define CL_PROFILE_MAX_VALUES 100000
#define CL_PROFILE_MAX_CODECS 16
#define CL_PROFILE_MAX_NODE_IO 256            /* inputs, or outputs, of one node */
#define CL_PROFILE_MAX_FRONTIER 4096          /* tensors crossing one cut */
#define CL_PROFILE_MAX_FILE_BYTES ((size_t)256 << 20)
#define CL_PROFILE_MAX_MS 3.6e6               /* any single time: one hour */
#define CL_PROFILE_NAME_MAX 256               /* node names (with the NUL), longer ones truncated */
#define CL_PROFILE_OP_MAX 64
#define CL_PROFILE_CODEC_NAME_MAX 32
#define CL_PROFILE_HASH_BYTES 32

/* Value flags. */
#define CL_PROFILE_INPUT 1u                   /* a graph input */
#define CL_PROFILE_OUTPUT 2u                  /* a graph output */
#define CL_PROFILE_CONSTANT 4u                /* weights: never in a frontier */

/* One tensor, or one cut (the sum over its frontier), under one codec. */
typedef struct cl_profile_cost {
  uint64_t bytes;       /* encoded bytes */
  double encode_ms;     /* on the profiled host, one core */
  double decode_ms;
} cl_profile_cost;

typedef struct cl_profile_node {
  char name[CL_PROFILE_NAME_MAX];
  char op[CL_PROFILE_OP_MAX];
  double median_ms, p90_ms;   /* over the timed runs */
  int n_inputs, n_outputs;
  int *inputs;                /* value ids read, constants included; -1: an omitted optional input */
  int *outputs;               /* value ids written */
} cl_profile_node;

typedef struct cl_profile_value {
  uint64_t bytes;             /* raw bytes */
  int producer;               /* node, or -1 for graph inputs and constants */
  unsigned flags;             /* CL_PROFILE_INPUT | _OUTPUT | _CONSTANT */
  int measured;               /* 1: codec[] holds measurements (the value crosses some cut) */
  cl_profile_cost *codec;     /* n_codecs entries (zeros when not measured) */
} cl_profile_value;

typedef struct cl_profile_cut {
  int n_frontier;
  int *frontier;              /* value ids crossing the cut, increasing (cl_model_frontier's) */
  uint64_t raw_bytes;         /* sum of their bytes */
  uint64_t peak_bytes;        /* activation bytes live at the peak of [0, k); k = 0: the inputs */
  uint64_t weight_bytes;      /* constants read by [0, k) */
  double max_abs;             /* largest finite |x| over the frontier's float tensors */
  cl_profile_cost *codec;     /* n_codecs: sums over the frontier */
  double *rel_l2;             /* n_codecs: output error with the codec at this cut; NAN: not
                               * measured (lossless codecs, cut n); +inf: the output broke */
} cl_profile_cut;

typedef struct cl_profile_host {
  char cpu[128];              /* "model name" of /proc/cpuinfo */
  int cores;                  /* online logical CPUs */
  int threads;                /* executor threads used for the node timings */
  char version[32];           /* cleave version */
  char date[32];              /* ISO 8601 UTC */
  char hostname[64];
} cl_profile_host;

typedef struct cl_profile {
  cl_profile_host host;
  uint8_t model_hash[CL_PROFILE_HASH_BYTES]; /* cl_model_hash */
  char model[256];            /* the model file as given */
  char input[256];            /* the input files, or "random (seed S)" */
  int runs, warmup, codec_reps;
  double run_median_ms, run_p90_ms; /* whole runs */
  uint64_t arena_bytes;       /* the executor's arena for the whole model */
  double seal_ms_per_mb;      /* XChaCha20-Poly1305 here, one core: ms per 1e6 bytes sealed */
  double open_ms_per_mb;      /* ... and opened (checked and decrypted) */
  int n_codecs;
  char codecs[CL_PROFILE_MAX_CODECS][CL_PROFILE_CODEC_NAME_MAX]; /* canonical names */
  int n_nodes;
  cl_profile_node *nodes;     /* n_nodes */
  int n_values;
  cl_profile_value *values;   /* n_values, value id = index */
  cl_profile_cut *cuts;       /* n_nodes + 1, cut k at index k */
} cl_profile;

/* === Construction === */

/* Allocates a zeroed profile with room for the nodes, values, n + 1 cuts and their codec arrays
 * (rel_l2 all NAN). Node inputs/outputs and frontiers are left empty (cl_profile_set_node_io,
 * cl_profile_derive). Errors: CL_ERR_LIMIT, CL_ERR_NOMEM. Free with cl_profile_free. */
cl_status cl_profile_create(int n_nodes, int n_values, int n_codecs, cl_profile **out,
                            cl_error *err) CL_MUST_CHECK;

/* Frees the profile and sets *p to NULL. Safe on NULL and on *p == NULL. */
void cl_profile_free(cl_profile **p);

/* Copies a node's value ids (the caller keeps in and outs). Errors: CL_ERR_LIMIT, CL_ERR_NOMEM. */
cl_status cl_profile_set_node_io(cl_profile *p, int node, const int *in, int n_in, const int *outs,
                                 int n_out, cl_error *err) CL_MUST_CHECK;

/* Checks the graph (ids in range, one producer per value, producers before readers) and fills every
 * cut's frontier, raw_bytes, peak_bytes, weight_bytes and codec sums from the nodes and values.
 * rel_l2 and max_abs are left as they are. Errors: CL_ERR_FORMAT naming the node or value,
 * CL_ERR_LIMIT, CL_ERR_NOMEM. */
cl_status cl_profile_derive(cl_profile *p, cl_error *err) CL_MUST_CHECK;

/* Checks everything a reader must trust: the graph (as cl_profile_derive), that each stored cut
 * equals what the graph gives (frontier, bytes, peaks, codec sums), that every time is finite,
 * non-negative and below CL_PROFILE_MAX_MS, that codec names parse and are canonical and distinct,
 * and that rel_l2 is NAN, +inf or finite >= 0. Errors: CL_ERR_FORMAT with a one-line message. */
cl_status cl_profile_validate(const cl_profile *p, cl_error *err) CL_MUST_CHECK;

/* === Matching === */

/* CL_OK when p was measured on model m: same hash, node count, names and ops, value count.
 * Errors: CL_ERR_ARG ("profile is for another model (hash 1a2b3c4d.., the model's 5e6f..)"). */
cl_status cl_profile_match_model(const cl_profile *p, const cl_model_t *m,
                                 cl_error *err) CL_MUST_CHECK;

/* CL_OK when a and b describe the same model and graph (hash, nodes with their names, ops and value
 * ids, values with their bytes and roles). Errors: CL_ERR_ARG naming what differs. */
cl_status cl_profile_match(const cl_profile *a, const cl_profile *b, cl_error *err) CL_MUST_CHECK;

/* Index of a codec by canonical name, or -1. */
int cl_profile_codec_index(const cl_profile *p, const char *name);

/* Sum of node medians over [begin, end). */
double cl_profile_compute_ms(const cl_profile *p, int begin, int end);

/* Device memory to run the node set `on` (on[i] != 0: node i runs here, in index order; NULL: every
 * node), with the values that leave the set kept to the end: *peak the activation bytes live at the
 * peak, *weights the constants the set reads. Values ids must be valid (a derived or validated
 * profile). */
void cl_profile_memory(const cl_profile *p, const unsigned char *on, uint64_t *peak,
                       uint64_t *weights);

/* === Files (proto/partition.proto) === */

/* Serialises p into a malloc'd buffer (*buf, *len; the caller frees it). Errors: CL_ERR_NOMEM,
 * CL_ERR_LIMIT (a profile beyond the file format's bounds). */
cl_status cl_profile_encode(const cl_profile *p, uint8_t **buf, size_t *len,
                            cl_error *err) CL_MUST_CHECK;

/* Parses and validates a profile from untrusted bytes (buf is only read during the call).
 * Errors: CL_ERR_FORMAT (corrupt, truncated, inconsistent, not a profile), CL_ERR_LIMIT,
 * CL_ERR_NOMEM. On success *out is the caller's (cl_profile_free). */
cl_status cl_profile_decode(const uint8_t *buf, size_t len, cl_profile **out,
                            cl_error *err) CL_MUST_CHECK;

/* The same through files (at most CL_PROFILE_MAX_FILE_BYTES). Errors as above, plus CL_ERR_IO.
 * Messages name the file. */
cl_status cl_profile_save(const cl_profile *p, const char *path, cl_error *err) CL_MUST_CHECK;
cl_status cl_profile_load(const char *path, cl_profile **out, cl_error *err) CL_MUST_CHECK;

/* === Measuring (profiler.c) === */

typedef struct cl_profile_options {
  const char *model_path;     /* the ONNX file (recorded in the profile) */
  const cl_tensor *inputs;    /* graph inputs, in order; NULL: random inputs (the model must have
                               * static shapes); the caller keeps them */
  int n_inputs;
  const char *input_desc;     /* recorded: the input files (NULL: "random (seed S)") */
  int threads;                /* executor threads (0: 1) */
  int runs;                   /* timed runs (0: CL_PROFILE_DEFAULT_RUNS) */
  int warmup;                 /* untimed runs first (0: CL_PROFILE_DEFAULT_WARMUP, < 0: none) */
  int codec_reps;             /* timed reps per tensor and codec (0: CL_PROFILE_DEFAULT_REPS) */
  double pause_ms;            /* the profiler sleeps this long before each timed run, as each side
                               * of a split request waits for the other before it computes
                               * (0: CL_PROFILE_DEFAULT_PAUSE_MS; < 0: none, runs back to back) */
  const char *codecs;         /* comma-separated names (NULL: CL_PROFILE_DEFAULT_CODECS); the
                               * lossless counterpart of each (raw with its shuffle and LZ4) is added
                               * when missing: replies are lossless */
  int no_accuracy;            /* 1: do not measure lossy codecs' output error */
  uint64_t seed;              /* random inputs */
  /* Progress (may be NULL): phase name, done, total. Called from the calling thread. */
  void (*progress)(void *ctx, const char *phase, int done, int total);
  void *progress_ctx;
} cl_profile_options;

#define CL_PROFILE_DEFAULT_RUNS 50
#define CL_PROFILE_DEFAULT_WARMUP 5
#define CL_PROFILE_DEFAULT_REPS 5
#define CL_PROFILE_DEFAULT_PAUSE_MS 5.0
#define CL_PROFILE_DEFAULT_CODECS "raw,raw+shuffle,f16,int8c"

/* Measures model m (loaded with the inputs' shapes) on this host: node timings over runs, every
 * value that crosses a cut under every codec (bytes, encode and decode time), each lossy codec's
 * effect on the output at every cut k < n (the frontier decoded into a second executor that runs
 * [k, n), as bench/codec_eval.c does), device memory per cut, and the sealing cost. The model must
 * have been loaded with the inputs' shapes (with none, it needs static shapes). Errors: CL_ERR_ARG
 * (codec names, input count), CL_ERR_SHAPE (inputs that do not fit), CL_ERR_BACKEND, CL_ERR_NOMEM
 * (the executors, libsodium). The model and the inputs are the caller's; on success *out is too. */
cl_status cl_profile_measure(const cl_model_t *m, const cl_profile_options *o, cl_profile **out,
                             cl_error *err) CL_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
