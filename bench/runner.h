/* cleave-bench: the processes of one sweep, started where they belong and measured.
 *
 * A runner knows the binaries, the lab (lab.h) and the output directory. It starts and stops the
 * servers in the edge namespace (cleave-edge, the camera edge, the delaying relays, the goodput
 * server) on the edge CPU, and runs the device's side (cleave-device, the camera device, the goodput
 * client) in the device namespace, on the device CPU, inside the device's cgroup. Each measurement
 * leaves its --stats JSON and its log under DIR/raw/. */
#ifndef CLEAVE_BENCH_RUNNER_H
#define CLEAVE_BENCH_RUNNER_H

#include <stdio.h>
#include <sys/types.h>

#include "camera.h"
#include "cleave/status.h"
#include "goodput.h"
#include "lab.h"

#define CL_RUNNER_PATH 1024

/* Ports inside the edge namespace. */
#define CL_PORT_EDGE 5555          /* cleave-edge on 127.0.0.1 */
#define CL_PORT_CAMERA 5556        /* the camera edge on 127.0.0.1 */
#define CL_PORT_RELAY_EDGE 6555    /* relays on CL_LAB_EDGE_IP, to the two above */
#define CL_PORT_RELAY_CAMERA 6556
#define CL_PORT_GOODPUT 7000       /* the goodput server on CL_LAB_EDGE_IP (no relay) */

typedef struct cl_runner {
  char device[CL_RUNNER_PATH], edge[CL_RUNNER_PATH], keygen[CL_RUNNER_PATH];
  char partitioner[CL_RUNNER_PATH];   /* "" when not built */
  char self[CL_RUNNER_PATH];          /* this cleave-bench */
  char dir[CL_RUNNER_PATH], raw[CL_RUNNER_PATH], keys[CL_RUNNER_PATH];
  cl_lab *lab;
  int dev_cpu, edge_cpu;
  pid_t edge_pid, camera_pid, relay_pid, camera_relay_pid, goodput_pid;
} cl_runner;

/* One model as the sweep uses it. */
typedef struct cl_model_case {
  char name[64];
  char model[CL_RUNNER_PATH], input[CL_RUNNER_PATH];
  char reference[CL_RUNNER_PATH];     /* the local run's output (written by the sweep) */
  char input_shape[96];               /* "1x3x224x224" for cleave-edge --input-shape */
  int nodes;
  double *cut_bytes;                  /* nodes + 1: raw frontier bytes per cut (--list-cuts), owned */
  const cl_camera_preproc *camera;    /* NULL: not an image; the compressed baseline is LZ4 */
  double jpeg_bytes;                  /* the frame's JPEG size at the sweep's quality */
} cl_model_case;

/* What one measurement gave (medians in ms; NAN when the tool did not report it). */
typedef struct cl_measure {
  int ok;                             /* 0: failed or skipped; why says which */
  char why[160];
  int runs, fallbacks;
  double median, p90, mean, device, encode, wire, edge, bytes_up, bytes_down, rel_l2;
  double top1_agree, mask_agree;      /* the camera baseline's output against the local run's */
} cl_measure;

/* Finds the binaries in bin_dir (the partitioner is optional) and makes DIR/raw and DIR/keys with
 * the key pairs (cleave-keygen) and the camera's 32-byte key. Errors: CL_ERR_IO naming what is
 * missing. */
cl_status cl_runner_init(cl_runner *r, const char *bin_dir, const char *dir, cl_lab *lab, int dev_cpu,
                         int edge_cpu, cl_error *err) CL_MUST_CHECK;

/* Fills a model case from testdata/models/NAME.onnx and testdata/ref/NAME/real/input_0.npy: node
 * count (cleave-device --list-cuts), input shape, camera preprocessing and JPEG size. */
cl_status cl_runner_model(cl_runner *r, const char *testdata, const char *name, int jpeg_quality,
                          cl_model_case *out, cl_error *err) CL_MUST_CHECK;

/* Frees what a model case owns. */
void cl_runner_model_free(cl_model_case *m);

/* Starts cleave-edge (and the camera edge for images) for the model; waits until they listen. */
cl_status cl_runner_start_edges(cl_runner *r, const cl_model_case *m, cl_error *err) CL_MUST_CHECK;
void cl_runner_stop_edges(cl_runner *r);
/* 1 when the edges started for the model still run. */
int cl_runner_edges_alive(cl_runner *r);

/* (Re)starts the relays with delay_ms each way (rtt / 2). */
cl_status cl_runner_start_relays(cl_runner *r, double delay_ms, int camera, cl_error *err) CL_MUST_CHECK;
void cl_runner_stop_relays(cl_runner *r);

/* Goodput of the current shaping: up (device to edge) and down, `seconds` of transfer at about the
 * set rate; a direction more than 10% below the set rate is measured again, up to three tries, and
 * the best kept (contention for the CPUs can only lower it). Starts the server on first use. */
cl_status cl_runner_goodput(cl_runner *r, double rate_bps, double seconds, cl_goodput_result *up,
                            cl_goodput_result *down, cl_error *err) CL_MUST_CHECK;
/* Round trips through a relay of delay_ms each way in front of the goodput server. */
cl_status cl_runner_ping(cl_runner *r, double delay_ms, int count, double *median_ms, double *max_ms,
                         cl_error *err) CL_MUST_CHECK;
void cl_runner_stop_goodput(cl_runner *r);

/* The whole model on the device (no network), runs timed requests, in the device's cgroup and CPU.
 * output (may be NULL) gets the output tensor. tag names the raw files. */
void cl_runner_local(cl_runner *r, const cl_model_case *m, int runs, const char *output, int in_cgroup,
                     const char *tag, cl_measure *out);

/* Split at cut with codec through the relay: cleave-device --edge ... --cut --codec. est_ms (the
 * expected time of one request) sets the deadlines. */
void cl_runner_split(cl_runner *r, const cl_model_case *m, int cut, const char *codec, int runs,
                     double est_ms, const char *tag, cl_measure *out);

/* The camera baseline through its relay: JPEG at quality q, compared with m->reference. */
void cl_runner_camera(cl_runner *r, const cl_model_case *m, int quality, int runs, double est_ms,
                      const char *tag, cl_measure *out);

/* Stops every process the runner started (the lab itself is the caller's). */
void cl_runner_stop_all(cl_runner *r);

#endif
