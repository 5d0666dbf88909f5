/* cleave-bench: the compressed-input baseline for images, as a camera sends a frame.
 *
 * The device holds the 8-bit frame the model's input was made from (recovered exactly from the
 * normalised input tensor: the references were made as (x/255 - mean)/std from 8-bit PNGs), encodes
 * it as JPEG with libjpeg-turbo (4:2:0, quality q) on every request, seals it and sends it; the edge
 * opens it, decodes the JPEG, normalises it the same way (cl_camera_preproc), runs the whole model and
 * replies with the outputs (float32, LZ4, sealed: as cleave's split replies). The device compares the
 * last output with a reference output (the local run's) to report what JPEG did to the result.
 *
 * Wire: over TCP (through the delaying relay), frames [16-byte header | ciphertext]; header: magic
 * "CBJ1", u32 ciphertext length, u64 sequence number (little-endian); XChaCha20-Poly1305 with a
 * 32-byte key both sides read from a file (written by cleave-bench, mode 0600), the header as
 * associated data, the nonce from the sequence number and the direction. The reply's plaintext:
 * u32 edge microseconds (decode + normalise + compute + encode), u32 output count, then per output
 * u32 raw bytes, u32 LZ4 bytes, the LZ4 bytes. Frames over 64 MiB are refused. */
#ifndef CLEAVE_BENCH_CAMERA_H
#define CLEAVE_BENCH_CAMERA_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"
#include "cleave/tensor.h"

/* How pixels become the model's input: channel order in the tensor and the per-channel mean and std
 * applied to x/255 (in tensor channel order). */
typedef struct cl_camera_preproc {
  const char *name;           /* "imagenet-rgb", "imagenet-bgr" */
  int bgr;                    /* 1: tensor channel 0 is blue */
  float mean[3], std[3];
} cl_camera_preproc;

/* The preprocessing called name, or NULL. */
const cl_camera_preproc *cl_camera_preproc_find(const char *name);

/* The preprocessing of a known image model (by its file's base name: mobilenetv2, resnet18,
 * squeezenet1_1: imagenet-rgb; ppocr_det: imagenet-bgr, as PaddleOCR reads with OpenCV), or NULL
 * when the model does not take a camera image. */
const cl_camera_preproc *cl_camera_preproc_for_model(const char *model_name);

/* Recovers the interleaved RGB frame (h x w x 3 bytes, malloc'd into *rgb) from a [1,3,h,w] float32
 * input made with pp. *max_dev gets the largest distance of a recovered value from an integer (in
 * 1/255 units; about 1e-5 when the input really came from 8-bit pixels). Errors: CL_ERR_SHAPE,
 * CL_ERR_NOMEM. */
cl_status cl_camera_frame_from_tensor(const cl_tensor *t, const cl_camera_preproc *pp, uint8_t **rgb,
                                      int *w, int *h, double *max_dev, cl_error *err) CL_MUST_CHECK;

/* Fills a [1,3,h,w] float32 tensor from an interleaved RGB frame with pp (the inverse of the above). */
void cl_camera_normalise(const uint8_t *rgb, int w, int h, const cl_camera_preproc *pp, float *nchw);

typedef struct cl_camera_edge_opts {
  const char *model;          /* ONNX file */
  const char *input;          /* the reference input (.npy or .pb): binds the model's shapes */
  const char *preproc;        /* a cl_camera_preproc name */
  const char *key_file;       /* 32 raw bytes */
  const char *listen_host;
  int listen_port;            /* 0: any; the port is printed */
  int threads;                /* compute threads (default 1) */
} cl_camera_edge_opts;

/* Serves devices one connection at a time until *stop. Prints "camera-edge: listening on HOST:PORT"
 * on stderr once ready. Errors: model, key and socket problems (CL_ERR_IO, CL_ERR_FORMAT, ...). */
cl_status cl_camera_edge_run(const cl_camera_edge_opts *o, volatile sig_atomic_t *stop,
                             cl_error *err) CL_MUST_CHECK;

typedef struct cl_camera_device_opts {
  const char *input;          /* the normalised input tensor the frame is recovered from */
  const char *preproc;
  const char *reference;      /* the output to compare with (.npy/.pb), or NULL */
  const char *key_file;
  const char *host;
  int port;
  int quality;                /* JPEG quality, 1..100 (default 90) */
  int repeat;                 /* timed requests after one warm-up */
  double timeout_s;           /* per request */
  const char *stats;          /* JSON file to write (cleave-device's keys where they apply) */
} cl_camera_device_opts;

/* Runs the requests and writes the statistics: runs, median_ms, p90_ms, mean_ms, min_ms, encode_ms,
 * edge_ms, wire_ms, decode_ms (medians), bytes_up, bytes_down, jpeg_bytes, quality, and against the
 * reference out_rel_l2, out_max_abs, and top1_agree (a [1, C] output) or mask_agree (the share of
 * values on the same side of 0.3, for probability maps). */
cl_status cl_camera_device_run(const cl_camera_device_opts *o, cl_error *err) CL_MUST_CHECK;

#endif
