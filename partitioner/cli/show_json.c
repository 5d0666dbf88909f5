/* cleave-partitioner show --json: profiles and plans as one JSON object each.
 * Numbers: times in ms, energies in mJ, bytes as integers; an unmeasured error is null, an infinite
 * one 1e308 (JSON has no infinity). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* === Writing JSON === */

static void jstr(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void jnum(FILE *f, double x) {
  if (isnan(x)) fprintf(f, "null");
  else if (isinf(x)) fprintf(f, x > 0 ? "1e308" : "-1e308");
  else fprintf(f, "%.9g", x);
}

static void jkey(FILE *f, const char *k, int first) {
  fprintf(f, "%s", first ? "" : ", ");
  jstr(f, k);
  fprintf(f, ": ");
}

static void jkv_str(FILE *f, const char *k, const char *v, int first) { jkey(f, k, first), jstr(f, v); }
static void jkv_num(FILE *f, const char *k, double v) { jkey(f, k, 0), jnum(f, v); }
static void jkv_int(FILE *f, const char *k, long long v) { jkey(f, k, 0), fprintf(f, "%lld", v); }
static void jkv_u64(FILE *f, const char *k, uint64_t v) { jkey(f, k, 0), fprintf(f, "%llu", (unsigned long long)v); }

static void jhash(FILE *f, const uint8_t *h) {
  char hex[2 * CL_PROFILE_HASH_BYTES + 1];
  for (int i = 0; i < CL_PROFILE_HASH_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
  jkv_str(f, "model_hash", hex, 0);
}

/* === Profiles === */

static void json_host(FILE *f, const cl_profile_host *h) {
  jkey(f, "host", 0);
  fprintf(f, "{");
  jkv_str(f, "cpu", h->cpu, 1);
  jkv_int(f, "cores", h->cores);
  jkv_int(f, "threads", h->threads);
  jkv_str(f, "cleave_version", h->version, 0);
  jkv_str(f, "date", h->date, 0);
  jkv_str(f, "hostname", h->hostname, 0);
  fprintf(f, "}");
}

static void json_cut(FILE *f, const cl_profile *p, int k) {
  const cl_profile_cut *c = &p->cuts[k];
  fprintf(f, "{");
  jkey(f, "cut", 1);
  fprintf(f, "%d", k);
  jkey(f, "frontier", 0);
  fprintf(f, "[");
  for (int i = 0; i < c->n_frontier; i++) fprintf(f, "%s%d", i ? ", " : "", c->frontier[i]);
  fprintf(f, "]");
  jkv_u64(f, "raw_bytes", c->raw_bytes);
  jkv_u64(f, "peak_bytes", c->peak_bytes);
  jkv_u64(f, "weight_bytes", c->weight_bytes);
  jkv_num(f, "max_abs", c->max_abs);
  jkey(f, "codecs", 0);
  fprintf(f, "{");
  for (int j = 0; j < p->n_codecs; j++) {
    jkey(f, p->codecs[j], j == 0);
    fprintf(f, "{");
    jkey(f, "bytes", 1);
    fprintf(f, "%llu", (unsigned long long)c->codec[j].bytes);
    jkv_num(f, "encode_ms", c->codec[j].encode_ms);
    jkv_num(f, "decode_ms", c->codec[j].decode_ms);
    jkv_num(f, "rel_l2", c->rel_l2[j]);
    fprintf(f, "}");
  }
  fprintf(f, "}}");
}

void cli_json_profile(FILE *f, const cl_profile *p) {
  fprintf(f, "{");
  jkv_str(f, "kind", "profile", 1);
  jkv_str(f, "model", p->model, 0);
  jhash(f, p->model_hash);
  jkv_str(f, "input", p->input, 0);
  json_host(f, &p->host);
  jkv_int(f, "runs", p->runs);
  jkv_int(f, "warmup", p->warmup);
  jkv_int(f, "codec_reps", p->codec_reps);
  jkv_num(f, "run_median_ms", p->run_median_ms);
  jkv_num(f, "run_p90_ms", p->run_p90_ms);
  jkv_u64(f, "arena_bytes", p->arena_bytes);
  jkv_num(f, "seal_ms_per_mb", p->seal_ms_per_mb);
  jkv_num(f, "open_ms_per_mb", p->open_ms_per_mb);
  jkv_int(f, "node_count", p->n_nodes);
  jkey(f, "codec_names", 0);
  fprintf(f, "[");
  for (int j = 0; j < p->n_codecs; j++) fprintf(f, "%s", j ? ", " : ""), jstr(f, p->codecs[j]);
  fprintf(f, "]");
  jkey(f, "nodes", 0);
  fprintf(f, "[");
  for (int i = 0; i < p->n_nodes; i++) {
    fprintf(f, "%s{", i ? ",\n  " : "\n  ");
    jkey(f, "index", 1);
    fprintf(f, "%d", i);
    jkv_str(f, "name", p->nodes[i].name, 0);
    jkv_str(f, "op", p->nodes[i].op, 0);
    jkv_num(f, "median_ms", p->nodes[i].median_ms);
    jkv_num(f, "p90_ms", p->nodes[i].p90_ms);
    fprintf(f, "}");
  }
  fprintf(f, "]");
  jkey(f, "cuts", 0);
  fprintf(f, "[");
  for (int k = 0; k <= p->n_nodes; k++) fprintf(f, "%s", k ? ",\n  " : "\n  "), json_cut(f, p, k);
  fprintf(f, "]}\n");
}

/* === Plans === */

static void json_link(FILE *f, const char *k, const cl_link *l) {
  jkey(f, k, 0);
  fprintf(f, "{");
  jkey(f, "bandwidth_bps", 1);
  jnum(f, l->bandwidth_bps);
  jkv_num(f, "rtt_ms", l->rtt_ms);
  fprintf(f, "}");
}

static void json_row(FILE *f, const cl_plan *p, int k) {
  const cl_plan_row *r = &p->rows[k];
  fprintf(f, "{");
  jkey(f, "cut", 1);
  fprintf(f, "%d", r->cut);
  jkv_int(f, "cut2", r->cut2);
  jkv_str(f, "codec", r->codec, 0);
  if (p->two_cuts) jkv_str(f, "codec2", r->codec2, 0);
  jkv_u64(f, "bytes_up", r->bytes_up);
  jkv_u64(f, "bytes_down", r->bytes_down);
  jkv_num(f, "device_ms", r->device_ms);
  jkv_num(f, "encode_ms", r->encode_ms);
  jkv_num(f, "up_ms", r->up_ms);
  jkv_num(f, "rtt_ms", r->rtt_ms);
  jkv_num(f, "decode_ms", r->decode_ms);
  jkv_num(f, "worker_ms", r->worker_ms);
  if (p->two_cuts) jkv_num(f, "hop2_ms", r->hop2_ms), jkv_num(f, "cloud_ms", r->cloud_ms);
  jkv_num(f, "reply_ms", r->reply_ms);
  jkv_num(f, "predicted_ms", r->predicted_ms);
  jkv_num(f, "energy_mj", r->energy_mj);
  jkv_num(f, "stage_ms", r->stage_ms);
  jkv_u64(f, "device_bytes", r->device_bytes);
  jkey(f, "feasible", 0);
  fprintf(f, "%s", r->feasible ? "true" : "false");
  jkv_str(f, "why", r->why, 0);
  fprintf(f, "}");
}

static void json_dag(FILE *f, const cl_plan *p) {
  const cl_plan_dag *d = &p->dag;
  jkey(f, "dag", 0);
  fprintf(f, "{");
  jkey(f, "searched", 1);
  fprintf(f, "%s", d->searched ? "true" : "false");
  jkv_str(f, "note", d->note, 0);
  if (d->searched) {
    jkv_num(f, "topo_cost", d->topo_cost);
    jkv_int(f, "topo_cut", d->topo_cut);
    jkv_num(f, "dag_cost", d->dag_cost);
    jkv_int(f, "device_nodes", d->device_nodes);
    jkey(f, "is_prefix", 0);
    fprintf(f, "%s", d->is_prefix ? "true" : "false");
    jkv_str(f, "codec", d->codec, 0);
    jkv_u64(f, "bytes_up", d->bytes_up);
    jkey(f, "device_set", 0);
    fprintf(f, "[");
    for (int i = 0, first = 1; i < p->n_nodes; i++)
      if (d->device_set[i]) fprintf(f, "%s%d", first ? "" : ", ", i), first = 0;
    fprintf(f, "]");
  }
  fprintf(f, "}");
}

void cli_json_plan(FILE *f, const cl_plan *p) {
  const cl_plan_row *c = &p->rows[p->chosen];
  fprintf(f, "{");
  jkv_str(f, "kind", "plan", 1);
  jhash(f, p->model_hash);
  jkv_int(f, "nodes", p->n_nodes);
  jkv_int(f, "chosen_cut", c->cut);
  if (p->two_cuts) jkv_int(f, "chosen_cut2", c->cut2);
  jkv_str(f, "chosen_codec", c->codec, 0);
  jkv_num(f, "predicted_ms", c->predicted_ms);
  jkv_str(f, "objective", cl_plan_objective_name(p->objective), 0);
  json_link(f, "link", &p->link);
  if (p->two_cuts) json_link(f, "cloud_link", &p->cloud_link);
  jkv_int(f, "min_cut", p->min_cut);
  jkv_u64(f, "device_memory", p->device_memory);
  jkv_str(f, "codec_choice", p->codec_choice, 0);
  jkv_num(f, "accuracy_budget", p->accuracy_budget < 0 ? NAN : p->accuracy_budget);
  jkv_num(f, "device_w", p->device_w);
  jkv_num(f, "radio_w", p->radio_w);
  jkv_num(f, "idle_w", p->idle_w);
  jkey(f, "insecure", 0);
  fprintf(f, "%s", p->insecure ? "true" : "false");
  jkv_str(f, "device_profile", p->device_profile, 0);
  jkv_str(f, "edge_profile", p->edge_profile, 0);
  jkv_str(f, "device_host", p->device_host, 0);
  jkv_str(f, "edge_host", p->edge_host, 0);
  if (p->two_cuts) jkv_str(f, "cloud_profile", p->cloud_profile, 0), jkv_str(f, "cloud_host", p->cloud_host, 0);
  json_dag(f, p);
  jkey(f, "cuts", 0);
  fprintf(f, "[");
  for (int k = 0; k <= p->n_nodes; k++) fprintf(f, "%s", k ? ",\n  " : "\n  "), json_row(f, p, k);
  fprintf(f, "]}\n");
}
