/* cleave partitioner: profile files, protobuf through nanopb (proto/partition.proto).
 *
 * The long lists (nodes, values, cuts) are callbacks: each element is decoded into one scratch
 * message, checked against the count limits and copied into growing arrays; only when the whole file
 * has parsed are the counts matched and cl_profile_validate run. Nothing in the file is trusted
 * before that. */
#include <math.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/plan.h"
#include "cleave/profile.h"
#include "partition.pb.h"
#include "profile_internal.h"

#define KIND_PROFILE "cleave-profile"
#define FORMAT 1

/* Copies a NUL-terminated string into a fixed buffer, truncated. */
static void put_str(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

/* === Encoding === */

typedef struct penc {
  const cl_profile *p;
  cleave_partition_Node node;
  cleave_partition_Value value;
  cleave_partition_Cut cut;
} penc;

static void cost_to_pb(const cl_profile_cost *c, cleave_partition_Cost *m) {
  m->bytes = c->bytes;
  m->encode_ms = c->encode_ms;
  m->decode_ms = c->decode_ms;
}

static bool enc_nodes(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
  penc *e = *arg;
  for (int i = 0; i < e->p->n_nodes; i++) {
    const cl_profile_node *nd = &e->p->nodes[i];
    cleave_partition_Node *m = &e->node;
    memset(m, 0, sizeof *m);
    put_str(m->name, sizeof m->name, nd->name);
    put_str(m->op, sizeof m->op, nd->op);
    m->median_ms = nd->median_ms;
    m->p90_ms = nd->p90_ms;
    m->inputs_count = (pb_size_t)nd->n_inputs;
    m->outputs_count = (pb_size_t)nd->n_outputs;
    memcpy(m->inputs, nd->inputs, sizeof(int) * (size_t)nd->n_inputs);
    memcpy(m->outputs, nd->outputs, sizeof(int) * (size_t)nd->n_outputs);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, cleave_partition_Node_fields, m))
      return false;
  }
  return true;
}

static bool enc_values(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
  penc *e = *arg;
  for (int v = 0; v < e->p->n_values; v++) {
    const cl_profile_value *x = &e->p->values[v];
    cleave_partition_Value *m = &e->value;
    memset(m, 0, sizeof *m);
    m->bytes = x->bytes;
    m->producer = x->producer;
    m->flags = x->flags;
    m->codecs_count = x->measured ? (pb_size_t)e->p->n_codecs : 0;
    for (int j = 0; j < (int)m->codecs_count; j++) cost_to_pb(&x->codec[j], &m->codecs[j]);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, cleave_partition_Value_fields, m))
      return false;
  }
  return true;
}

static bool enc_cuts(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
  penc *e = *arg;
  for (int k = 0; k <= e->p->n_nodes; k++) {
    const cl_profile_cut *c = &e->p->cuts[k];
    cleave_partition_Cut *m = &e->cut;
    memset(m, 0, sizeof *m);
    m->cut = (uint32_t)k;
    m->frontier_count = (pb_size_t)c->n_frontier;
    memcpy(m->frontier, c->frontier, sizeof(int) * (size_t)c->n_frontier);
    m->raw_bytes = c->raw_bytes;
    m->peak_bytes = c->peak_bytes;
    m->weight_bytes = c->weight_bytes;
    m->max_abs = c->max_abs;
    m->codecs_count = (pb_size_t)e->p->n_codecs;
    for (int j = 0; j < e->p->n_codecs; j++) {
      cost_to_pb(&c->codec[j], &m->codecs[j]);
      if (isnan(c->rel_l2[j])) continue;
      m->accuracy[m->accuracy_count].codec = (uint32_t)j;
      m->accuracy[m->accuracy_count++].rel_l2 = c->rel_l2[j];
    }
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, cleave_partition_Cut_fields, m))
      return false;
  }
  return true;
}

static void header_to_pb(const cl_profile *p, cleave_partition_Profile *m) {
  put_str(m->kind, sizeof m->kind, KIND_PROFILE);
  m->format = FORMAT;
  m->has_host = true;
  put_str(m->host.cpu, sizeof m->host.cpu, p->host.cpu);
  m->host.cores = (uint32_t)p->host.cores;
  m->host.threads = (uint32_t)p->host.threads;
  put_str(m->host.version, sizeof m->host.version, p->host.version);
  put_str(m->host.date, sizeof m->host.date, p->host.date);
  put_str(m->host.hostname, sizeof m->host.hostname, p->host.hostname);
  memcpy(m->model_hash, p->model_hash, sizeof m->model_hash);
  put_str(m->model, sizeof m->model, p->model);
  put_str(m->input, sizeof m->input, p->input);
  m->runs = (uint32_t)p->runs;
  m->warmup = (uint32_t)p->warmup;
  m->codec_reps = (uint32_t)p->codec_reps;
  m->run_median_ms = p->run_median_ms;
  m->run_p90_ms = p->run_p90_ms;
  m->node_count = (uint32_t)p->n_nodes;
  m->value_count = (uint32_t)p->n_values;
  m->codecs_count = (pb_size_t)p->n_codecs;
  for (int j = 0; j < p->n_codecs; j++) put_str(m->codecs[j], sizeof m->codecs[j], p->codecs[j]);
  m->arena_bytes = p->arena_bytes;
  m->seal_ms_per_mb = p->seal_ms_per_mb;
  m->open_ms_per_mb = p->open_ms_per_mb;
}

/* The node i/o and frontier sizes the format can hold. */
static cl_status check_encodable(const cl_profile *p, cl_error *err) {
  for (int i = 0; i < p->n_nodes; i++)
    if (p->nodes[i].n_inputs > CL_PROFILE_MAX_NODE_IO || p->nodes[i].n_outputs > CL_PROFILE_MAX_NODE_IO)
      return cl_error_set(err, CL_ERR_LIMIT, "node %d has too many inputs or outputs for a profile", i);
  for (int k = 0; k <= p->n_nodes; k++)
    if (p->cuts[k].n_frontier > CL_PROFILE_MAX_FRONTIER)
      return cl_error_set(err, CL_ERR_LIMIT, "cut %d has too many tensors for a profile", k);
  if (p->n_codecs > CL_PROFILE_MAX_CODECS)
    return cl_error_set(err, CL_ERR_LIMIT, "too many codecs for a profile");
  return CL_OK;
}

cl_status cl_profile_encode(const cl_profile *p, uint8_t **buf, size_t *len, cl_error *err) {
  *buf = NULL;
  *len = 0;
  cl_status st = check_encodable(p, err);
  if (st != CL_OK) return st;
  penc *e = calloc(1, sizeof *e);
  cleave_partition_Profile *m = calloc(1, sizeof *m);
  if (!e || !m) {
    free(e), free(m);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory encoding a profile");
  }
  e->p = p;
  header_to_pb(p, m);
  m->nodes.funcs.encode = enc_nodes;
  m->nodes.arg = e;
  m->values.funcs.encode = enc_values;
  m->values.arg = e;
  m->cuts.funcs.encode = enc_cuts;
  m->cuts.arg = e;
  size_t size = 0;
  if (!pb_get_encoded_size(&size, cleave_partition_Profile_fields, m)) size = 0;
  uint8_t *b = size ? malloc(size) : NULL;
  pb_ostream_t os = pb_ostream_from_buffer(b, size);
  if (!b || !pb_encode(&os, cleave_partition_Profile_fields, m) || os.bytes_written != size) {
    st = cl_error_set(err, b ? CL_ERR_LIMIT : CL_ERR_NOMEM, "cannot encode the profile: %s",
                      b ? PB_GET_ERROR(&os) : "out of memory");
    free(b);
    b = NULL;
  }
  free(e);
  free(m);
  *buf = b;
  *len = b ? size : 0;
  return st;
}

/* === Decoding === */

typedef struct pdec {
  cl_error *err;
  cl_profile_node *nodes;
  int n_nodes, cap_nodes;
  cl_profile_value *values;
  int *value_codecs;          /* codec entries each value had */
  int n_values, cap_values;
  cl_profile_cut *cuts;
  int *cut_codecs;
  int n_cuts, cap_cuts;
  cleave_partition_Node node;
  cleave_partition_Value value;
  cleave_partition_Cut cut;
} pdec;

/* Grows an array of elements of size es to hold one more; -1 at the limit or out of memory. */
static int grow(void **a, int *cap, int n, size_t es, int limit) {
  if (n < *cap) return 0;
  if (n >= limit) return -1;
  int nc = *cap ? *cap * 2 : 64;
  if (nc > limit) nc = limit;
  void *x = realloc(*a, (size_t)nc * es);
  if (!x) return -1;
  memset((char *)x + (size_t)*cap * es, 0, (size_t)(nc - *cap) * es);
  *a = x;
  *cap = nc;
  return 0;
}

/* Resizes an int array to n entries; -1 (the array kept) when out of memory. */
static int grow_ints(int **a, int n) {
  int *x = realloc(*a, sizeof(int) * (size_t)n);
  if (!x) return -1;
  *a = x;
  return 0;
}

static bool dec_node(pb_istream_t *s, const pb_field_t *f, void **arg) {
  pdec *d = *arg;
  if (grow((void **)&d->nodes, &d->cap_nodes, d->n_nodes, sizeof *d->nodes, CL_PROFILE_MAX_NODES)) {
    cl_error_set(d->err, CL_ERR_LIMIT, "profile has more than %d nodes", CL_PROFILE_MAX_NODES);
    return false;
  }
  cleave_partition_Node *m = &d->node;
  if (!pb_decode(s, cleave_partition_Node_fields, m)) return false;
  cl_profile_node *nd = &d->nodes[d->n_nodes++];
  put_str(nd->name, sizeof nd->name, m->name);
  put_str(nd->op, sizeof nd->op, m->op);
  nd->median_ms = m->median_ms;
  nd->p90_ms = m->p90_ms;
  nd->inputs = malloc(sizeof(int) * ((size_t)m->inputs_count + 1));
  nd->outputs = malloc(sizeof(int) * ((size_t)m->outputs_count + 1));
  if (!nd->inputs || !nd->outputs) {
    cl_error_set(d->err, CL_ERR_NOMEM, "out of memory decoding a profile");
    return false;
  }
  nd->n_inputs = m->inputs_count;
  nd->n_outputs = m->outputs_count;
  memcpy(nd->inputs, m->inputs, sizeof(int) * m->inputs_count);
  memcpy(nd->outputs, m->outputs, sizeof(int) * m->outputs_count);
  return true;
}

static void cost_from_pb(const cleave_partition_Cost *m, cl_profile_cost *c) {
  c->bytes = m->bytes;
  c->encode_ms = m->encode_ms;
  c->decode_ms = m->decode_ms;
}

static bool dec_value(pb_istream_t *s, const pb_field_t *f, void **arg) {
  pdec *d = *arg;
  int cap = d->cap_values;
  if (grow((void **)&d->values, &d->cap_values, d->n_values, sizeof *d->values, CL_PROFILE_MAX_VALUES)) {
    cl_error_set(d->err, CL_ERR_LIMIT, "profile has more than %d values", CL_PROFILE_MAX_VALUES);
    return false;
  }
  if (cap != d->cap_values && grow_ints(&d->value_codecs, d->cap_values)) {
    cl_error_set(d->err, CL_ERR_NOMEM, "out of memory decoding a profile");
    return false;
  }
  cleave_partition_Value *m = &d->value;
  if (!pb_decode(s, cleave_partition_Value_fields, m)) return false;
  cl_profile_value *x = &d->values[d->n_values];
  x->bytes = m->bytes;
  x->producer = m->producer;
  x->flags = m->flags;
  x->codec = calloc(CL_PROFILE_MAX_CODECS, sizeof *x->codec);
  if (!x->codec) {
    cl_error_set(d->err, CL_ERR_NOMEM, "out of memory decoding a profile");
    return false;
  }
  for (int j = 0; j < (int)m->codecs_count; j++) cost_from_pb(&m->codecs[j], &x->codec[j]);
  d->value_codecs[d->n_values++] = m->codecs_count;
  return true;
}

static bool dec_cut(pb_istream_t *s, const pb_field_t *f, void **arg) {
  pdec *d = *arg;
  int cap = d->cap_cuts;
  if (grow((void **)&d->cuts, &d->cap_cuts, d->n_cuts, sizeof *d->cuts, CL_PROFILE_MAX_NODES + 1)) {
    cl_error_set(d->err, CL_ERR_LIMIT, "profile has more than %d cuts", CL_PROFILE_MAX_NODES + 1);
    return false;
  }
  if (cap != d->cap_cuts && grow_ints(&d->cut_codecs, d->cap_cuts)) {
    cl_error_set(d->err, CL_ERR_NOMEM, "out of memory decoding a profile");
    return false;
  }
  cleave_partition_Cut *m = &d->cut;
  if (!pb_decode(s, cleave_partition_Cut_fields, m)) return false;
  if (m->cut != (uint32_t)d->n_cuts) {
    cl_error_set(d->err, CL_ERR_FORMAT, "profile cut %u found where cut %d belongs", m->cut, d->n_cuts);
    return false;
  }
  cl_profile_cut *c = &d->cuts[d->n_cuts++]; /* counted first: pdec_free releases it */
  if (cl_profile_cut_alloc(c, CL_PROFILE_MAX_CODECS) ||
      !(c->frontier = malloc(sizeof(int) * ((size_t)m->frontier_count + 1)))) {
    cl_error_set(d->err, CL_ERR_NOMEM, "out of memory decoding a profile");
    return false;
  }
  c->n_frontier = m->frontier_count;
  memcpy(c->frontier, m->frontier, sizeof(int) * m->frontier_count);
  c->raw_bytes = m->raw_bytes;
  c->peak_bytes = m->peak_bytes;
  c->weight_bytes = m->weight_bytes;
  c->max_abs = m->max_abs;
  for (int j = 0; j < (int)m->codecs_count; j++) cost_from_pb(&m->codecs[j], &c->codec[j]);
  d->cut_codecs[d->n_cuts - 1] = m->codecs_count;
  for (int a = 0; a < (int)m->accuracy_count; a++) {
    uint32_t j = m->accuracy[a].codec;
    if (j >= CL_PROFILE_MAX_CODECS || !isnan(c->rel_l2[j]) || isnan(m->accuracy[a].rel_l2)) {
      cl_error_set(d->err, CL_ERR_FORMAT, "cut %d: bad accuracy entry (codec %u)", d->n_cuts - 1, j);
      return false;
    }
    c->rel_l2[j] = m->accuracy[a].rel_l2;
  }
  return true;
}

static void pdec_free(pdec *d) {
  for (int i = 0; i < d->n_nodes; i++) free(d->nodes[i].inputs), free(d->nodes[i].outputs);
  for (int v = 0; v < d->n_values; v++) free(d->values[v].codec);
  for (int k = 0; k < d->n_cuts; k++) cl_profile_cut_release(&d->cuts[k]);
  free(d->nodes);
  free(d->values);
  free(d->value_codecs);
  free(d->cuts);
  free(d->cut_codecs);
}

/* Checks the counts of the decoded message against its lists. */
static cl_status check_counts(const cleave_partition_Profile *m, const pdec *d, cl_error *err) {
  if (strcmp(m->kind, KIND_PROFILE) != 0)
    return cl_error_set(err, CL_ERR_FORMAT, "not a cleave profile (kind '%.31s')", m->kind);
  if (m->format != FORMAT)
    return cl_error_set(err, CL_ERR_FORMAT, "profile format %u is not supported (this is %d)", m->format,
                        FORMAT);
  if (!m->has_host) return cl_error_set(err, CL_ERR_FORMAT, "profile has no host description");
  if (m->node_count != (uint32_t)d->n_nodes || m->value_count != (uint32_t)d->n_values)
    return cl_error_set(err, CL_ERR_FORMAT, "profile says %u nodes and %u values but holds %d and %d",
                        m->node_count, m->value_count, d->n_nodes, d->n_values);
  if (d->n_cuts != d->n_nodes + 1)
    return cl_error_set(err, CL_ERR_FORMAT, "profile holds %d cuts, %d nodes need %d", d->n_cuts,
                        d->n_nodes, d->n_nodes + 1);
  int nc = m->codecs_count;
  if (nc < 1) return cl_error_set(err, CL_ERR_FORMAT, "profile lists no codec");
  for (int v = 0; v < d->n_values; v++)
    if (d->value_codecs[v] != 0 && d->value_codecs[v] != nc)
      return cl_error_set(err, CL_ERR_FORMAT, "value %d has %d codec entries, the profile %d codecs", v,
                          d->value_codecs[v], nc);
  for (int k = 0; k < d->n_cuts; k++) {
    if (d->cut_codecs[k] != nc)
      return cl_error_set(err, CL_ERR_FORMAT, "cut %d has %d codec entries, the profile %d codecs", k,
                          d->cut_codecs[k], nc);
    for (int j = nc; j < CL_PROFILE_MAX_CODECS; j++)
      if (!isnan(d->cuts[k].rel_l2[j]))
        return cl_error_set(err, CL_ERR_FORMAT, "cut %d: accuracy for codec %d of %d", k, j, nc);
  }
  return CL_OK;
}

/* Moves the decoded lists into a fresh profile (d is left empty). */
static cl_profile *assemble(const cleave_partition_Profile *m, pdec *d) {
  cl_profile *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  put_str(p->host.cpu, sizeof p->host.cpu, m->host.cpu);
  p->host.cores = m->host.cores > 1u << 20 ? 0 : (int)m->host.cores;
  p->host.threads = m->host.threads > 1u << 20 ? 0 : (int)m->host.threads;
  put_str(p->host.version, sizeof p->host.version, m->host.version);
  put_str(p->host.date, sizeof p->host.date, m->host.date);
  put_str(p->host.hostname, sizeof p->host.hostname, m->host.hostname);
  memcpy(p->model_hash, m->model_hash, sizeof p->model_hash);
  put_str(p->model, sizeof p->model, m->model);
  put_str(p->input, sizeof p->input, m->input);
  p->runs = m->runs > 1u << 30 ? 0 : (int)m->runs;
  p->warmup = m->warmup > 1u << 30 ? -1 : (int)m->warmup;
  p->codec_reps = m->codec_reps > 1u << 30 ? 0 : (int)m->codec_reps;
  p->run_median_ms = m->run_median_ms;
  p->run_p90_ms = m->run_p90_ms;
  p->arena_bytes = m->arena_bytes;
  p->seal_ms_per_mb = m->seal_ms_per_mb;
  p->open_ms_per_mb = m->open_ms_per_mb;
  p->n_codecs = m->codecs_count;
  for (int j = 0; j < p->n_codecs; j++) put_str(p->codecs[j], sizeof p->codecs[j], m->codecs[j]);
  p->n_nodes = d->n_nodes;
  p->nodes = d->nodes;
  p->n_values = d->n_values;
  p->values = d->values;
  p->cuts = d->cuts;
  for (int v = 0; v < d->n_values; v++) p->values[v].measured = d->value_codecs[v] > 0;
  d->nodes = NULL, d->values = NULL, d->cuts = NULL;
  d->n_nodes = d->n_values = d->n_cuts = 0;
  return p;
}

cl_status cl_profile_decode(const uint8_t *buf, size_t len, cl_profile **out, cl_error *err) {
  *out = NULL;
  if (len > CL_PROFILE_MAX_FILE_BYTES)
    return cl_error_set(err, CL_ERR_LIMIT, "profile of %zu bytes (at most %zu)", len,
                        CL_PROFILE_MAX_FILE_BYTES);
  const char *kind = cl_plan_file_kind(buf, len);
  if (kind && strcmp(kind, KIND_PROFILE) != 0)
    return cl_error_set(err, CL_ERR_FORMAT, "not a cleave profile (a plan)");
  pdec *d = calloc(1, sizeof *d);
  cleave_partition_Profile *m = calloc(1, sizeof *m);
  if (!d || !m) {
    free(d), free(m);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory decoding a profile");
  }
  d->err = err;
  m->nodes.funcs.decode = dec_node;
  m->nodes.arg = d;
  m->values.funcs.decode = dec_value;
  m->values.arg = d;
  m->cuts.funcs.decode = dec_cut;
  m->cuts.arg = d;
  pb_istream_t is = pb_istream_from_buffer(buf, len);
  cl_status st = CL_OK;
  if (!pb_decode_ex(&is, cleave_partition_Profile_fields, m, PB_DECODE_NOINIT))
    st = cl_error_set(err, CL_ERR_FORMAT, "corrupt profile: %s", PB_GET_ERROR(&is));
  if (st == CL_OK) st = check_counts(m, d, err);
  cl_profile *p = NULL;
  if (st == CL_OK && !(p = assemble(m, d))) st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  pdec_free(d);
  free(d);
  free(m);
  if (st == CL_OK) st = cl_profile_validate(p, err);
  if (st != CL_OK) {
    cl_profile_free(&p);
    return st;
  }
  *out = p;
  return CL_OK;
}

/* === Files === */

cl_status cl_profile_save(const cl_profile *p, const char *path, cl_error *err) {
  uint8_t *buf;
  size_t len;
  cl_status st = cl_profile_encode(p, &buf, &len, err);
  if (st == CL_OK) st = cl_partfile_write(path, buf, len, err);
  free(buf);
  return st;
}

cl_status cl_profile_load(const char *path, cl_profile **out, cl_error *err) {
  uint8_t *buf;
  size_t len;
  *out = NULL;
  cl_error e = {0};
  cl_status st = cl_partfile_read(path, CL_PROFILE_MAX_FILE_BYTES, &buf, &len, &e);
  if (st == CL_OK) st = cl_profile_decode(buf, len, out, &e);
  free(buf);
  if (st != CL_OK) {
    if (e.status == CL_ERR_IO || e.status == CL_ERR_LIMIT) cl_error_set(err, st, "%s", e.msg);
    else cl_error_set(err, st, "%s: %s", path, e.msg);
  }
  return st;
}
