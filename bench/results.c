/* cleave-bench: result rows and their CSV files (results.h). */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* === The columns === */

typedef enum col_type { COL_STR, COL_NUM, COL_INT } col_type;

typedef struct column {
  const char *name;
  col_type type;
  size_t offset;
  size_t size;      /* COL_STR: the buffer's size */
  int key;          /* 1: a reader needs it */
} column;

#define STR(f, k) {#f, COL_STR, offsetof(cl_result, f), sizeof(((cl_result *)0)->f), k}
#define NUM(f, k) {#f, COL_NUM, offsetof(cl_result, f), sizeof(double), k}
#define INT(f, k) {#f, COL_INT, offsetof(cl_result, f), sizeof(int), k}

static const column COLUMNS[] = {
    STR(model, 1),       NUM(bandwidth_mbit, 1), NUM(rtt_ms, 1),     NUM(slowdown, 1),
    STR(strategy, 1),    INT(cut, 0),            INT(nodes, 0),      STR(codec, 0),
    NUM(measured_ms, 1), NUM(p90_ms, 0),         NUM(mean_ms, 0),    INT(runs, 0),
    NUM(predicted_ms, 0), NUM(predicted_uncal_ms, 0), NUM(bytes_up, 0), NUM(bytes_down, 0),
    NUM(device_ms, 0),
    NUM(encode_ms, 0),   NUM(wire_ms, 0),        NUM(edge_ms, 0),    NUM(goodput_mbit, 0),
    NUM(out_rel_l2, 0),  NUM(load_avg, 0),      STR(note, 0),
};
#define N_COLUMNS ((int)(sizeof COLUMNS / sizeof COLUMNS[0]))

/* A field at a column's offset, read and written through memcpy (no alignment casts). */
static double get_num(const char *p) {
  double d = 0;
  memcpy(&d, p, sizeof d);
  return d;
}
static int get_int(const char *p) {
  int v = 0;
  memcpy(&v, p, sizeof v);
  return v;
}
static void set_num(char *p, double d) { memcpy(p, &d, sizeof d); }
static void set_int(char *p, int v) { memcpy(p, &v, sizeof v); }

void cl_result_init(cl_result *r) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < N_COLUMNS; i++) {
    char *p = (char *)r + COLUMNS[i].offset;
    if (COLUMNS[i].type == COL_NUM) set_num(p, NAN);
    else if (COLUMNS[i].type == COL_INT) set_int(p, -1);
  }
  r->runs = 0;
}

const char *cl_results_header(void) {
  static char header[1024];
  if (!header[0]) {
    size_t k = 0;
    for (int i = 0; i < N_COLUMNS; i++)
      k += (size_t)snprintf(header + k, sizeof header - k, "%s%s", i ? "," : "", COLUMNS[i].name);
  }
  return header;
}

void cl_results_write_header(FILE *f) { fprintf(f, "%s\n", cl_results_header()); }

/* === Writing === */

static void put_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) { fputs(s, f); return; }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
  }
  fputc('"', f);
}

/* Numbers: enough digits for the figures (microseconds, bytes), never exponent noise for bytes. */
static void put_num(FILE *f, double v) {
  if (isnan(v)) return;
  if (isinf(v)) { fputs(v > 0 ? "inf" : "-inf", f); return; }
  if (v == floor(v) && fabs(v) < 1e15) fprintf(f, "%.0f", v);
  else fprintf(f, "%.6g", v);
}

int cl_results_write_row(FILE *f, const cl_result *r) {
  for (int i = 0; i < N_COLUMNS; i++) {
    const char *p = (const char *)r + COLUMNS[i].offset;
    if (i) fputc(',', f);
    switch (COLUMNS[i].type) {
      case COL_STR: put_str(f, p); break;
      case COL_NUM: put_num(f, get_num(p)); break;
      case COL_INT: if (get_int(p) >= 0) fprintf(f, "%d", get_int(p)); break;
    }
  }
  fputc('\n', f);
  return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* === Arrays === */

cl_status cl_results_push(cl_results *rs, const cl_result *r) {
  if (rs->n == rs->cap) {
    int nc = rs->cap ? rs->cap * 2 : 64;
    cl_result *rows = realloc(rs->rows, (size_t)nc * sizeof *rows);
    if (!rows) return CL_ERR_NOMEM;
    rs->rows = rows;
    rs->cap = nc;
  }
  rs->rows[rs->n++] = *r;
  return CL_OK;
}

void cl_results_free(cl_results *rs) {
  free(rs->rows);
  memset(rs, 0, sizeof *rs);
}

/* === Reading === */

#define MAX_FIELDS 64
#define MAX_LINE 4096

/* Splits one CSV record starting at *pos (quotes, doubled quotes; a quoted field may not span lines
 * here: we never write one). Fields are written into buf; returns the field count or -1. */
static int split_record(const char *text, size_t *pos, char *buf, size_t cap, char **fields) {
  size_t i = *pos, k = 0;
  int n = 0;
  fields[n++] = buf;
  while (text[i] && text[i] != '\n') {
    if (k + 2 >= cap) return -1;
    if (text[i] == '"') {
      i++;
      while (text[i] && !(text[i] == '"' && text[i + 1] != '"')) {
        if (text[i] == '\n' || k + 2 >= cap) return -1;
        if (text[i] == '"') i++;
        buf[k++] = text[i++];
      }
      if (text[i] != '"') return -1;
      i++;
      continue;
    }
    if (text[i] == ',') {
      buf[k++] = '\0';
      if (n == MAX_FIELDS) return -1;
      fields[n++] = buf + k;
      i++;
      continue;
    }
    if (text[i] != '\r') buf[k++] = text[i];
    i++;
  }
  buf[k] = '\0';
  *pos = text[i] ? i + 1 : i;
  return n;
}

static cl_status set_field(const column *c, cl_result *r, const char *v, const char *name, int line,
                           cl_error *err) {
  char *p = (char *)r + c->offset;
  if (c->type == COL_STR) {
    snprintf(p, c->size, "%s", v);
    return CL_OK;
  }
  if (!*v) return CL_OK;   /* NAN / -1 from cl_result_init */
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (*end != '\0' || (c->type == COL_INT && (d != floor(d) || d < -1 || d > 1e9)))
    return cl_error_set(err, CL_ERR_FORMAT, "%s line %d: bad number '%.40s' in %s", name, line, v,
                        c->name);
  if (c->type == COL_NUM) set_num(p, d);
  else set_int(p, (int)d);
  return CL_OK;
}

cl_status cl_results_parse(const char *text, const char *name, cl_results *rs, cl_error *err) {
  char buf[MAX_LINE];
  char *fields[MAX_FIELDS];
  int map[MAX_FIELDS];      /* field index -> column index, -1: ignored */
  size_t pos = 0;
  int line = 1;
  int nh = split_record(text, &pos, buf, sizeof buf, fields);
  if (nh <= 1 && !fields[0][0]) return cl_error_set(err, CL_ERR_FORMAT, "%s: empty file", name);
  if (nh < 0) return cl_error_set(err, CL_ERR_FORMAT, "%s line 1: bad header", name);
  for (int f = 0; f < nh; f++) {
    map[f] = -1;
    for (int c = 0; c < N_COLUMNS; c++)
      if (strcmp(fields[f], COLUMNS[c].name) == 0) map[f] = c;
  }
  for (int c = 0; c < N_COLUMNS; c++) {
    if (!COLUMNS[c].key) continue;
    int found = 0;
    for (int f = 0; f < nh; f++) found |= map[f] == c;
    if (!found) return cl_error_set(err, CL_ERR_FORMAT, "%s: no column '%s'", name, COLUMNS[c].name);
  }
  while (text[pos]) {
    line++;
    int n = split_record(text, &pos, buf, sizeof buf, fields);
    if (n == 1 && !fields[0][0]) continue;   /* blank line */
    if (n != nh)
      return cl_error_set(err, CL_ERR_FORMAT, "%s line %d: %d fields, the header has %d", name, line,
                          n < 0 ? 0 : n, nh);
    cl_result r;
    cl_result_init(&r);
    for (int f = 0; f < n; f++) {
      if (map[f] < 0) continue;
      cl_status st = set_field(&COLUMNS[map[f]], &r, fields[f], name, line, err);
      if (st != CL_OK) return st;
    }
    if (!r.model[0] || !r.strategy[0])
      return cl_error_set(err, CL_ERR_FORMAT, "%s line %d: empty model or strategy", name, line);
    if (cl_results_push(rs, &r) != CL_OK) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  return CL_OK;
}

/* Reads a whole text file (NUL-terminated, at most 1 GiB) into *out (malloc'd). */
static cl_status read_text(const char *path, char **out, cl_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap + 1);
  while (text) {
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
    if (len == cap) {
      if (cap > ((size_t)1 << 30)) { free(text); text = NULL; break; }
      char *nt = realloc(text, cap * 2 + 1);
      if (!nt) { free(text); text = NULL; break; }
      text = nt;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!text) return cl_error_set(err, CL_ERR_NOMEM, "%s: too large or out of memory", path);
  if (bad) { free(text); return cl_error_set(err, CL_ERR_IO, "%s: read error", path); }
  text[len] = '\0';
  if (memchr(text, '\0', len)) { free(text); return cl_error_set(err, CL_ERR_FORMAT, "%s: not text", path); }
  *out = text;
  return CL_OK;
}

cl_status cl_results_read(const char *path, cl_results *rs, cl_error *err) {
  char *text;
  cl_status st = read_text(path, &text, err);
  if (st != CL_OK) return st;
  st = cl_results_parse(text, path, rs, err);
  free(text);
  return st;
}

/* === Goodput === */

const char *cl_goodput_header(void) { return "set_mbit,direction,goodput_mbit,bytes,seconds"; }

int cl_goodput_write_row(FILE *f, const cl_goodput_row *g) {
  put_num(f, g->set_mbit);
  fprintf(f, ",%s,", g->direction);
  put_num(f, g->goodput_mbit);
  fputc(',', f);
  put_num(f, g->bytes);
  fputc(',', f);
  put_num(f, g->seconds);
  fputc('\n', f);
  return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

cl_status cl_goodput_read(const char *path, cl_goodput_row **out, int *n, cl_error *err) {
  *out = NULL;
  *n = 0;
  char *text;
  cl_status st = read_text(path, &text, err);
  if (st != CL_OK) return st;
  char buf[MAX_LINE];
  char *fields[MAX_FIELDS];
  size_t pos = 0;
  int line = 1, cap = 0;
  int nh = split_record(text, &pos, buf, sizeof buf, fields);
  if (nh != 5 || strcmp(fields[0], "set_mbit") != 0 || strcmp(fields[2], "goodput_mbit") != 0)
    st = cl_error_set(err, CL_ERR_FORMAT, "%s: not a goodput.csv (header)", path);
  cl_goodput_row *rows = NULL;
  while (st == CL_OK && text[pos]) {
    line++;
    int nf = split_record(text, &pos, buf, sizeof buf, fields);
    if (nf == 1 && !fields[0][0]) continue;
    if (nf != 5) { st = cl_error_set(err, CL_ERR_FORMAT, "%s line %d: %d fields, not 5", path, line, nf); break; }
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      cl_goodput_row *nr = realloc(rows, (size_t)cap * sizeof *nr);
      if (!nr) { st = cl_error_set(err, CL_ERR_NOMEM, "out of memory"); break; }
      rows = nr;
    }
    cl_goodput_row *g = &rows[*n];
    double *nums[4] = {&g->set_mbit, &g->goodput_mbit, &g->bytes, &g->seconds};
    const char *src[4] = {fields[0], fields[2], fields[3], fields[4]};
    for (int i = 0; i < 4 && st == CL_OK; i++) {
      char *end;
      *nums[i] = strtod(src[i], &end);
      if (!*src[i] || *end) st = cl_error_set(err, CL_ERR_FORMAT, "%s line %d: bad number '%.40s'", path, line, src[i]);
    }
    snprintf(g->direction, sizeof g->direction, "%s", fields[1]);
    if (st == CL_OK) (*n)++;
  }
  free(text);
  if (st != CL_OK) { free(rows); *n = 0; return st; }
  *out = rows;
  return CL_OK;
}
