/* cleave-partitioner show: profiles and plans as tables (JSON: show_json.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleave/codec.h"
#include "cleave/units.h"
#include "cli.h"

/* === Profiles === */

static void print_host(FILE *f, const cl_profile *p) {
  char hash[17];
  for (int i = 0; i < 8; i++) snprintf(hash + 2 * i, 3, "%02x", p->model_hash[i]);
  fprintf(f, "profile of %s (hash %s..): %d nodes, %d values, input %s\n", p->model, hash, p->n_nodes,
          p->n_values, p->input);
  fprintf(f, "host: %s, %d cores, %d thread%s used, %s, cleave %s, %s\n", p->host.cpu, p->host.cores,
          p->host.threads, p->host.threads == 1 ? "" : "s", p->host.hostname, p->host.version, p->host.date);
  char arena[32];
  fprintf(f, "%d runs after %d warm-up, codec reps %d; whole run median %.3f ms (p90 %.3f), sum of node "
          "medians %.3f ms; executor arena %s; seal %.3f ms/MB, open %.3f ms/MB\n", p->runs, p->warmup,
          p->codec_reps, p->run_median_ms, p->run_p90_ms, cl_profile_compute_ms(p, 0, p->n_nodes),
          cl_units_fmt_bytes(p->arena_bytes, arena, 32), p->seal_ms_per_mb, p->open_ms_per_mb);
}

static void print_nodes(FILE *f, const cl_profile *p) {
  fprintf(f, "\n%5s  %-20s %-40s %10s %10s\n", "node", "op", "name", "median_ms", "p90_ms");
  for (int i = 0; i < p->n_nodes; i++)
    fprintf(f, "%5d  %-20.20s %-40.40s %10.4f %10.4f\n", i, p->nodes[i].op, p->nodes[i].name,
            p->nodes[i].median_ms, p->nodes[i].p90_ms);
}

static void print_cuts(FILE *f, const cl_profile *p) {
  fprintf(f, "\nper cut: tensors crossing it, raw bytes, device memory for [0, k) (peak activations + "
          "weights), largest |x|;\nper codec: encoded bytes, encode + decode ms (one core), output error "
          "(relative L2, '-' not measured)\n");
  fprintf(f, "%5s %-14s %3s %10s %10s %9s", "cut", "after", "n", "raw", "memory", "max|x|");
  for (int j = 0; j < p->n_codecs; j++) fprintf(f, " | %-27.27s", p->codecs[j]);
  fprintf(f, "\n");
  for (int k = 0; k <= p->n_nodes; k++) {
    const cl_profile_cut *c = &p->cuts[k];
    char raw[32], mem[32];
    fprintf(f, "%5d %-14.14s %3d %10s %10s %9.3g", k, k ? p->nodes[k - 1].op : "(input)", c->n_frontier,
            cl_units_fmt_bytes(c->raw_bytes, raw, 32), cl_units_fmt_bytes(c->peak_bytes + c->weight_bytes, mem, 32),
            c->max_abs);
    for (int j = 0; j < p->n_codecs; j++) {
      char b[32], e[16] = "-";
      if (!isnan(c->rel_l2[j])) snprintf(e, sizeof e, "%.1e", c->rel_l2[j]);
      fprintf(f, " | %9s %7.3f %-8s", cl_units_fmt_bytes(c->codec[j].bytes, b, 32),
              c->codec[j].encode_ms + c->codec[j].decode_ms, e);
    }
    fprintf(f, "\n");
  }
}

void cli_print_profile(FILE *f, const cl_profile *p) {
  print_host(f, p);
  print_nodes(f, p);
  print_cuts(f, p);
}

/* === Plans === */

static void print_decision(FILE *f, const cl_plan *p) {
  char bw[32], mem[32], bw2[32];
  fprintf(f, "plan: objective %s, link %s rtt %g ms", cl_plan_objective_name(p->objective),
          cl_units_fmt_bandwidth(p->link.bandwidth_bps, bw, 32), p->link.rtt_ms);
  if (p->two_cuts)
    fprintf(f, ", cloud link %s rtt %g ms", cl_units_fmt_bandwidth(p->cloud_link.bandwidth_bps, bw2, 32),
            p->cloud_link.rtt_ms);
  fprintf(f, ", codec %s, accuracy budget ", p->codec_choice);
  if (p->accuracy_budget < 0) fprintf(f, "none (lossless only)");
  else fprintf(f, "%g", p->accuracy_budget);
  fprintf(f, ", min cut %d, device memory %s", p->min_cut,
          p->device_memory ? cl_units_fmt_bytes(p->device_memory, mem, 32) : "unlimited");
  if (p->device_w + p->radio_w + p->idle_w > 0)
    fprintf(f, ", power device %g W radio %g W idle %g W", p->device_w, p->radio_w, p->idle_w);
  fprintf(f, "%s", p->insecure ? ", insecure (no sealing cost)" : ", sealed");
  fprintf(f, "\ndevice: %s (%s)\nworker: %s (%s)\n", p->device_host, p->device_profile, p->edge_host,
          p->edge_profile);
  if (p->two_cuts) fprintf(f, "cloud:  %s (%s)\n", p->cloud_host, p->cloud_profile);
}

static void print_chosen(FILE *f, const cl_plan *p) {
  const cl_plan_row *r = &p->rows[p->chosen];
  if (r->cut == p->n_nodes) {
    fprintf(f, "chosen: cut %d of %d (device only), predicted %.3f ms\n", r->cut, p->n_nodes, r->predicted_ms);
    return;
  }
  fprintf(f, "chosen: cut %d", r->cut);
  if (p->two_cuts) fprintf(f, " and %d", r->cut2);
  fprintf(f, " of %d, codec %s, predicted %.3f ms = device %.3f + encode %.3f + up %.3f + rtt %.3f + "
          "decode %.3f + worker %.3f", p->n_nodes, r->codec, r->predicted_ms, r->device_ms, r->encode_ms,
          r->up_ms, r->rtt_ms, r->decode_ms, r->worker_ms);
  if (p->two_cuts) fprintf(f, " + hop2 %.3f + cloud %.3f", r->hop2_ms, r->cloud_ms);
  fprintf(f, " + reply %.3f", r->reply_ms);
  if (p->objective == CL_PLAN_ENERGY) fprintf(f, "; device energy %.3f mJ", r->energy_mj);
  if (p->objective == CL_PLAN_THROUGHPUT) fprintf(f, "; slowest stage %.3f ms (%.1f/s)", r->stage_ms,
                                                  r->stage_ms > 0 ? 1e3 / r->stage_ms : INFINITY);
  fprintf(f, "\n");
}

static void print_rows(FILE *f, const cl_plan *p) {
  int energy = p->device_w + p->radio_w + p->idle_w > 0, two = p->two_cuts;
  fprintf(f, "\n  %5s%s %-14s%s %10s %10s %9s %8s %9s %7s %8s %9s", "cut", two ? "  cut2" : "", "codec",
          two ? " codec2        " : "", "bytes_up", "bytes_down", "device", "encode", "up", "rtt", "decode",
          "worker");
  if (two) fprintf(f, " %9s %9s", "hop2", "cloud");
  fprintf(f, " %8s %10s%s %9s %10s  %s\n", "reply", "predicted", energy ? "  energy_mJ" : "", "stage",
          "memory", "feasible");
  for (int k = 0; k <= p->n_nodes; k++) {
    const cl_plan_row *r = &p->rows[k];
    char up[32], dn[32], mem[32];
    fprintf(f, "%c %5d", k == p->chosen ? '*' : ' ', r->cut);
    if (two) fprintf(f, " %5d", r->cut2);
    fprintf(f, " %-14.14s", r->codec[0] ? r->codec : "-");
    if (two) fprintf(f, " %-14.14s", r->codec2[0] ? r->codec2 : "-");
    fprintf(f, " %10s %10s %9.3f %8.3f %9.3f %7.2f %8.3f %9.3f", cl_units_fmt_bytes(r->bytes_up, up, 32),
            cl_units_fmt_bytes(r->bytes_down, dn, 32), r->device_ms, r->encode_ms, r->up_ms, r->rtt_ms,
            r->decode_ms, r->worker_ms);
    if (two) fprintf(f, " %9.3f %9.3f", r->hop2_ms, r->cloud_ms);
    fprintf(f, " %8.3f %10.3f", r->reply_ms, r->predicted_ms);
    if (energy) fprintf(f, " %10.3f", r->energy_mj);
    fprintf(f, " %9.3f %10s  %s\n", r->stage_ms, cl_units_fmt_bytes(r->device_bytes, mem, 32),
            r->feasible ? "yes" : r->why);
  }
}

void cli_print_plan(FILE *f, const cl_plan *p) {
  print_decision(f, p);
  print_chosen(f, p);
  print_rows(f, p);
  fprintf(f, "\nDAG search: %s%s\n", p->dag.note, p->dag.searched && !p->dag.is_prefix ?
          "; the executable choice above stays the best topological cut" : "");
}

/* === The subcommand === */

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " show PROFILE|PLAN [--json]\n"
          "\n"
          "Prints a profile (nodes with their times, cuts with their bytes per codec) or a plan (the\n"
          "per-cut table with the time split, the chosen cut marked '*') as a table, or as JSON.\n"
          "\n"
          "Exit status: 0 done, 1 failed at run time (unreadable or corrupt file), 2 bad usage.\n");
}

/* Reads the whole file (bounded). Returns 0, or 1 after printing the error. */
static int read_file(const char *path, uint8_t **buf, size_t *len) {
  FILE *fp = fopen(path, "rb");
  struct stat sb;
  if (!fp || fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (fp) fclose(fp);
    return cli_fail(1, "cannot read '%s'", path);
  }
  if ((uint64_t)sb.st_size > CL_PROFILE_MAX_FILE_BYTES) {
    fclose(fp);
    return cli_fail(1, "'%s' is too large for a profile or plan", path);
  }
  *len = (size_t)sb.st_size;
  *buf = malloc(*len + 1);
  int bad = !*buf || fread(*buf, 1, *len, fp) != *len;
  fclose(fp);
  if (bad) {
    free(*buf);
    return cli_fail(1, "cannot read '%s'", path);
  }
  return 0;
}

int cli_show(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), 0;
    if (!strcmp(argv[i], "--version")) return cli_version("show"), 0;
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (argv[i][0] == '-' && argv[i][1]) return cli_fail(2, "show: unknown option '%s'", argv[i]);
    else if (path) return cli_fail(2, "show: one file at a time");
    else path = argv[i];
  }
  if (!path) return cli_fail(2, "show: which file? (see --help)");
  uint8_t *buf = NULL;
  size_t len = 0;
  if (read_file(path, &buf, &len)) return 1;
  const char *kind = cl_plan_file_kind(buf, len);
  cl_error err = {0};
  cl_profile *pr = NULL;
  cl_plan *pl = NULL;
  int rc = 0;
  if (!kind) rc = cli_fail(1, "%s: not a cleave profile or plan", path);
  else if (!strcmp(kind, "cleave-plan") ? cl_plan_decode(buf, len, &pl, &err) != CL_OK
                                        : cl_profile_decode(buf, len, &pr, &err) != CL_OK)
    rc = cli_fail(1, "%s: %s", path, err.msg);
  free(buf);
  if (rc == 0 && pr) json ? cli_json_profile(stdout, pr) : cli_print_profile(stdout, pr);
  if (rc == 0 && pl) json ? cli_json_plan(stdout, pl) : cli_print_plan(stdout, pl);
  cl_profile_free(&pr);
  cl_plan_free(&pl);
  return rc;
}
