/* cleave: broker <-> worker control messages: encode, bounded decode, structural checks. */
#include "wire/control.h"

#include <assert.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <string.h>

void cl_control_init(cleave_Control *c, cleave_ControlType type) {
  assert(c != NULL);
  memset(c, 0, sizeof *c);
  c->version = CL_CONTROL_VERSION;
  c->type = type;
}

cl_status cl_control_encode(const cleave_Control *c, uint8_t *buf, size_t cap, size_t *len,
                            cl_error *err) {
  assert(c != NULL && buf != NULL && len != NULL);
  pb_ostream_t os = pb_ostream_from_buffer(buf, cap);
  if (!pb_encode(&os, cleave_Control_fields, c))
    return cl_error_set(err, CL_ERR_LIMIT, "control message does not fit %zu bytes", cap);
  *len = os.bytes_written;
  return CL_OK;
}

static cl_status check(const cleave_Control *c, cl_error *err) {
  if (c->version != CL_CONTROL_VERSION)
    return cl_error_set(err, CL_ERR_PROTOCOL, "control version %u (this side speaks %d)",
                        (unsigned)c->version, CL_CONTROL_VERSION);
  if (c->type < cleave_ControlType_CTL_READY || c->type > cleave_ControlType_CTL_DISCONNECT)
    return cl_error_set(err, CL_ERR_PROTOCOL, "unknown control type %d", (int)c->type);
  if (c->type != cleave_ControlType_CTL_READY) {
    if (c->capacity || c->models_count || c->heartbeat_ms)
      return cl_error_set(err, CL_ERR_PROTOCOL, "control message with READY fields");
    return CL_OK;
  }
  if (c->capacity < 1 || c->capacity > CL_CONTROL_MAX_CAPACITY)
    return cl_error_set(err, CL_ERR_PROTOCOL, "READY with capacity %u (1 to %d)",
                        (unsigned)c->capacity, CL_CONTROL_MAX_CAPACITY);
  if (c->models_count < 1)
    return cl_error_set(err, CL_ERR_PROTOCOL, "READY without a model");
  for (pb_size_t i = 0; i < c->models_count; i++)
    if (c->models[i].size != 32)
      return cl_error_set(err, CL_ERR_PROTOCOL, "READY model hash %u of %u bytes (32 expected)",
                          (unsigned)i, (unsigned)c->models[i].size);
  return CL_OK;
}

cl_status cl_control_decode(const uint8_t *buf, size_t len, cleave_Control *c, cl_error *err) {
  assert(c != NULL && (buf != NULL || len == 0));
  memset(c, 0, sizeof *c);
  if (len > CL_CONTROL_MAX_BYTES)
    return cl_error_set(err, CL_ERR_LIMIT, "control message of %zu bytes (at most %d)", len,
                        CL_CONTROL_MAX_BYTES);
  if (len == 0) return cl_error_set(err, CL_ERR_FORMAT, "empty control message");
  pb_istream_t is = pb_istream_from_buffer(buf, len);
  if (!pb_decode(&is, cleave_Control_fields, c)) {
    cl_status st = cl_error_set(err, CL_ERR_FORMAT, "malformed control message: %s",
                                PB_GET_ERROR(&is));
    memset(c, 0, sizeof *c);
    return st;
  }
  cl_status st = check(c, err);
  if (st != CL_OK) memset(c, 0, sizeof *c);
  return st;
}
