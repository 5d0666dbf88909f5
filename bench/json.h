/* cleave-bench: a small JSON reader for what the other cleave binaries write (cleave-device --stats,
 * cleave-partitioner show/plan --json).
 *
 * cl_json_parse builds a tree from bytes that are untrusted: every nesting level, string and number
 * is checked, depth is bounded (64), and malformed text is refused with a one-line message naming
 * the byte offset; it never reads outside the buffer. Numbers are doubles. Object keys keep their
 * order; lookups are linear (the documents here are small or read once). */
#ifndef CLEAVE_BENCH_JSON_H
#define CLEAVE_BENCH_JSON_H

#include <stddef.h>

#include "cleave/status.h"

typedef enum cl_json_type {
  CL_JSON_NULL = 0,
  CL_JSON_BOOL,
  CL_JSON_NUMBER,
  CL_JSON_STRING,
  CL_JSON_ARRAY,
  CL_JSON_OBJECT,
} cl_json_type;

typedef struct cl_json cl_json;
struct cl_json {
  cl_json_type type;
  double number;          /* NUMBER; BOOL: 0 or 1 */
  char *string;           /* STRING: NUL-terminated, owned (escapes decoded; \u as UTF-8) */
  int n;                  /* ARRAY, OBJECT: number of items */
  cl_json *items;         /* ARRAY, OBJECT: n items, owned */
  char **keys;            /* OBJECT: n keys, owned */
};

/* Parses len bytes of text (the caller keeps it). On success *out is the caller's (cl_json_free).
 * Errors: CL_ERR_FORMAT ("json: expected ',' or '}' at byte 120"), CL_ERR_LIMIT (nesting deeper than
 * 64), CL_ERR_NOMEM. */
cl_status cl_json_parse(const char *text, size_t len, cl_json **out, cl_error *err) CL_MUST_CHECK;

/* Reads and parses a file (at most 256 MiB). Errors as above plus CL_ERR_IO; messages name the file. */
cl_status cl_json_load(const char *path, cl_json **out, cl_error *err) CL_MUST_CHECK;

/* Frees the tree and sets *j to NULL. Safe on NULL and on *j == NULL. */
void cl_json_free(cl_json **j);

/* The member `key` of an object, or NULL (also when j is NULL or not an object). The result belongs
 * to j. */
const cl_json *cl_json_get(const cl_json *j, const char *key);

/* Item i of an array, or NULL when out of range or j is not an array. */
const cl_json *cl_json_at(const cl_json *j, int i);

/* The number of member `key`, or dflt when missing or not a number (or a bool). */
double cl_json_num(const cl_json *j, const char *key, double dflt);

/* The string of member `key`, or dflt when missing or not a string. */
const char *cl_json_str(const cl_json *j, const char *key, const char *dflt);

#endif
