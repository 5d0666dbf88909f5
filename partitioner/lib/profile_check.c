/* cleave partitioner: what a reader must check before it trusts a profile (profile.h), and the
 * file helpers shared by profiles and plans. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleave/codec.h"
#include "cleave/profile.h"
#include "profile_internal.h"

/* === Numbers and names === */

static cl_status check_codecs(const cl_profile *p, cl_error *err) {
  if (p->n_codecs < 1 || p->n_codecs > CL_PROFILE_MAX_CODECS)
    return cl_error_set(err, CL_ERR_FORMAT, "profile lists %d codecs (1 to %d)", p->n_codecs,
                        CL_PROFILE_MAX_CODECS);
  for (int i = 0; i < p->n_codecs; i++) {
    cl_codec c;
    cl_error e = {0};
    char canon[CL_PROFILE_CODEC_NAME_MAX];
    if (cl_codec_parse(p->codecs[i], &c, &e) != CL_OK ||
        strcmp(cl_codec_name(&c, canon, sizeof canon), p->codecs[i]) != 0)
      return cl_error_set(err, CL_ERR_FORMAT, "profile codec '%.31s' is not a canonical codec name",
                          p->codecs[i]);
    for (int j = 0; j < i; j++)
      if (strcmp(p->codecs[j], p->codecs[i]) == 0)
        return cl_error_set(err, CL_ERR_FORMAT, "profile lists codec '%s' twice", p->codecs[i]);
  }
  return CL_OK;
}

static cl_status check_cost(const cl_profile_cost *c, uint64_t raw, const char *what, int id,
                            const char *codec, cl_error *err) {
  if (!cl_profile_time_ok(c->encode_ms) || !cl_profile_time_ok(c->decode_ms))
    return cl_error_set(err, CL_ERR_FORMAT, "%s %d, codec %s: bad time (encode %g ms, decode %g ms)",
                        what, id, codec, c->encode_ms, c->decode_ms);
  if (c->bytes > 2 * raw + 65536)
    return cl_error_set(err, CL_ERR_FORMAT, "%s %d, codec %s: %llu encoded bytes for %llu raw", what,
                        id, codec, (unsigned long long)c->bytes, (unsigned long long)raw);
  return CL_OK;
}

static cl_status check_numbers(const cl_profile *p, cl_error *err) {
  if (p->runs < 1 || p->warmup < 0 || p->codec_reps < 1 || p->host.threads < 1 || p->host.cores < 1)
    return cl_error_set(err, CL_ERR_FORMAT, "profile has bad counts (runs %d, warm-up %d, reps %d, "
                        "threads %d, cores %d)", p->runs, p->warmup, p->codec_reps, p->host.threads,
                        p->host.cores);
  if (!cl_profile_time_ok(p->run_median_ms) || !cl_profile_time_ok(p->run_p90_ms))
    return cl_error_set(err, CL_ERR_FORMAT, "profile has a bad run time (%g ms, p90 %g ms)",
                        p->run_median_ms, p->run_p90_ms);
  if (!cl_profile_time_ok(p->seal_ms_per_mb) || !cl_profile_time_ok(p->open_ms_per_mb) ||
      p->seal_ms_per_mb > 1e4 || p->open_ms_per_mb > 1e4)
    return cl_error_set(err, CL_ERR_FORMAT, "profile has a bad seal cost (%g, %g ms per MB)", p->seal_ms_per_mb,
                        p->open_ms_per_mb);
  for (int i = 0; i < p->n_nodes; i++)
    if (!cl_profile_time_ok(p->nodes[i].median_ms) || !cl_profile_time_ok(p->nodes[i].p90_ms))
      return cl_error_set(err, CL_ERR_FORMAT, "node %d: bad time (median %g ms, p90 %g ms)", i,
                          p->nodes[i].median_ms, p->nodes[i].p90_ms);
  for (int v = 0; v < p->n_values; v++)
    for (int j = 0; p->values[v].measured && j < p->n_codecs; j++) {
      cl_status st = check_cost(&p->values[v].codec[j], p->values[v].bytes, "value", v,
                                p->codecs[j], err);
      if (st != CL_OK) return st;
    }
  for (int k = 0; k <= p->n_nodes; k++) {
    const cl_profile_cut *c = &p->cuts[k];
    if (!(c->max_abs >= 0) || !isfinite(c->max_abs))
      return cl_error_set(err, CL_ERR_FORMAT, "cut %d: bad max |x| %g", k, c->max_abs);
    for (int j = 0; j < p->n_codecs; j++)
      if (!isnan(c->rel_l2[j]) && !(c->rel_l2[j] >= 0))
        return cl_error_set(err, CL_ERR_FORMAT, "cut %d, codec %s: bad output error %g", k,
                            p->codecs[j], c->rel_l2[j]);
  }
  return CL_OK;
}

/* === Cuts against the graph === */

static int close_enough(double stored, double sum) {
  return fabs(stored - sum) <= 1e-9 + 1e-6 * fabs(sum);
}

static cl_status compare_cut(const cl_profile *p, int k, const cl_profile_cut *want, cl_error *err) {
  const cl_profile_cut *c = &p->cuts[k];
  if (c->n_frontier != want->n_frontier ||
      (c->n_frontier && memcmp(c->frontier, want->frontier, sizeof(int) * (size_t)c->n_frontier)))
    return cl_error_set(err, CL_ERR_FORMAT, "cut %d: its frontier does not match the graph", k);
  if (c->raw_bytes != want->raw_bytes || c->peak_bytes != want->peak_bytes ||
      c->weight_bytes != want->weight_bytes)
    return cl_error_set(err, CL_ERR_FORMAT, "cut %d: its byte counts do not match the graph", k);
  for (int j = 0; j < p->n_codecs; j++)
    if (c->codec[j].bytes != want->codec[j].bytes ||
        !close_enough(c->codec[j].encode_ms, want->codec[j].encode_ms) ||
        !close_enough(c->codec[j].decode_ms, want->codec[j].decode_ms))
      return cl_error_set(err, CL_ERR_FORMAT, "cut %d, codec %s: sums do not match its tensors", k,
                          p->codecs[j]);
  return CL_OK;
}

static cl_status check_cuts(const cl_profile *p, cl_error *err) {
  cl_profile_cut *want = cl_profile_cuts_alloc(p->n_nodes, p->n_codecs);
  if (!want) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_profile_derive_cuts(p, want, err);
  for (int k = 0; k <= p->n_nodes && st == CL_OK; k++) st = compare_cut(p, k, &want[k], err);
  for (int k = 0; k <= p->n_nodes && st == CL_OK; k++) /* every crossing tensor was measured */
    for (int i = 0; i < want[k].n_frontier && st == CL_OK; i++)
      if (!p->values[want[k].frontier[i]].measured)
        st = cl_error_set(err, CL_ERR_FORMAT, "value %d crosses cut %d but has no codec figures",
                          want[k].frontier[i], k);
  cl_profile_cuts_free(want, p->n_nodes);
  return st;
}

cl_status cl_profile_validate(const cl_profile *p, cl_error *err) {
  cl_status st = check_codecs(p, err);
  if (st == CL_OK) st = check_numbers(p, err);
  if (st == CL_OK) st = check_cuts(p, err);
  return st;
}

/* === Files === */

cl_status cl_partfile_read(const char *path, size_t max, uint8_t **buf, size_t *len, cl_error *err) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return cl_error_set(err, CL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return cl_error_set(err, CL_ERR_IO, "'%s' is not a regular file", path);
  }
  if ((uint64_t)sb.st_size > max) {
    fclose(f);
    return cl_error_set(err, CL_ERR_LIMIT, "'%s' is %lld bytes (at most %zu)", path,
                        (long long)sb.st_size, max);
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *b = malloc(n + 1);
  if (!b) {
    fclose(f);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory reading '%s'", path);
  }
  size_t got = fread(b, 1, n, f);
  int bad = ferror(f) || got != n;
  fclose(f);
  if (bad) {
    free(b);
    return cl_error_set(err, CL_ERR_IO, "cannot read '%s'", path);
  }
  *buf = b;
  *len = n;
  return CL_OK;
}

cl_status cl_partfile_write(const char *path, const uint8_t *buf, size_t len, cl_error *err) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  snprintf(tmp, plen + 16, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(buf, 1, len, f) == len;
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  int e = errno;
  if (!ok) remove(tmp);
  free(tmp);
  if (!ok) return cl_error_set(err, CL_ERR_IO, "cannot write '%s': %s", path, strerror(e));
  return CL_OK;
}
