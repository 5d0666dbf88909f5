/* cleave-bench: the processes of one sweep (runner.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "cleave/tensorfile.h"
#include "json.h"
#include "proc.h"

#define START_TIMEOUT_S 60.0

/* === Helpers === */


static int exists(const char *p) { return access(p, F_OK) == 0; }

static cl_status make_dir(const char *p, cl_error *err) {
  if (mkdir(p, 0755) != 0 && errno != EEXIST) return cl_error_set(err, CL_ERR_IO, "%s: %s", p, strerror(errno));
  return CL_OK;
}

/* Waits until the file at path holds needle, while pid runs. */
static cl_status wait_for_line(const char *path, const char *needle, pid_t pid, double timeout_s,
                               const char *what, cl_error *err) {
  double end = cl_proc_now() + timeout_s;
  char buf[8192];
  for (;;) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    if (strstr(buf, needle)) return CL_OK;
    if (!cl_proc_alive(pid)) {
      char *last = buf[0] ? buf : "(no output)";
      last[strcspn(last, "\n")] = '\0';
      return cl_error_set(err, CL_ERR_IO, "%s did not start: %s", what, last);
    }
    if (cl_proc_stop) return cl_error_set(err, CL_ERR_CLOSED, "interrupted");
    if (cl_proc_now() > end) return cl_error_set(err, CL_ERR_TIMEOUT, "%s did not start within %.0f s", what, timeout_s);
    cl_proc_sleep(0.02);
  }
}

static cl_proc_opts edge_side(const cl_runner *r, const char *log) {
  return (cl_proc_opts){r->lab ? r->lab->ns_edge : NULL, NULL, r->edge_cpu, log, log};
}

static cl_proc_opts device_side(const cl_runner *r, int in_cgroup, const char *log) {
  return (cl_proc_opts){r->lab ? r->lab->ns_dev : NULL, r->lab && in_cgroup ? r->lab->cgroup : NULL,
                        r->dev_cpu, log, log};
}

/* === Set-up === */

cl_status cl_runner_init(cl_runner *r, const char *bin_dir, const char *dir, cl_lab *lab, int dev_cpu,
                         int edge_cpu, cl_error *err) {
  memset(r, 0, sizeof *r);
  r->lab = lab;
  r->dev_cpu = dev_cpu;
  r->edge_cpu = edge_cpu;
  cl_bench_fmt(r->device, sizeof r->device, "%s/cleave-device", bin_dir);
  cl_bench_fmt(r->edge, sizeof r->edge, "%s/cleave-edge", bin_dir);
  cl_bench_fmt(r->keygen, sizeof r->keygen, "%s/cleave-keygen", bin_dir);
  cl_bench_fmt(r->partitioner, sizeof r->partitioner, "%s/cleave-partitioner", bin_dir);
  if (!exists(r->partitioner)) r->partitioner[0] = '\0';
  ssize_t n = readlink("/proc/self/exe", r->self, sizeof r->self - 1);
  if (n <= 0) return cl_error_set(err, CL_ERR_IO, "cannot find my own binary: %s", strerror(errno));
  r->self[n] = '\0';
  const char *need[] = {r->device, r->edge, r->keygen};
  for (int i = 0; i < 3; i++)
    if (access(need[i], X_OK) != 0)
      return cl_error_set(err, CL_ERR_IO, "%s is missing: build first (make build), or give --bin DIR", need[i]);
  cl_bench_fmt(r->dir, sizeof r->dir, "%s", dir);
  cl_bench_fmt(r->raw, sizeof r->raw, "%s/raw", dir);
  cl_bench_fmt(r->keys, sizeof r->keys, "%s/keys", dir);
  cl_status st;
  if ((st = make_dir(r->raw, err)) != CL_OK || (st = make_dir(r->keys, err)) != CL_OK) return st;
  char path[CL_RUNNER_PATH + 32];
  const char *names[] = {"edge", "device"};
  for (int i = 0; i < 2; i++) {
    cl_bench_fmt(path, sizeof path, "%s/%s.key", r->keys, names[i]);
    if (exists(path)) continue;
    cl_bench_fmt(path, sizeof path, "%s/%s", r->keys, names[i]);
    char *argv[] = {r->keygen, path, NULL};
    if ((st = cl_proc_run(argv, NULL, 30, NULL, 0, err)) != CL_OK) return st;
  }
  /* The edge allows the device's key: the allow-list is its .pub file. */
  char src[CL_RUNNER_PATH + 32], dst[CL_RUNNER_PATH + 32];
  cl_bench_fmt(src, sizeof src, "%s/device.pub", r->keys);
  cl_bench_fmt(dst, sizeof dst, "%s/allow.pub", r->keys);
  FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
  int c;
  while (in && out && (c = fgetc(in)) != EOF) fputc(c, out);
  if (in) fclose(in);
  if (!out || fclose(out) != 0 || !in) return cl_error_set(err, CL_ERR_IO, "%s: cannot write", dst);
  cl_bench_fmt(path, sizeof path, "%s/camera.key", r->keys);
  if (!exists(path)) {
    if (sodium_init() < 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium did not initialise");
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int bad = fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key;
    if (fd >= 0) bad |= close(fd) != 0;
    sodium_memzero(key, sizeof key);
    if (bad) return cl_error_set(err, CL_ERR_IO, "%s: cannot write", path);
  }
  return CL_OK;
}

cl_status cl_runner_model(cl_runner *r, const char *testdata, const char *name, int jpeg_quality,
                          cl_model_case *m, cl_error *err) {
  memset(m, 0, sizeof *m);
  cl_bench_fmt(m->name, sizeof m->name, "%s", name);
  cl_bench_fmt(m->model, sizeof m->model, "%s/models/%s.onnx", testdata, name);
  cl_bench_fmt(m->input, sizeof m->input, "%s/ref/%s/real/input_0.npy", testdata, name);
  cl_bench_fmt(m->reference, sizeof m->reference, "%s/%s-local-output.npy", r->raw, name);
  if (!exists(m->model) || !exists(m->input))
    return cl_error_set(err, CL_ERR_IO, "%s or its input is missing: run scripts/fetch-testdata.sh (or give --testdata)",
                        m->model);
  char *out = malloc(1 << 20);
  if (!out) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  char *argv[] = {r->device, "--model", m->model, "--input", m->input, "--list-cuts", NULL};
  cl_status st = cl_proc_run(argv, NULL, 120, out, 1 << 20, err);
  if (st == CL_OK) {
    /* The last line is cut n: "n  bytes  after-node  tensors". */
    size_t len = strlen(out);
    while (len && out[len - 1] == '\n') out[--len] = '\0';
    char *last = strrchr(out, '\n');
    m->nodes = atoi(last ? last + 1 : out);
    if (m->nodes < 1) st = cl_error_set(err, CL_ERR_FORMAT, "%s: no cuts listed", m->model);
  }
  if (st == CL_OK && !(m->cut_bytes = calloc((size_t)m->nodes + 1, sizeof *m->cut_bytes)))
    st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (char *save = NULL, *line = st == CL_OK ? strtok_r(out, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    int k;
    double b;
    if (sscanf(line, "%d %lf", &k, &b) == 2 && k >= 0 && k <= m->nodes) m->cut_bytes[k] = b;
  }
  free(out);
  if (st != CL_OK) return st;
  cl_tensor t = {0};
  if ((st = cl_tensorfile_read(m->input, &t, err)) != CL_OK) return st;
  size_t k = 0;
  for (int i = 0; i < t.rank && k < sizeof m->input_shape; i++)
    k += (size_t)snprintf(m->input_shape + k, sizeof m->input_shape - k, "%s%lld", i ? "x" : "",
                          (long long)t.dims[i]);
  m->camera = cl_camera_preproc_for_model(name);
  if (m->camera) {
    uint8_t *rgb;
    int w, h;
    double dev;
    cl_error e2 = {0};
    if (cl_camera_frame_from_tensor(&t, m->camera, &rgb, &w, &h, &dev, &e2) != CL_OK || dev > 0.01) {
      fprintf(stderr, "cleave-bench: %s: its input is not an 8-bit image under %s: LZ4 baseline instead\n",
              name, m->camera->name);
      m->camera = NULL;
    } else {
      tjhandle tj = tjInitCompress();
      unsigned char *jpeg = NULL;
      unsigned long size = 0;
      if (tj && tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_420, jpeg_quality, 0) == 0)
        m->jpeg_bytes = (double)size;
      if (jpeg) tjFree(jpeg);
      if (tj) tjDestroy(tj);
    }
    free(rgb);
  }
  cl_tensor_release(&t);
  return CL_OK;
}

void cl_runner_model_free(cl_model_case *m) {
  free(m->cut_bytes);
  m->cut_bytes = NULL;
}

/* === Servers === */

cl_status cl_runner_start_edges(cl_runner *r, const cl_model_case *m, cl_error *err) {
  char log[CL_RUNNER_PATH + 64], listen[64], key[CL_RUNNER_PATH + 32], allow[CL_RUNNER_PATH + 32];
  cl_bench_fmt(log, sizeof log, "%s/%s-edge.log", r->raw, m->name);
  cl_bench_fmt(listen, sizeof listen, "tcp://127.0.0.1:%d", CL_PORT_EDGE);
  cl_bench_fmt(key, sizeof key, "%s/edge.key", r->keys);
  cl_bench_fmt(allow, sizeof allow, "%s/allow.pub", r->keys);
  char *argv[] = {r->edge, "--model", (char *)m->model, "--listen", listen, "--key", key, "--allow", allow,
                  "--threads", "1", "--compute-threads", "1", "--input-shape", (char *)m->input_shape, NULL};
  cl_proc_opts po = edge_side(r, log);
  cl_status st = cl_proc_spawn(argv, &po, &r->edge_pid, err);
  if (st == CL_OK) st = wait_for_line(log, "listening on", r->edge_pid, START_TIMEOUT_S, "cleave-edge", err);
  if (st != CL_OK || !m->camera) return st;
  char clog[CL_RUNNER_PATH + 64], ckey[CL_RUNNER_PATH + 32], addr[64];
  cl_bench_fmt(clog, sizeof clog, "%s/%s-camera-edge.log", r->raw, m->name);
  cl_bench_fmt(ckey, sizeof ckey, "%s/camera.key", r->keys);
  cl_bench_fmt(addr, sizeof addr, "127.0.0.1:%d", CL_PORT_CAMERA);
  char *cargv[] = {r->self, "camera-edge", "--model", (char *)m->model, "--input", (char *)m->input,
                   "--preproc", (char *)m->camera->name, "--key", ckey, "--listen", addr, NULL};
  po = edge_side(r, clog);
  st = cl_proc_spawn(cargv, &po, &r->camera_pid, err);
  if (st == CL_OK) st = wait_for_line(clog, "listening on", r->camera_pid, START_TIMEOUT_S, "the camera edge", err);
  return st;
}

void cl_runner_stop_edges(cl_runner *r) {
  cl_proc_kill(&r->edge_pid, 5);
  cl_proc_kill(&r->camera_pid, 2);
}

int cl_runner_edges_alive(cl_runner *r) {
  return r->edge_pid > 0 && cl_proc_alive(r->edge_pid) && (r->camera_pid == 0 || cl_proc_alive(r->camera_pid));
}

static cl_status start_relay(cl_runner *r, int port, const char *target, double delay_ms, pid_t *pid,
                             cl_error *err) {
  char log[CL_RUNNER_PATH + 32], listen[64], delay[32];
  cl_bench_fmt(log, sizeof log, "%s/relay-%d.log", r->raw, port);
  cl_bench_fmt(listen, sizeof listen, CL_LAB_EDGE_IP ":%d", port);
  cl_bench_fmt(delay, sizeof delay, "%.6g", delay_ms);
  unlink(log);
  char *argv[] = {r->self, "relay", "--listen", listen, "--to", (char *)target, "--delay-ms", delay, NULL};
  cl_proc_opts po = edge_side(r, log);
  cl_status st = cl_proc_spawn(argv, &po, pid, err);
  if (st == CL_OK) st = wait_for_line(log, "listening on", *pid, START_TIMEOUT_S, "the relay", err);
  return st;
}

cl_status cl_runner_start_relays(cl_runner *r, double delay_ms, int camera, cl_error *err) {
  cl_runner_stop_relays(r);
  char t[64];
  cl_bench_fmt(t, sizeof t, "127.0.0.1:%d", CL_PORT_EDGE);
  cl_status st = start_relay(r, CL_PORT_RELAY_EDGE, t, delay_ms, &r->relay_pid, err);
  if (st != CL_OK || !camera) return st;
  cl_bench_fmt(t, sizeof t, "127.0.0.1:%d", CL_PORT_CAMERA);
  return start_relay(r, CL_PORT_RELAY_CAMERA, t, delay_ms, &r->camera_relay_pid, err);
}

void cl_runner_stop_relays(cl_runner *r) {
  cl_proc_kill(&r->relay_pid, 2);
  cl_proc_kill(&r->camera_relay_pid, 2);
}

/* === Goodput === */

static cl_status start_goodput(cl_runner *r, cl_error *err) {
  if (r->goodput_pid > 0 && cl_proc_alive(r->goodput_pid)) return CL_OK;
  char log[CL_RUNNER_PATH + 32], addr[64];
  cl_bench_fmt(log, sizeof log, "%s/goodput-server.log", r->raw);
  cl_bench_fmt(addr, sizeof addr, CL_LAB_EDGE_IP ":%d", CL_PORT_GOODPUT);
  unlink(log);
  char *argv[] = {r->self, "goodput", "--serve", addr, NULL};
  cl_proc_opts po = edge_side(r, log);
  cl_status st = cl_proc_spawn(argv, &po, &r->goodput_pid, err);
  if (st == CL_OK) st = wait_for_line(log, "listening on", r->goodput_pid, START_TIMEOUT_S, "the goodput server", err);
  return st;
}

static cl_status goodput_client(cl_runner *r, const char *addr, const char *mode, const char *arg,
                                double timeout_s, char *out, size_t cap, cl_error *err) {
  char *argv[] = {r->self, "goodput", "--connect", (char *)addr, (char *)mode, (char *)arg, NULL};
  cl_proc_opts po = device_side(r, 0, NULL);   /* the link is measured, not the slowed CPU */
  return cl_proc_run(argv, &po, timeout_s, out, cap, err);
}

cl_status cl_runner_goodput(cl_runner *r, double rate_bps, double seconds, cl_goodput_result *up,
                            cl_goodput_result *down, cl_error *err) {
  cl_status st = start_goodput(r, err);
  if (st != CL_OK) return st;
  char addr[64], bytes[32], out[256];
  cl_bench_fmt(addr, sizeof addr, CL_LAB_EDGE_IP ":%d", CL_PORT_GOODPUT);
  double b = rate_bps / 8 * seconds;
  cl_bench_fmt(bytes, sizeof bytes, "%.0f", b < 65536 ? 65536 : b);
  cl_goodput_result *res[2] = {up, down};
  const char *mode[2] = {"--up", "--down"};
  for (int i = 0; i < 2; i++) {
    res[i]->mbit = -1;
    /* Up to three tries while more than 10% below the set rate: CPU contention from other work can
     * only lower a goodput, never raise it above what tbf lets through. The best try is kept. */
    for (int t = 0; t < 3 && res[i]->mbit < 0.9 * rate_bps / 1e6; t++) {
      cl_goodput_result g;
      st = goodput_client(r, addr, mode[i], bytes, 30 + 4 * seconds, out, sizeof out, err);
      if (st != CL_OK) return st;
      if (sscanf(out, "goodput: %*s %lf Mbit/s, %lf bytes in %lf s", &g.mbit, &g.bytes, &g.seconds) != 3)
        return cl_error_set(err, CL_ERR_FORMAT, "goodput: cannot read '%.60s'", out);
      if (g.mbit > res[i]->mbit) *res[i] = g;
    }
  }
  return CL_OK;
}

cl_status cl_runner_ping(cl_runner *r, double delay_ms, int count, double *median_ms, double *max_ms,
                         cl_error *err) {
  cl_status st = start_goodput(r, err);
  pid_t relay = 0;
  char target[64], addr[64], n[16], out[256];
  cl_bench_fmt(target, sizeof target, CL_LAB_EDGE_IP ":%d", CL_PORT_GOODPUT);
  if (st == CL_OK) st = start_relay(r, CL_PORT_GOODPUT + 1, target, delay_ms, &relay, err);
  cl_bench_fmt(addr, sizeof addr, CL_LAB_EDGE_IP ":%d", CL_PORT_GOODPUT + 1);
  cl_bench_fmt(n, sizeof n, "%d", count);
  if (st == CL_OK) st = goodput_client(r, addr, "--ping", n, 30 + count * delay_ms * 0.004, out, sizeof out, err);
  if (st == CL_OK && sscanf(out, "goodput: ping median %lf ms, max %lf ms", median_ms, max_ms) != 2)
    st = cl_error_set(err, CL_ERR_FORMAT, "goodput: cannot read '%.60s'", out);
  cl_proc_kill(&relay, 2);
  return st;
}

void cl_runner_stop_goodput(cl_runner *r) { cl_proc_kill(&r->goodput_pid, 2); }

/* === Measurements === */

static void measure_fail(cl_measure *out, const char *fmt, ...) CL_PRINTF(2, 3);
static void measure_fail(cl_measure *out, const char *fmt, ...) {
  out->ok = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->why, sizeof out->why, fmt, ap);
  va_end(ap);
}

/* The first line of a log that looks like an error, for the note. */
static void log_reason(const char *log, char *buf, size_t cap) {
  FILE *f = fopen(log, "r");
  buf[0] = '\0';
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0]) cl_bench_fmt(buf, cap, "%s", line);   /* the last non-empty line */
  }
  if (f) fclose(f);
}

/* Runs a measuring tool, then reads its --stats JSON. */
static void run_measure(cl_runner *r, char *const *argv, const char *stats, const char *log, double wait_s,
                        int in_cgroup, cl_measure *out) {
  memset(out, 0, sizeof *out);
  unlink(stats);
  unlink(log);
  cl_proc_opts po = device_side(r, in_cgroup, log);
  pid_t pid = 0;
  cl_error err = {0};
  if (cl_proc_spawn(argv, &po, &pid, &err) != CL_OK) { measure_fail(out, "%s", err.msg); return; }
  int status;
  cl_status st = cl_proc_wait(pid, wait_s, &status);
  if (st != CL_OK) {
    cl_proc_kill(&pid, 2);
    measure_fail(out, "%s", st == CL_ERR_TIMEOUT ? "timed out" : "interrupted");
    return;
  }
  if (status != 0) {
    char why[200];
    log_reason(log, why, sizeof why);
    measure_fail(out, "failed: %s", why[0] ? why : "no message");
    return;
  }
  cl_json *j;
  if (cl_json_load(stats, &j, &err) != CL_OK) { measure_fail(out, "%s", err.msg); return; }
  out->runs = (int)cl_json_num(j, "runs", 0);
  out->fallbacks = (int)cl_json_num(j, "fallbacks", 0);
  out->median = cl_json_num(j, "median_ms", NAN);
  out->p90 = cl_json_num(j, "p90_ms", NAN);
  out->mean = cl_json_num(j, "mean_ms", NAN);
  out->device = cl_json_num(j, "device_ms", NAN);
  out->encode = cl_json_num(j, "encode_ms", NAN);
  out->wire = cl_json_num(j, "wire_ms", NAN);
  out->edge = cl_json_num(j, "edge_ms", NAN);
  out->bytes_up = cl_json_num(j, "bytes_up", NAN);
  out->bytes_down = cl_json_num(j, "bytes_down", NAN);
  out->rel_l2 = cl_json_num(j, "out_rel_l2", NAN);
  out->top1_agree = cl_json_num(j, "top1_agree", NAN);
  out->mask_agree = cl_json_num(j, "mask_agree", NAN);
  cl_json_free(&j);
  out->ok = isfinite(out->median) && out->fallbacks == 0;
  if (!isfinite(out->median)) measure_fail(out, "%s", "no median_ms in the statistics");
  else if (out->fallbacks) cl_bench_fmt(out->why, sizeof out->why, "%d requests fell back to local", out->fallbacks);
}

static double wait_for(int runs, double est_ms) {
  double per = isfinite(est_ms) && est_ms > 1 ? est_ms : 1;
  return 60 + (runs + 1) * per * 4 / 1000;
}

void cl_runner_local(cl_runner *r, const cl_model_case *m, int runs, const char *output, int in_cgroup,
                     const char *tag, cl_measure *out) {
  char stats[CL_RUNNER_PATH + 128], log[CL_RUNNER_PATH + 128], rs[16];
  cl_bench_fmt(stats, sizeof stats, "%s/%s.json", r->raw, tag);
  cl_bench_fmt(log, sizeof log, "%s/%s.log", r->raw, tag);
  cl_bench_fmt(rs, sizeof rs, "%d", runs);
  char *argv[16] = {r->device, "--model", (char *)m->model, "--input", (char *)m->input, "--threads", "1",
                    "--repeat", rs, "--stats", stats, "--quiet"};
  int n = 12;
  if (output) {
    argv[n++] = "--output";
    argv[n++] = (char *)output;
  }
  argv[n] = NULL;
  run_measure(r, argv, stats, log, 600, in_cgroup, out);
}

void cl_runner_split(cl_runner *r, const cl_model_case *m, int cut, const char *codec, int runs,
                     double est_ms, const char *tag, cl_measure *out) {
  char stats[CL_RUNNER_PATH + 128], log[CL_RUNNER_PATH + 128], rs[16], cs[16], ep[64], to[32];
  char key[CL_RUNNER_PATH + 32], pub[CL_RUNNER_PATH + 32];
  cl_bench_fmt(stats, sizeof stats, "%s/%s.json", r->raw, tag);
  cl_bench_fmt(log, sizeof log, "%s/%s.log", r->raw, tag);
  cl_bench_fmt(rs, sizeof rs, "%d", runs);
  cl_bench_fmt(cs, sizeof cs, "%d", cut);
  cl_bench_fmt(ep, sizeof ep, "tcp://" CL_LAB_EDGE_IP ":%d", CL_PORT_RELAY_EDGE);
  double t = isfinite(est_ms) ? 4 * est_ms : 0;
  cl_bench_fmt(to, sizeof to, "%.0f", t > 10000 ? t : 10000);
  cl_bench_fmt(key, sizeof key, "%s/device.key", r->keys);
  cl_bench_fmt(pub, sizeof pub, "%s/edge.pub", r->keys);
  char *argv[] = {r->device, "--model", (char *)m->model, "--input", (char *)m->input, "--threads", "1",
                  "--edge", ep, "--cut", cs, "--codec", (char *)codec, "--key", key, "--edge-pub", pub,
                  "--repeat", rs, "--stats", stats, "--timeout", to, "--quiet", NULL};
  run_measure(r, argv, stats, log, wait_for(runs, est_ms), 1, out);
}

void cl_runner_camera(cl_runner *r, const cl_model_case *m, int quality, int runs, double est_ms,
                      const char *tag, cl_measure *out) {
  char stats[CL_RUNNER_PATH + 128], log[CL_RUNNER_PATH + 128], rs[16], q[16], addr[64], to[32];
  char key[CL_RUNNER_PATH + 32];
  cl_bench_fmt(stats, sizeof stats, "%s/%s.json", r->raw, tag);
  cl_bench_fmt(log, sizeof log, "%s/%s.log", r->raw, tag);
  cl_bench_fmt(rs, sizeof rs, "%d", runs);
  cl_bench_fmt(q, sizeof q, "%d", quality);
  cl_bench_fmt(addr, sizeof addr, CL_LAB_EDGE_IP ":%d", CL_PORT_RELAY_CAMERA);
  double t = isfinite(est_ms) ? 4 * est_ms / 1000 : 0;
  cl_bench_fmt(to, sizeof to, "%.0f", t > 30 ? t : 30);
  cl_bench_fmt(key, sizeof key, "%s/camera.key", r->keys);
  char *argv[] = {r->self, "camera-device", "--connect", addr, "--input", (char *)m->input, "--preproc",
                  (char *)m->camera->name, "--reference", (char *)m->reference, "--key", key, "--quality", q,
                  "--repeat", rs, "--stats", stats, "--timeout", to, NULL};
  run_measure(r, argv, stats, log, wait_for(runs, est_ms), 1, out);
}

void cl_runner_stop_all(cl_runner *r) {
  cl_runner_stop_relays(r);
  cl_runner_stop_edges(r);
  cl_runner_stop_goodput(r);
}
