/* cleave partitioner: the cost model, the per-cut table and the choice (plan.h). */
#include "cleave/plan.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/units.h"
#include "plan_internal.h"
#include "profile_internal.h"

#define F16_SAFE_ABS 32752.0 /* half the float16 range: f16 beyond this is not chosen */

/* === Names === */

const char *cl_plan_objective_name(cl_plan_objective o) {
  switch (o) {
  case CL_PLAN_LATENCY: return "latency";
  case CL_PLAN_ENERGY: return "energy";
  case CL_PLAN_THROUGHPUT: return "throughput";
  }
  return "unknown";
}

int cl_plan_objective_parse(const char *s) {
  for (int o = CL_PLAN_LATENCY; o <= CL_PLAN_THROUGHPUT; o++)
    if (strcmp(s, cl_plan_objective_name((cl_plan_objective)o)) == 0) return o;
  return -1;
}

/* The objective's value of a row. */
static double objective_cost(cl_plan_objective o, const cl_plan_row *r) {
  switch (o) {
  case CL_PLAN_ENERGY: return r->energy_mj;
  case CL_PLAN_THROUGHPUT: return r->stage_ms;
  case CL_PLAN_LATENCY: break;
  }
  return r->predicted_ms;
}

double cl_plan_row_cost(const cl_plan *p, const cl_plan_row *r) { return objective_cost(p->objective, r); }

cl_status cl_plan_match_model(const cl_plan *p, const cl_model_t *m, cl_error *err) {
  char a[9], b[9];
  if (memcmp(p->model_hash, cl_model_hash(m), CL_PROFILE_HASH_BYTES) != 0)
    return cl_error_set(err, CL_ERR_ARG, "plan is for another model (hash %s.., the model's %s..)",
                        cl_profile_hex(p->model_hash, 4, a), cl_profile_hex(cl_model_hash(m), 4, b));
  if (p->n_nodes != cl_model_node_count(m))
    return cl_error_set(err, CL_ERR_ARG, "plan has %d nodes, the model %d", p->n_nodes, cl_model_node_count(m));
  return CL_OK;
}

void cl_plan_free(cl_plan **pp) {
  if (!pp || !*pp) return;
  free((*pp)->rows);
  free((*pp)->dag.device_set);
  free(*pp);
  *pp = NULL;
}

/* === Options and profiles === */

static int link_ok(const cl_link *l) {
  return isfinite(l->bandwidth_bps) && l->bandwidth_bps > 0 && isfinite(l->rtt_ms) && l->rtt_ms >= 0;
}

static cl_status check_options(const cl_plan_options *o, int n, cl_error *err) {
  if (!link_ok(&o->link)) return cl_error_set(err, CL_ERR_ARG, "the link needs a bandwidth > 0 and an RTT >= 0");
  if (o->cloud && !link_ok(&o->cloud_link))
    return cl_error_set(err, CL_ERR_ARG, "the cloud link needs a bandwidth > 0 and an RTT >= 0");
  if (o->objective < CL_PLAN_LATENCY || o->objective > CL_PLAN_THROUGHPUT)
    return cl_error_set(err, CL_ERR_ARG, "unknown objective %d", (int)o->objective);
  if (o->min_cut < 0 || o->min_cut > n)
    return cl_error_set(err, CL_ERR_ARG, "--min-cut %d is outside the model's cuts 0..%d", o->min_cut, n);
  if (!isfinite(o->accuracy_budget))
    return cl_error_set(err, CL_ERR_ARG, "the accuracy budget must be a finite number");
  double w[3] = {o->device_w, o->radio_w, o->idle_w};
  for (int i = 0; i < 3; i++)
    if (!isfinite(w[i]) || w[i] < 0) return cl_error_set(err, CL_ERR_ARG, "power figures must be >= 0 W");
  if (o->objective == CL_PLAN_ENERGY && w[0] + w[1] + w[2] <= 0)
    return cl_error_set(err, CL_ERR_ARG,
                        "the energy objective needs --device-power, --radio-power and --idle-power");
  return CL_OK;
}

/* Fills pl->codecs: the codecs every profile has, in the device profile's order. */
static cl_status common_codecs(planner *pl, cl_error *err) {
  const cl_profile *d = pl->dev;
  pl->n_codecs = 0;
  for (int j = 0; j < d->n_codecs; j++) {
    plan_codec *c = &pl->codecs[pl->n_codecs];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", d->codecs[j]);
    c->in_dev = j;
    c->in_edge = cl_profile_codec_index(pl->edge, c->name);
    c->in_cloud = pl->cloud ? cl_profile_codec_index(pl->cloud, c->name) : -1;
    cl_error e = {0};
    if (c->in_edge < 0 || (pl->cloud && c->in_cloud < 0) || cl_codec_parse(c->name, &c->codec, &e) != CL_OK)
      continue;
    c->lossy = cl_codec_is_lossy(&c->codec, CL_DTYPE_F32);
    pl->n_codecs++;
  }
  for (int j = 0; j < pl->n_codecs; j++) { /* replies: raw with the same shuffle and LZ4 */
    cl_codec r = pl->codecs[j].codec;
    r.kind = CL_CODEC_RAW;
    char name[CL_PROFILE_CODEC_NAME_MAX];
    cl_codec_name(&r, name, sizeof name);
    pl->codecs[j].reply = -1;
    for (int i = 0; i < pl->n_codecs; i++)
      if (strcmp(pl->codecs[i].name, name) == 0) pl->codecs[j].reply = i;
  }
  pl->forced = -1;
  const char *want = pl->o->codec;
  if (want && strcmp(want, "auto") != 0) {
    cl_codec c;
    char canon[CL_PROFILE_CODEC_NAME_MAX];
    if (cl_codec_parse(want, &c, err) != CL_OK) return CL_ERR_ARG;
    cl_codec_name(&c, canon, sizeof canon);
    for (int j = 0; j < pl->n_codecs; j++)
      if (strcmp(pl->codecs[j].name, canon) == 0) pl->forced = j;
    if (pl->forced < 0)
      return cl_error_set(err, CL_ERR_ARG, "codec %s was not profiled on every host (profile it with --codecs)",
                          canon);
  }
  if (pl->n_codecs == 0) return cl_error_set(err, CL_ERR_ARG, "the profiles have no codec in common");
  return CL_OK;
}

static double *prefix_sums(const cl_profile *p) {
  double *s = malloc(sizeof(double) * ((size_t)p->n_nodes + 1));
  if (!s) return NULL;
  s[0] = 0;
  for (int i = 0; i < p->n_nodes; i++) s[i + 1] = s[i] + p->nodes[i].median_ms;
  return s;
}

/* === Codec rules === */

/* The worse of the two profiles' measured errors of codec j at cut k (NAN when neither measured). */
static double measured_error(const planner *pl, int j, int k) {
  double a = pl->dev->cuts[k].rel_l2[pl->codecs[j].in_dev];
  double b = pl->edge->cuts[k].rel_l2[pl->codecs[j].in_edge];
  if (isnan(a)) return b;
  if (isnan(b)) return a;
  return a > b ? a : b;
}

/* 1 when codec j may carry cut k's frontier; else 0 and why. */
int cl_plan_codec_allowed(const planner *pl, int j, int k, char *why, size_t cap) {
  const plan_codec *c = &pl->codecs[j];
  if (pl->forced >= 0) return j == pl->forced;
  if (!c->lossy) return 1;
  if (pl->o->accuracy_budget < 0) return snprintf(why, cap, "lossy codecs need --accuracy-budget"), 0;
  double e = measured_error(pl, j, k);
  if (isnan(e)) return snprintf(why, cap, "%s: error not measured", c->name), 0;
  if (!(e <= pl->o->accuracy_budget)) return snprintf(why, cap, "%s: error %.2g > budget", c->name, e), 0;
  if (c->codec.kind == CL_CODEC_F16 && pl->dev->cuts[k].max_abs > F16_SAFE_ABS)
    return snprintf(why, cap, "%s: values beyond the float16 range", c->name), 0;
  return 1;
}

/* === One row === */

void cl_plan_reply_cost(const planner *pl, int j, const cl_profile *from, uint64_t *bytes, double *enc,
                        double *dec) {
  int r = pl->codecs[j].reply, n = pl->n;
  if (r < 0) { /* no lossless counterpart profiled: raw bytes, codec time unknown (0) */
    *bytes = pl->dev->cuts[n].raw_bytes;
    *enc = *dec = 0;
  } else {
    int fi = from == pl->cloud ? pl->codecs[r].in_cloud : pl->codecs[r].in_edge;
    *bytes = from->cuts[n].codec[fi].bytes;
    *enc = from->cuts[n].codec[fi].encode_ms;
    *dec = pl->dev->cuts[n].codec[pl->codecs[r].in_dev].decode_ms;
  }
  *enc += plan_seal_ms(pl, from, *bytes, 0);
  *dec += plan_seal_ms(pl, pl->dev, *bytes, 1);
}

static void finish_row(const cl_plan_options *o, cl_plan_row *r, double dev_side, double wire1) {
  r->predicted_ms = r->device_ms + r->encode_ms + r->up_ms + r->rtt_ms + r->decode_ms + r->worker_ms +
                    r->hop2_ms + r->cloud_ms + r->reply_ms;
  double wait = r->predicted_ms - dev_side - wire1;
  r->energy_mj = dev_side * o->device_w + wire1 * o->radio_w + (wait > 0 ? wait : 0) * o->idle_w;
}

/* Device only: nothing is sent. */
static void row_local(const planner *pl, cl_plan_row *r) {
  r->device_ms = pl->dev_pre[pl->n];
  r->stage_ms = r->device_ms;
  finish_row(pl->o, r, r->device_ms, 0);
}

void cl_plan_fixed_one(const planner *pl, int k, int j, plan_fixed *f) {
  const plan_codec *c = &pl->codecs[j];
  const cl_profile_cost *up = &pl->dev->cuts[k].codec[c->in_dev];
  cl_plan_reply_cost(pl, j, pl->edge, &f->bytes_down, &f->reply_enc_ms, &f->reply_dec_ms);
  f->bytes_up = up->bytes;
  f->device_ms = pl->dev_pre[k];
  f->encode_ms = up->encode_ms + plan_seal_ms(pl, pl->dev, up->bytes, 0);
  f->decode_ms = pl->edge->cuts[k].codec[c->in_edge].decode_ms + plan_seal_ms(pl, pl->edge, up->bytes, 1);
  f->worker_ms = pl->edge_pre[pl->n] - pl->edge_pre[k];
}

/* One cut k < n, codec j, worker = the edge profile: its fixed parts plus the link's. */
static void row_one(const planner *pl, int k, int j, cl_plan_row *r) {
  const cl_link *l = &pl->o->link;
  plan_fixed f = {0};
  cl_plan_fixed_one(pl, k, j, &f);
  snprintf(r->codec, sizeof r->codec, "%s", pl->codecs[j].name);
  r->bytes_up = f.bytes_up;
  r->bytes_down = f.bytes_down;
  r->device_ms = f.device_ms;
  r->encode_ms = f.encode_ms;
  r->up_ms = plan_wire_ms(f.bytes_up, l);
  r->rtt_ms = l->rtt_ms;
  r->decode_ms = f.decode_ms;
  r->worker_ms = f.worker_ms;
  double down_ms = plan_wire_ms(f.bytes_down, l);
  r->reply_ms = f.reply_enc_ms + down_ms + f.reply_dec_ms;
  double dev_side = r->device_ms + r->encode_ms + f.reply_dec_ms, wire = r->up_ms + down_ms;
  r->stage_ms = fmax(dev_side, fmax(wire, r->decode_ms + r->worker_ms + f.reply_enc_ms));
  finish_row(pl->o, r, dev_side, wire);
}

/* Two cuts k1 < n, k1 <= k2 < n: codec j1 on the first hop, j2 (lossless) on the second; when
 * k1 == k2 the edge relays the request as it is (j2 = j1). */
static void row_two(const planner *pl, int k1, int k2, int j1, int j2, cl_plan_row *r) {
  const plan_codec *c1 = &pl->codecs[j1], *c2 = &pl->codecs[k1 == k2 ? j1 : j2];
  const cl_link *l1 = &pl->o->link, *l2 = &pl->o->cloud_link;
  const cl_profile *E = pl->edge, *C = pl->cloud;
  const cl_profile_cost *up = &pl->dev->cuts[k1].codec[c1->in_dev];
  uint64_t down;
  double renc, rdec, enc2 = 0, dec1 = 0;
  uint64_t bytes2 = up->bytes;
  cl_plan_reply_cost(pl, k1 == k2 ? j1 : j2, C, &down, &renc, &rdec);
  if (k1 < k2) {
    dec1 = E->cuts[k1].codec[c1->in_edge].decode_ms;
    enc2 = E->cuts[k2].codec[c2->in_edge].encode_ms;
    bytes2 = E->cuts[k2].codec[c2->in_edge].bytes;
  }
  dec1 += plan_seal_ms(pl, E, up->bytes, 1); /* the edge opens what the device sealed */
  enc2 += plan_seal_ms(pl, E, bytes2, 0);    /* and seals what it sends on (relayed or not) */
  snprintf(r->codec, sizeof r->codec, "%s", c1->name);
  snprintf(r->codec2, sizeof r->codec2, "%s", c2->name);
  r->bytes_up = up->bytes;
  r->bytes_down = down;
  r->device_ms = pl->dev_pre[k1];
  r->encode_ms = up->encode_ms + plan_seal_ms(pl, pl->dev, up->bytes, 0);
  r->up_ms = plan_wire_ms(up->bytes, l1);
  r->rtt_ms = l1->rtt_ms;
  r->decode_ms = dec1;
  r->worker_ms = pl->edge_pre[k2] - pl->edge_pre[k1];
  double wire2 = plan_wire_ms(bytes2, l2);
  double cdec = C->cuts[k2].codec[c2->in_cloud].decode_ms + plan_seal_ms(pl, C, bytes2, 1);
  double relay = plan_seal_ms(pl, E, down, 1) + plan_seal_ms(pl, E, down, 0); /* the reply, via the edge */
  r->hop2_ms = enc2 + wire2 + l2->rtt_ms + cdec;
  r->cloud_ms = pl->cloud_pre[pl->n] - pl->cloud_pre[k2];
  double down1 = plan_wire_ms(down, l1), down2 = plan_wire_ms(down, l2);
  r->reply_ms = renc + down2 + relay + down1 + rdec;
  double dev_side = r->device_ms + r->encode_ms + rdec, wire = r->up_ms + down1;
  r->stage_ms = fmax(fmax(dev_side, wire), fmax(dec1 + r->worker_ms + enc2 + relay,
                                                fmax(wire2 + down2, cdec + r->cloud_ms + renc)));
  finish_row(pl->o, r, dev_side, wire);
}

/* === The table === */

static double row_cost(const planner *pl, const cl_plan_row *r) { return objective_cost(pl->o->objective, r); }

/* Feasibility of first cut k apart from the codec: min cut and device memory. */
int cl_plan_cut_feasible(const planner *pl, int k, cl_plan_row *r) {
  const cl_profile_cut *c = &pl->dev->cuts[k];
  char a[32], b[32];
  r->device_bytes = c->peak_bytes + c->weight_bytes;
  if (k < pl->o->min_cut) return snprintf(r->why, sizeof r->why, "below --min-cut %d", pl->o->min_cut), 0;
  if (pl->o->device_memory && r->device_bytes > pl->o->device_memory)
    return snprintf(r->why, sizeof r->why, "device needs %s > %s", cl_units_fmt_bytes(r->device_bytes, a, 32),
                    cl_units_fmt_bytes(pl->o->device_memory, b, 32)), 0;
  return 1;
}

/* Keeps r when it is better than best (or best is empty). */
static void keep_better(const planner *pl, cl_plan_row *best, int *have, const cl_plan_row *r) {
  if (!*have || row_cost(pl, r) < row_cost(pl, best)) *best = *r, *have = 1;
}

/* Row k of the table: the best codec (and second cut) for first cut k. */
static void table_row(const planner *pl, int k, cl_plan_row *out) {
  int n = pl->n, have = 0;
  cl_plan_row best, r;
  memset(&best, 0, sizeof best);
  char why[CL_PLAN_WHY_MAX] = "";
  for (int j = 0; k < n && j < pl->n_codecs; j++) {
    if (!cl_plan_codec_allowed(pl, j, k, why, sizeof why)) continue;
    for (int k2 = pl->cloud ? k : n; k2 <= n; k2++) {
      for (int j2 = 0; j2 < pl->n_codecs; j2++) {
        if (k2 < n && k2 > k && pl->codecs[j2].lossy) continue; /* the second hop is lossless */
        if ((k2 == n || k2 == k) && j2 > 0) break;               /* no second codec to choose */
        memset(&r, 0, sizeof r);
        r.cut = k, r.cut2 = k2;
        if (k2 == n) row_one(pl, k, j, &r);
        else row_two(pl, k, k2, j, j2, &r);
        keep_better(pl, &best, &have, &r);
      }
    }
  }
  if (k == n) {
    memset(&best, 0, sizeof best);
    best.cut = best.cut2 = n;
    row_local(pl, &best);
    have = 1;
  }
  if (!have) best.cut = k, best.cut2 = n;
  int cut_ok = cl_plan_cut_feasible(pl, k, &best); /* its reason comes first */
  if (!have && cut_ok) {
    if (why[0]) snprintf(best.why, sizeof best.why, "no allowed codec (%.70s)", why);
    else snprintf(best.why, sizeof best.why, "no allowed codec");
  }
  best.feasible = have && cut_ok;
  *out = best;
}

/* === The plan === */

static void record_inputs(const planner *pl, cl_plan *p) {
  const cl_plan_options *o = pl->o;
  memcpy(p->model_hash, pl->dev->model_hash, sizeof p->model_hash);
  p->n_nodes = pl->n;
  snprintf(p->device_profile, sizeof p->device_profile, "%s", o->device_path ? o->device_path : "");
  snprintf(p->edge_profile, sizeof p->edge_profile, "%s", o->edge_path ? o->edge_path : "");
  snprintf(p->cloud_profile, sizeof p->cloud_profile, "%s", o->cloud_path ? o->cloud_path : "");
  const cl_profile *hosts[3] = {pl->dev, pl->edge, pl->cloud};
  char *dst[3] = {p->device_host, p->edge_host, p->cloud_host};
  for (int i = 0; i < 3; i++)
    if (hosts[i])
      snprintf(dst[i], 160, "%.60s, %s, %d thread%s, %.20s", hosts[i]->host.cpu, hosts[i]->host.hostname,
               hosts[i]->host.threads, hosts[i]->host.threads == 1 ? "" : "s", hosts[i]->host.date);
  p->link = o->link;
  p->two_cuts = o->cloud != NULL;
  if (o->cloud) p->cloud_link = o->cloud_link;
  p->objective = o->objective;
  p->min_cut = o->min_cut;
  p->device_memory = o->device_memory;
  snprintf(p->codec_choice, sizeof p->codec_choice, "%s",
           pl->forced >= 0 ? pl->codecs[pl->forced].name : "auto");
  p->accuracy_budget = o->accuracy_budget < 0 ? -1 : o->accuracy_budget;
  p->device_w = o->device_w, p->radio_w = o->radio_w, p->idle_w = o->idle_w;
  p->insecure = o->insecure != 0;
}

/* The feasible row of least cost (ties: the later cut); -1 when none. */
static int choose(const planner *pl, const cl_plan *p) {
  int best = -1;
  for (int k = 0; k <= pl->n; k++)
    if (p->rows[k].feasible && (best < 0 || row_cost(pl, &p->rows[k]) <= row_cost(pl, &p->rows[best])))
      best = k;
  return best;
}

static cl_status no_feasible(const planner *pl, const cl_plan *p, cl_error *err) {
  uint64_t least = UINT64_MAX;
  for (int k = pl->o->min_cut; k <= pl->n; k++)
    least = p->rows[k].device_bytes < least ? p->rows[k].device_bytes : least;
  char a[32];
  return cl_error_set(err, CL_ERR_ARG, "no cut satisfies the constraints (min cut %d; the least device "
                      "memory at or above it is %s)", pl->o->min_cut, cl_units_fmt_bytes(least, a, 32));
}

cl_status cl_plan_setup(planner *pl, const cl_profile *dev, const cl_profile *edge, const cl_plan_options *o,
                        cl_error *err) {
  memset(pl, 0, sizeof *pl);
  pl->dev = dev, pl->edge = edge, pl->cloud = o->cloud, pl->o = o;
  pl->n = dev->n_nodes;
  cl_status st = cl_profile_match(dev, edge, err);
  if (st == CL_OK && o->cloud) st = cl_profile_match(dev, o->cloud, err);
  if (st == CL_OK) st = check_options(o, pl->n, err);
  if (st == CL_OK && o->cloud && pl->n > CL_PLAN_MAX_TWO_CUT_NODES)
    st = cl_error_set(err, CL_ERR_LIMIT, "two-cut plans are limited to %d nodes (the model has %d)",
                      CL_PLAN_MAX_TWO_CUT_NODES, pl->n);
  if (st == CL_OK) st = common_codecs(pl, err);
  if (st != CL_OK) return st;
  pl->dev_pre = prefix_sums(dev);
  pl->edge_pre = prefix_sums(edge);
  pl->cloud_pre = o->cloud ? prefix_sums(o->cloud) : NULL;
  if (!pl->dev_pre || !pl->edge_pre || (o->cloud && !pl->cloud_pre)) {
    cl_plan_teardown(pl);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory for a plan");
  }
  return CL_OK;
}

void cl_plan_teardown(planner *pl) {
  free(pl->dev_pre), free(pl->edge_pre), free(pl->cloud_pre);
  pl->dev_pre = pl->edge_pre = pl->cloud_pre = NULL;
}

cl_status cl_plan_make(const cl_profile *dev, const cl_profile *edge, const cl_plan_options *o,
                       cl_plan **out, cl_error *err) {
  assert(dev && edge && o && out);
  *out = NULL;
  planner pl;
  cl_status st = cl_plan_setup(&pl, dev, edge, o, err);
  cl_plan *p = st == CL_OK ? calloc(1, sizeof *p) : NULL;
  if (st == CL_OK && (!p || !(p->rows = calloc((size_t)pl.n + 1, sizeof *p->rows))))
    st = cl_error_set(err, CL_ERR_NOMEM, "out of memory for a plan");
  if (st == CL_OK) {
    record_inputs(&pl, p);
    for (int k = 0; k <= pl.n; k++) table_row(&pl, k, &p->rows[k]);
    p->chosen = choose(&pl, p);
    if (p->chosen < 0) st = no_feasible(&pl, p, err);
  }
  if (st == CL_OK && !o->no_dag) cl_plan_dag_search(&pl, p);
  else if (st == CL_OK) snprintf(p->dag.note, sizeof p->dag.note, "not searched (--no-dag)");
  cl_plan_teardown(&pl); /* safe after a failed setup too */
  if (st != CL_OK) {
    cl_plan_free(&p);
    return st;
  }
  *out = p;
  return CL_OK;
}
