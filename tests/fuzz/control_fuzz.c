/* cleave fuzzer: the broker <-> worker control messages (runtime/wire/control.c), which cleave-cloud
 * reads from any worker connection and cleave-edge --connect from its broker. Checks, besides the
 * sanitizers:
 *   - a refusal carries a message and leaves the message zeroed;
 *   - an accepted message encodes again and decodes to the same fields (a round trip);
 *   - an accepted message has the structure control.h promises (version, type, READY fields). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/control.h"

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

static void check_structure(const cleave_Control *c) {
  if (c->version != CL_CONTROL_VERSION) abort();
  if (c->type < cleave_ControlType_CTL_READY || c->type > cleave_ControlType_CTL_DISCONNECT) abort();
  if (c->type != cleave_ControlType_CTL_READY) {
    if (c->capacity || c->models_count) abort();
    return;
  }
  if (c->capacity < 1 || c->capacity > CL_CONTROL_MAX_CAPACITY || c->models_count < 1) abort();
  for (pb_size_t i = 0; i < c->models_count; i++)
    if (c->models[i].size != 32) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cleave_Control c, again;
  cl_error err = {0};
  if (cl_control_decode(data, size, &c, &err) != CL_OK) {
    if (err.msg[0] == '\0' || !all_zero(&c, sizeof c)) abort();
    return 0;
  }
  check_structure(&c);
  uint8_t buf[cleave_Control_size];
  size_t len = 0;
  if (cl_control_encode(&c, buf, sizeof buf, &len, &err) != CL_OK) abort();
  if (cl_control_decode(buf, len, &again, &err) != CL_OK) abort();
  if (again.version != c.version || again.type != c.type || again.capacity != c.capacity ||
      again.heartbeat_ms != c.heartbeat_ms || again.models_count != c.models_count)
    abort();
  for (pb_size_t i = 0; i < c.models_count; i++)
    if (memcmp(again.models[i].bytes, c.models[i].bytes, 32) != 0) abort();
  return 0;
}
