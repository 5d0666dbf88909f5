/* cleave internal: the broker <-> worker control messages (proto/cleave.proto, Control).
 *
 * A control message is one ZeroMQ frame: an encoded cleave.Control, at most CL_CONTROL_MAX_BYTES.
 * cl_control_decode refuses a longer frame before nanopb sees a byte, decodes with the bounded
 * options (no callback, no allocation) and checks the structure: version 1, a known type, READY
 * with capacity 1..CL_CONTROL_MAX_CAPACITY and 1..8 model hashes of exactly 32 bytes, the other
 * types with neither. Thread safety: no state. */
#ifndef CLEAVE_WIRE_CONTROL_H
#define CLEAVE_WIRE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave.pb.h"
#include "cleave/status.h"

#define CL_CONTROL_VERSION 1
#define CL_CONTROL_MAX_BYTES 1024     /* a valid Control is far smaller (cleave_Control_size) */
#define CL_CONTROL_MAX_CAPACITY 4096
#define CL_CONTROL_MAX_MODELS 8

/* Zeroes c, sets the version and the type. */
void cl_control_init(cleave_Control *c, cleave_ControlType type);

/* Encodes c into buf[0, cap); cap >= cleave_Control_size suffices. Errors: CL_ERR_LIMIT. */
cl_status cl_control_encode(const cleave_Control *c, uint8_t *buf, size_t cap, size_t *len,
                            cl_error *err) CL_MUST_CHECK;

/* Decodes and checks untrusted bytes (buf only read). Errors: CL_ERR_LIMIT (too long),
 * CL_ERR_FORMAT (nanopb refused, or empty), CL_ERR_PROTOCOL (structure). *c is zeroed on error. */
cl_status cl_control_decode(const uint8_t *buf, size_t len, cleave_Control *c,
                            cl_error *err) CL_MUST_CHECK;

#endif
