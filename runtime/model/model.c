/* cleave: loading a model (map the file, decode, build) and the public read-only view of it. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/op.h"
#include "model/model_internal.h"
#include "model/onnx_reader.h"
#include "model/passes.h"

struct cl_model {
  cl_graph *g; /* owned, built */
};

/* === Building === */

/* Mixes the bound input shapes into the file hash: same file, other shapes, other graph. */
static void hash_shapes(cl_graph *g) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, sizeof g->hash);
  crypto_generichash_update(&st, g->hash, sizeof g->hash);
  for (int i = 0; i < g->n_inputs; i++) {
    const cl_value *v = &g->values[g->inputs[i]];
    int64_t desc[2 + CL_MAX_RANK] = {v->dtype, v->rank};
    memcpy(desc + 2, v->dims, sizeof v->dims);
    crypto_generichash_update(&st, (const unsigned char *)desc, sizeof desc);
  }
  crypto_generichash_final(&st, g->hash, sizeof g->hash);
}

static cl_status check_outputs(const cl_graph *g, cl_error *err) {
  if (g->n_outputs == 0) return cl_error_set(err, CL_ERR_FORMAT, "the model has no outputs");
  for (int i = 0; i < g->n_outputs; i++) {
    const cl_value *v = &g->values[g->outputs[i]];
    if (!v->is_const && !v->is_input && v->producer < 0)
      return cl_error_set(err, CL_ERR_FORMAT, "graph output '%s' is computed by no node", v->name);
  }
  return CL_OK;
}

cl_status cl_model_from_graph(cl_graph *g, const cl_model_options *opt, cl_model_t **out,
                              cl_error *err) {
  *out = NULL;
  cl_status s = cl_xnn_init(err);
  if (s == CL_OK) s = cl_pass_bind_inputs(g, opt, err);
  if (s == CL_OK) s = cl_pass_sort(g, err);
  if (s == CL_OK) s = check_outputs(g, err);
  if (s == CL_OK) s = cl_pass_resolve(g, opt, err);
  if (s == CL_OK) cl_pass_dead_code(g);
  if (s == CL_OK && !(opt && opt->no_fusion)) s = cl_pass_fuse(g, err);
  if (s == CL_OK) cl_pass_dead_code(g);
  if (s == CL_OK) s = cl_pass_layout(g, err);
  cl_model_t *m = s == CL_OK ? calloc(1, sizeof *m) : NULL;
  if (s == CL_OK && !m) s = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  if (s != CL_OK) {
    cl_graph_free(&g);
    return s;
  }
  hash_shapes(g);
  m->g = g;
  *out = m;
  return CL_OK;
}

/* === Loading === */

#define DEFAULT_MAX_FILE ((size_t)2 << 30)

cl_status cl_model_load(const char *path, const cl_model_options *opt, cl_model_t **out,
                        cl_error *err) {
  *out = NULL;
  size_t max = opt && opt->max_file_bytes ? opt->max_file_bytes : DEFAULT_MAX_FILE;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cl_error_set(err, CL_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cl_error_set(err, CL_ERR_IO, "model '%s' is not a regular file", path);
  }
  if (st.st_size == 0 || (size_t)st.st_size > max) {
    close(fd);
    return cl_error_set(err, st.st_size == 0 ? CL_ERR_FORMAT : CL_ERR_LIMIT,
                        "model '%s' is %lld bytes (must be 1 to %zu)", path, (long long)st.st_size, max);
  }
  size_t len = (size_t)st.st_size;
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return cl_error_set(err, CL_ERR_IO, "cannot map model '%s': %s", path, strerror(errno));
  cl_graph *g = cl_graph_new();
  if (!g) {
    munmap(map, len);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  g->map = map;
  g->map_len = len;
  cl_status s = cl_onnx_decode(g, map, len, err);
  if (s != CL_OK) {
    cl_graph_free(&g);
    return s;
  }
  return cl_model_from_graph(g, opt, out, err);
}

cl_status cl_model_load_buffer(const uint8_t *buf, size_t len, const cl_model_options *opt,
                               cl_model_t **out, cl_error *err) {
  *out = NULL;
  size_t max = opt && opt->max_file_bytes ? opt->max_file_bytes : DEFAULT_MAX_FILE;
  if (len == 0 || len > max)
    return cl_error_set(err, len ? CL_ERR_LIMIT : CL_ERR_FORMAT, "model is %zu bytes (must be 1 to %zu)",
                        len, max);
  cl_graph *g = cl_graph_new();
  void *copy = g ? aligned_alloc(64, (len + 63) / 64 * 64) : NULL;
  if (!copy) {
    cl_graph_free(&g);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  memcpy(copy, buf, len);
  g->buf_owned = copy;
  cl_status s = cl_onnx_decode(g, copy, len, err);
  if (s != CL_OK) {
    cl_graph_free(&g);
    return s;
  }
  return cl_model_from_graph(g, opt, out, err);
}

void cl_model_free(cl_model_t **m) {
  if (!m || !*m) return;
  cl_graph_free(&(*m)->g);
  free(*m);
  *m = NULL;
}

/* === Read-only view === */

const cl_graph *cl_model_graph(const cl_model_t *m) { return m->g; }
int cl_model_node_count(const cl_model_t *m) { return m->g->n_nodes; }
const char *cl_model_node_name(const cl_model_t *m, int i) { return m->g->nodes[i].name; }
const char *cl_model_node_op(const cl_model_t *m, int i) { return m->g->nodes[i].op_type; }

int cl_model_node_inputs(const cl_model_t *m, int i, const int **ids) {
  *ids = m->g->nodes[i].in;
  return m->g->nodes[i].n_in;
}

int cl_model_node_outputs(const cl_model_t *m, int i, const int **ids) {
  *ids = m->g->nodes[i].out;
  return m->g->nodes[i].n_out;
}

int cl_model_input_count(const cl_model_t *m) { return m->g->n_inputs; }
int cl_model_output_count(const cl_model_t *m) { return m->g->n_outputs; }
int cl_model_input_value(const cl_model_t *m, int i) { return m->g->inputs[i]; }
int cl_model_output_value(const cl_model_t *m, int i) { return m->g->outputs[i]; }
int cl_model_value_count(const cl_model_t *m) { return m->g->n_values; }

void cl_model_value_info(const cl_model_t *m, int id, cl_value_info *out) {
  const cl_value *v = &m->g->values[id];
  memset(out, 0, sizeof *out);
  out->name = v->name;
  out->dtype = v->dtype;
  out->rank = v->rank;
  memcpy(out->dims, v->dims, sizeof out->dims);
  out->layout = v->layout;
  out->nbytes = v->nbytes;
  out->is_constant = v->is_const;
  out->producer = v->producer;
}

int cl_model_frontier(const cl_model_t *m, int cut, int *ids, int cap) {
  const cl_graph *g = m->g;
  int n = g->n_nodes, count = 0;
  if (cut < 0) cut = 0;
  if (cut > n) cut = n;
  char *crosses = calloc((size_t)g->n_values + 1, 1);
  if (!crosses) return -1;
  for (int i = cut; i < n; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] >= 0) crosses[g->nodes[i].in[j]] = 1;
  for (int i = 0; i < g->n_outputs; i++) crosses[g->outputs[i]] = 1;
  for (int v = 0; v < g->n_values; v++) {
    const cl_value *val = &g->values[v];
    int before = val->is_input || (val->producer >= 0 && val->producer < cut);
    if (!crosses[v] || val->is_const || !before) continue;
    if (count < cap) ids[count] = v;
    count++;
  }
  free(crosses);
  return count;
}

const uint8_t *cl_model_hash(const cl_model_t *m) { return m->g->hash; }
