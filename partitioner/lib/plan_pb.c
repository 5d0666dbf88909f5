/* cleave partitioner: plan files, protobuf through nanopb (proto/partition.proto), and the checks a
 * plan read from outside must pass (plan.h). */
#include <math.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "cleave/plan.h"
#include "partition.pb.h"
#include "profile_internal.h"

#define KIND_PLAN "cleave-plan"
#define KIND_PROFILE "cleave-profile"
#define FORMAT 1
#define PLAN_MAX_MS 1e15 /* wire times at 1 bit/s are large, but finite */

static void put_str(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

/* === Rows === */

static void row_to_pb(const cl_plan_row *r, cleave_partition_Row *m) {
  memset(m, 0, sizeof *m);
  m->cut = (uint32_t)r->cut;
  m->cut2 = (uint32_t)r->cut2;
  put_str(m->codec, sizeof m->codec, r->codec);
  put_str(m->codec2, sizeof m->codec2, r->codec2);
  m->bytes_up = r->bytes_up;
  m->bytes_down = r->bytes_down;
  m->device_ms = r->device_ms, m->encode_ms = r->encode_ms, m->up_ms = r->up_ms;
  m->rtt_ms = r->rtt_ms, m->decode_ms = r->decode_ms, m->worker_ms = r->worker_ms;
  m->hop2_ms = r->hop2_ms, m->cloud_ms = r->cloud_ms, m->reply_ms = r->reply_ms;
  m->predicted_ms = r->predicted_ms, m->energy_mj = r->energy_mj, m->stage_ms = r->stage_ms;
  m->device_bytes = r->device_bytes;
  m->feasible = r->feasible != 0;
  put_str(m->why, sizeof m->why, r->why);
}

static void row_from_pb(const cleave_partition_Row *m, cl_plan_row *r) {
  r->cut = m->cut > CL_PROFILE_MAX_NODES ? -1 : (int)m->cut;
  r->cut2 = m->cut2 > CL_PROFILE_MAX_NODES ? -1 : (int)m->cut2;
  put_str(r->codec, sizeof r->codec, m->codec);
  put_str(r->codec2, sizeof r->codec2, m->codec2);
  r->bytes_up = m->bytes_up;
  r->bytes_down = m->bytes_down;
  r->device_ms = m->device_ms, r->encode_ms = m->encode_ms, r->up_ms = m->up_ms;
  r->rtt_ms = m->rtt_ms, r->decode_ms = m->decode_ms, r->worker_ms = m->worker_ms;
  r->hop2_ms = m->hop2_ms, r->cloud_ms = m->cloud_ms, r->reply_ms = m->reply_ms;
  r->predicted_ms = m->predicted_ms, r->energy_mj = m->energy_mj, r->stage_ms = m->stage_ms;
  r->device_bytes = m->device_bytes;
  r->feasible = m->feasible;
  put_str(r->why, sizeof r->why, m->why);
}

typedef struct rows_ctx {
  const cl_plan *p;           /* encoding */
  cl_plan_row *rows;          /* decoding: grows */
  int n, cap;
  cl_error *err;
} rows_ctx;

static bool enc_rows(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
  const rows_ctx *c = *arg;
  cleave_partition_Row m;
  for (int k = 0; k <= c->p->n_nodes; k++) {
    row_to_pb(&c->p->rows[k], &m);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, cleave_partition_Row_fields, &m)) return false;
  }
  return true;
}

static bool dec_row(pb_istream_t *s, const pb_field_t *f, void **arg) {
  rows_ctx *c = *arg;
  if (c->n == c->cap) {
    if (c->n > CL_PROFILE_MAX_NODES) {
      cl_error_set(c->err, CL_ERR_LIMIT, "plan has more than %d rows", CL_PROFILE_MAX_NODES + 1);
      return false;
    }
    int nc = c->cap ? 2 * c->cap : 64;
    cl_plan_row *x = realloc(c->rows, sizeof *x * (size_t)nc);
    if (!x) {
      cl_error_set(c->err, CL_ERR_NOMEM, "out of memory decoding a plan");
      return false;
    }
    c->rows = x, c->cap = nc;
  }
  cleave_partition_Row m;
  if (!pb_decode(s, cleave_partition_Row_fields, &m)) return false;
  memset(&c->rows[c->n], 0, sizeof c->rows[c->n]);
  row_from_pb(&m, &c->rows[c->n++]);
  return true;
}

/* === Encoding === */

static void link_to_pb(const cl_link *l, cleave_partition_Link *m) {
  m->bandwidth_bps = l->bandwidth_bps;
  m->rtt_ms = l->rtt_ms;
}

static void dag_to_pb(const cl_plan *p, cleave_partition_Dag *m) {
  const cl_plan_dag *d = &p->dag;
  m->searched = d->searched != 0;
  put_str(m->note, sizeof m->note, d->note);
  m->topo_cost = d->topo_cost, m->dag_cost = d->dag_cost;
  m->topo_cut = (uint32_t)d->topo_cut, m->device_nodes = (uint32_t)d->device_nodes;
  m->is_prefix = d->is_prefix != 0;
  put_str(m->codec, sizeof m->codec, d->codec);
  m->bytes_up = d->bytes_up;
  if (!d->searched || !d->device_set) return;
  m->device_set.size = (pb_size_t)((p->n_nodes + 7) / 8);
  for (int i = 0; i < p->n_nodes; i++)
    if (d->device_set[i]) m->device_set.bytes[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void plan_to_pb(const cl_plan *p, cleave_partition_Plan *m) {
  put_str(m->kind, sizeof m->kind, KIND_PLAN);
  m->format = FORMAT;
  memcpy(m->model_hash, p->model_hash, sizeof m->model_hash);
  m->node_count = (uint32_t)p->n_nodes;
  put_str(m->device_profile, sizeof m->device_profile, p->device_profile);
  put_str(m->edge_profile, sizeof m->edge_profile, p->edge_profile);
  put_str(m->cloud_profile, sizeof m->cloud_profile, p->cloud_profile);
  put_str(m->device_host, sizeof m->device_host, p->device_host);
  put_str(m->edge_host, sizeof m->edge_host, p->edge_host);
  put_str(m->cloud_host, sizeof m->cloud_host, p->cloud_host);
  m->has_link = true;
  link_to_pb(&p->link, &m->link);
  m->has_cloud_link = p->two_cuts != 0;
  link_to_pb(&p->cloud_link, &m->cloud_link);
  m->two_cuts = p->two_cuts != 0;
  m->objective = (uint32_t)p->objective;
  m->min_cut = (uint32_t)p->min_cut;
  m->device_memory = p->device_memory;
  put_str(m->codec_choice, sizeof m->codec_choice, p->codec_choice);
  m->accuracy_budget = p->accuracy_budget;
  m->device_w = p->device_w, m->radio_w = p->radio_w, m->idle_w = p->idle_w;
  m->chosen_row = (uint32_t)p->chosen;
  m->insecure = p->insecure != 0;
  m->chosen_cut = (uint32_t)p->rows[p->chosen].cut;
  m->chosen_cut2 = (uint32_t)p->rows[p->chosen].cut2;
  m->has_dag = true;
  dag_to_pb(p, &m->dag);
}

cl_status cl_plan_encode(const cl_plan *p, uint8_t **buf, size_t *len, cl_error *err) {
  *buf = NULL;
  *len = 0;
  if (p->n_nodes < 0 || p->n_nodes > CL_PROFILE_MAX_NODES || p->chosen < 0 || p->chosen > p->n_nodes)
    return cl_error_set(err, CL_ERR_LIMIT, "plan beyond the file format's bounds");
  cleave_partition_Plan *m = calloc(1, sizeof *m);
  if (!m) return cl_error_set(err, CL_ERR_NOMEM, "out of memory encoding a plan");
  plan_to_pb(p, m);
  rows_ctx c = {.p = p};
  m->rows.funcs.encode = enc_rows;
  m->rows.arg = &c;
  size_t size = 0;
  cl_status st = CL_OK;
  uint8_t *b = pb_get_encoded_size(&size, cleave_partition_Plan_fields, m) ? malloc(size + 1) : NULL;
  pb_ostream_t os = pb_ostream_from_buffer(b, size);
  if (!b || !pb_encode(&os, cleave_partition_Plan_fields, m) || os.bytes_written != size) {
    st = cl_error_set(err, b ? CL_ERR_LIMIT : CL_ERR_NOMEM, "cannot encode the plan: %s",
                      b ? PB_GET_ERROR(&os) : "out of memory");
    free(b);
    b = NULL;
  }
  free(m);
  *buf = b;
  *len = b ? size : 0;
  return st;
}

/* === Checks === */

static int t_ok(double x) { return x >= 0 && x <= PLAN_MAX_MS; }

static cl_status check_row(const cl_plan *p, int k, cl_error *err) {
  const cl_plan_row *r = &p->rows[k];
  int n = p->n_nodes;
  if (r->cut != k || r->cut2 < r->cut || r->cut2 > n || (!p->two_cuts && r->cut2 != n))
    return cl_error_set(err, CL_ERR_FORMAT, "plan row %d: cuts %d, %d out of order", k, r->cut, r->cut2);
  double t[] = {r->device_ms, r->encode_ms, r->up_ms, r->rtt_ms, r->decode_ms, r->worker_ms,
                r->hop2_ms, r->cloud_ms, r->reply_ms, r->predicted_ms, r->energy_mj, r->stage_ms};
  double sum = 0;
  for (int i = 0; i < 12; i++) {
    if (!t_ok(t[i])) return cl_error_set(err, CL_ERR_FORMAT, "plan row %d: bad time or energy %g", k, t[i]);
    sum += i < 9 ? t[i] : 0;
  }
  if (fabs(sum - r->predicted_ms) > 1e-9 + 1e-9 * sum)
    return cl_error_set(err, CL_ERR_FORMAT, "plan row %d: predicted %g ms is not the sum of its parts %g",
                        k, r->predicted_ms, sum);
  const char *names[2] = {r->codec, r->codec2};
  for (int i = 0; i < 2; i++) {
    cl_codec c;
    cl_error e = {0};
    if (names[i][0] && cl_codec_parse(names[i], &c, &e) != CL_OK)
      return cl_error_set(err, CL_ERR_FORMAT, "plan row %d: bad codec '%.31s'", k, names[i]);
  }
  return CL_OK;
}

static cl_status check_dag(const cl_plan *p, cl_error *err) {
  const cl_plan_dag *d = &p->dag;
  if (!d->searched) return CL_OK;
  int count = 0;
  for (int i = 0; d->device_set && i < p->n_nodes; i++) count += d->device_set[i] != 0;
  if (!d->device_set || count != d->device_nodes || !t_ok(d->dag_cost) || !t_ok(d->topo_cost) ||
      d->topo_cut < 0 || d->topo_cut > p->n_nodes)
    return cl_error_set(err, CL_ERR_FORMAT, "plan: inconsistent DAG search result");
  return CL_OK;
}

cl_status cl_plan_validate(const cl_plan *p, cl_error *err) {
  int n = p->n_nodes;
  if (n < 0 || n > CL_PROFILE_MAX_NODES || !p->rows)
    return cl_error_set(err, CL_ERR_FORMAT, "plan has %d nodes (at most %d)", n, CL_PROFILE_MAX_NODES);
  if (!(p->link.bandwidth_bps > 0) || !isfinite(p->link.bandwidth_bps) || !t_ok(p->link.rtt_ms) ||
      (p->two_cuts && (!(p->cloud_link.bandwidth_bps > 0) || !isfinite(p->cloud_link.bandwidth_bps) ||
                       !t_ok(p->cloud_link.rtt_ms))))
    return cl_error_set(err, CL_ERR_FORMAT, "plan has a bad link (bandwidth or RTT)");
  if ((int)p->objective < 0 || p->objective > CL_PLAN_THROUGHPUT || p->min_cut < 0 || p->min_cut > n ||
      !isfinite(p->accuracy_budget) || !t_ok(p->device_w) || !t_ok(p->radio_w) || !t_ok(p->idle_w))
    return cl_error_set(err, CL_ERR_FORMAT, "plan has bad decision inputs (objective, min cut, budget, power)");
  for (int k = 0; k <= n; k++) {
    cl_status st = check_row(p, k, err);
    if (st != CL_OK) return st;
  }
  if (p->chosen < 0 || p->chosen > n || !p->rows[p->chosen].feasible)
    return cl_error_set(err, CL_ERR_FORMAT, "plan's chosen row %d is not a feasible row", p->chosen);
  double best = cl_plan_row_cost(p, &p->rows[p->chosen]);
  for (int k = 0; k <= n; k++)
    if (p->rows[k].feasible && cl_plan_row_cost(p, &p->rows[k]) < best * (1 - 1e-12))
      return cl_error_set(err, CL_ERR_FORMAT, "plan's chosen cut %d is not the best of its table (cut %d is)",
                          p->rows[p->chosen].cut, k);
  return check_dag(p, err);
}

/* === Decoding === */

static cl_status plan_from_pb(const cleave_partition_Plan *m, rows_ctx *c, cl_plan *p, cl_error *err) {
  if (strcmp(m->kind, KIND_PLAN) != 0)
    return cl_error_set(err, CL_ERR_FORMAT, "not a cleave plan (kind '%.31s')", m->kind);
  if (m->format != FORMAT)
    return cl_error_set(err, CL_ERR_FORMAT, "plan format %u is not supported (this is %d)", m->format, FORMAT);
  if (m->node_count > CL_PROFILE_MAX_NODES || c->n != (int)m->node_count + 1)
    return cl_error_set(err, CL_ERR_FORMAT, "plan says %u nodes but holds %d rows", m->node_count, c->n);
  if (!m->has_link) return cl_error_set(err, CL_ERR_FORMAT, "plan has no link");
  if (m->chosen_row > m->node_count || m->objective > CL_PLAN_THROUGHPUT || m->min_cut > m->node_count)
    return cl_error_set(err, CL_ERR_FORMAT, "plan has out-of-range fields");
  memcpy(p->model_hash, m->model_hash, sizeof p->model_hash);
  p->n_nodes = (int)m->node_count;
  put_str(p->device_profile, sizeof p->device_profile, m->device_profile);
  put_str(p->edge_profile, sizeof p->edge_profile, m->edge_profile);
  put_str(p->cloud_profile, sizeof p->cloud_profile, m->cloud_profile);
  put_str(p->device_host, sizeof p->device_host, m->device_host);
  put_str(p->edge_host, sizeof p->edge_host, m->edge_host);
  put_str(p->cloud_host, sizeof p->cloud_host, m->cloud_host);
  p->link = (cl_link){m->link.bandwidth_bps, m->link.rtt_ms};
  p->cloud_link = (cl_link){m->cloud_link.bandwidth_bps, m->cloud_link.rtt_ms};
  p->two_cuts = m->two_cuts;
  p->objective = (cl_plan_objective)m->objective;
  p->min_cut = (int)m->min_cut;
  p->device_memory = m->device_memory;
  put_str(p->codec_choice, sizeof p->codec_choice, m->codec_choice);
  p->accuracy_budget = m->accuracy_budget;
  p->device_w = m->device_w, p->radio_w = m->radio_w, p->idle_w = m->idle_w;
  p->chosen = (int)m->chosen_row;
  p->insecure = m->insecure;
  p->rows = c->rows;
  c->rows = NULL;
  if (m->chosen_cut != (uint32_t)p->rows[p->chosen].cut || m->chosen_cut2 != (uint32_t)p->rows[p->chosen].cut2)
    return cl_error_set(err, CL_ERR_FORMAT, "plan's chosen cut %u is not its chosen row's", m->chosen_cut);
  const cleave_partition_Dag *d = &m->dag;
  cl_plan_dag *x = &p->dag;
  x->searched = m->has_dag && d->searched;
  put_str(x->note, sizeof x->note, d->note);
  x->topo_cost = d->topo_cost, x->dag_cost = d->dag_cost;
  x->topo_cut = d->topo_cut > m->node_count ? -1 : (int)d->topo_cut;
  x->device_nodes = d->device_nodes > m->node_count ? -1 : (int)d->device_nodes;
  x->is_prefix = d->is_prefix;
  put_str(x->codec, sizeof x->codec, d->codec);
  x->bytes_up = d->bytes_up;
  if (!x->searched) return CL_OK;
  if (d->device_set.size != (m->node_count + 7) / 8)
    return cl_error_set(err, CL_ERR_FORMAT, "plan's DAG set has %u bytes for %u nodes", d->device_set.size,
                        m->node_count);
  if (!(x->device_set = calloc((size_t)p->n_nodes + 1, 1))) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int i = 0; i < p->n_nodes; i++) x->device_set[i] = (d->device_set.bytes[i / 8] >> (i % 8)) & 1;
  return CL_OK;
}

cl_status cl_plan_decode(const uint8_t *buf, size_t len, cl_plan **out, cl_error *err) {
  *out = NULL;
  if (len > CL_PROFILE_MAX_FILE_BYTES)
    return cl_error_set(err, CL_ERR_LIMIT, "plan of %zu bytes (at most %zu)", len, CL_PROFILE_MAX_FILE_BYTES);
  const char *kind = cl_plan_file_kind(buf, len);
  if (kind && strcmp(kind, KIND_PLAN) != 0) return cl_error_set(err, CL_ERR_FORMAT, "not a cleave plan (a profile)");
  cleave_partition_Plan *m = calloc(1, sizeof *m);
  cl_plan *p = calloc(1, sizeof *p);
  rows_ctx c = {.err = err};
  cl_status st = m && p ? CL_OK : cl_error_set(err, CL_ERR_NOMEM, "out of memory decoding a plan");
  if (st == CL_OK) {
    m->rows.funcs.decode = dec_row;
    m->rows.arg = &c;
    pb_istream_t is = pb_istream_from_buffer(buf, len);
    if (!pb_decode_ex(&is, cleave_partition_Plan_fields, m, PB_DECODE_NOINIT))
      st = cl_error_set(err, CL_ERR_FORMAT, "corrupt plan: %s", PB_GET_ERROR(&is));
  }
  if (st == CL_OK) st = plan_from_pb(m, &c, p, err);
  if (st == CL_OK) st = cl_plan_validate(p, err);
  free(c.rows);
  free(m);
  if (st != CL_OK) {
    cl_plan_free(&p);
    return st;
  }
  *out = p;
  return CL_OK;
}

/* === Files === */

cl_status cl_plan_save(const cl_plan *p, const char *path, cl_error *err) {
  uint8_t *buf;
  size_t len;
  cl_status st = cl_plan_encode(p, &buf, &len, err);
  if (st == CL_OK) st = cl_partfile_write(path, buf, len, err);
  free(buf);
  return st;
}

cl_status cl_plan_load(const char *path, cl_plan **out, cl_error *err) {
  uint8_t *buf;
  size_t len;
  *out = NULL;
  cl_error e = {0};
  cl_status st = cl_partfile_read(path, CL_PROFILE_MAX_FILE_BYTES, &buf, &len, &e);
  if (st == CL_OK) st = cl_plan_decode(buf, len, out, &e);
  free(buf);
  if (st != CL_OK) {
    if (e.status == CL_ERR_IO || e.status == CL_ERR_LIMIT) cl_error_set(err, st, "%s", e.msg);
    else cl_error_set(err, st, "%s: %s", path, e.msg);
  }
  return st;
}

const char *cl_plan_file_kind(const uint8_t *buf, size_t len) {
  cleave_partition_FileKind m;
  memset(&m, 0, sizeof m);
  pb_istream_t is = pb_istream_from_buffer(buf, len);
  if (!pb_decode(&is, cleave_partition_FileKind_fields, &m)) return NULL;
  if (strcmp(m.kind, KIND_PLAN) == 0) return KIND_PLAN;
  if (strcmp(m.kind, KIND_PROFILE) == 0) return KIND_PROFILE;
  return NULL;
}
