/* cleave: status names and first-error-wins reports. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleave/status.h"

const char *cl_status_name(cl_status s) {
  switch (s) {
  case CL_OK: return "ok";
  case CL_ERR_ARG: return "bad argument";
  case CL_ERR_IO: return "i/o";
  case CL_ERR_FORMAT: return "format";
  case CL_ERR_UNSUPPORTED: return "unsupported";
  case CL_ERR_SHAPE: return "shape";
  case CL_ERR_LIMIT: return "limit";
  case CL_ERR_NOMEM: return "out of memory";
  case CL_ERR_BACKEND: return "backend";
  case CL_ERR_PROTOCOL: return "protocol";
  case CL_ERR_AUTH: return "authentication";
  case CL_ERR_TIMEOUT: return "timeout";
  case CL_ERR_CLOSED: return "closed";
  }
  return "unknown";
}

cl_status cl_error_set(cl_error *err, cl_status s, const char *fmt, ...) {
  if (err == NULL || err->status != CL_OK || s == CL_OK) return s;
  err->status = s;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  /* One line: a message never carries a newline from a file or a peer. */
  for (char *p = err->msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return s;
}

void cl_error_clear(cl_error *err) {
  if (err == NULL) return;
  err->status = CL_OK;
  err->msg[0] = '\0';
}
