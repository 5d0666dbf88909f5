/* cleave: status codes and error reports.
 *
 * One status enum for the whole project. Functions that can fail on input from outside (files, peers,
 * the network, the user) return a cl_status and, when given one, fill a cl_error with a one-line
 * message naming what is wrong. Misuse by the programmer (NULL where the contract forbids it) asserts.
 *
 * The first error wins: cl_error_set keeps the first message and ignores later ones, so the report
 * names the cause rather than its consequences. */
#ifndef CLEAVE_STATUS_H
#define CLEAVE_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CL_MUST_CHECK __attribute__((warn_unused_result))
#define CL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CL_MUST_CHECK
#define CL_PRINTF(f, a)
#endif

typedef enum cl_status {
  CL_OK = 0,
  CL_ERR_ARG,         /* an argument out of its documented range (bad usage) */
  CL_ERR_IO,          /* a file or device could not be opened, read or written */
  CL_ERR_FORMAT,      /* bytes that do not parse: truncated or corrupt file or message */
  CL_ERR_UNSUPPORTED, /* well-formed but not supported here: an operator, a dtype, an attribute */
  CL_ERR_SHAPE,       /* shapes or dtypes that do not agree */
  CL_ERR_LIMIT,       /* a size, count or dimension beyond cleave's limits */
  CL_ERR_NOMEM,       /* an allocation failed */
  CL_ERR_BACKEND,     /* XNNPACK (or another library) refused */
  CL_ERR_PROTOCOL,    /* a peer broke the wire protocol */
  CL_ERR_AUTH,        /* authentication, decryption or replay check failed */
  CL_ERR_TIMEOUT,     /* a deadline passed */
  CL_ERR_CLOSED,      /* the peer or the link is gone */
} cl_status;

/* Short stable name of a status ("format", "unsupported", ...). Never NULL. */
const char *cl_status_name(cl_status s);

#define CL_ERROR_MSG_MAX 320

/* An error report. Zero-initialise it (cl_error e = {0};) before first use. */
typedef struct cl_error {
  cl_status status;            /* CL_OK until the first error */
  char msg[CL_ERROR_MSG_MAX];  /* one line, no trailing newline; "" until the first error */
} cl_error;

/* Records the first error: when err is NULL or already holds an error, only returns s.
 * Returns s, so that callers can write `return cl_error_set(err, CL_ERR_FORMAT, "...")`. */
cl_status cl_error_set(cl_error *err, cl_status s, const char *fmt, ...) CL_PRINTF(3, 4);

/* Clears a report for reuse. */
void cl_error_clear(cl_error *err);

#ifdef __cplusplus
}
#endif
#endif
