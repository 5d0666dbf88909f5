/* cleave: a split server as a worker of cleave-cloud (broker mode, the Paranoid Pirate worker of the
 * ZeroMQ guide). The front socket is a DEALER connected to the broker instead of a bound ROUTER:
 * device messages arrive as [device id, header, payload] exactly as a ROUTER would give them, and
 * answers leave the same way, so the workers and the session table do not change. What this file
 * adds: READY (capacity and models) on every connection, heartbeats both ways, and a new connection
 * when the broker is silent for 3 intervals or says DISCONNECT. Sessions stay: they are bound to the
 * device's routing id, which the broker passes on. */
#include <stdio.h>
#include <string.h>

#include "wire/control.h"
#include "wire/split_internal.h"
#include "wire/transport.h"

#define BROKER_LIVENESS 3       /* silent intervals before the broker is taken for gone */

static int heartbeat_ms(const struct cl_split_server *s) {
  return s->o.heartbeat_ms > 0 ? s->o.heartbeat_ms : 1000;
}

static void send_control(struct cl_split_server *s, cleave_ControlType type) {
  cleave_Control c;
  uint8_t buf[cleave_Control_size];
  size_t len = 0;
  cl_control_init(&c, type);
  if (type == cleave_ControlType_CTL_READY) {
    c.capacity = (uint32_t)s->o.workers;
    c.heartbeat_ms = (uint32_t)heartbeat_ms(s);
    c.models_count = (pb_size_t)s->n_models;
    for (int i = 0; i < s->n_models; i++) {
      c.models[i].size = CL_FRAME_HASH_BYTES;
      memcpy(c.models[i].bytes, cl_model_hash(s->models[i].m), CL_FRAME_HASH_BYTES);
    }
  }
  if (cl_control_encode(&c, buf, sizeof buf, &len, NULL) != CL_OK) return;
  const void *bufs[1] = {buf};
  if (cl_transport_send(s->front, bufs, &len, 1, ZMQ_DONTWAIT, NULL) != CL_OK)
    cl_srv_log(s, "broker: cannot send a control message (queue full)");
}

cl_status cl_srv_broker_connect(struct cl_split_server *s, cl_error *err) {
  if (s->front) zmq_close(s->front);
  s->front = zmq_socket(s->ctx, ZMQ_DEALER);
  if (!s->front) return cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  cl_transport_limits fl = {s->o.queue, s->max_msg, 500, 0};
  cl_status st = cl_transport_limit(s->front, &fl, err);
  if (st != CL_OK) return st;
  if (zmq_connect(s->front, s->o.broker) != 0)
    return cl_error_set(err, CL_ERR_ARG, "cannot connect to the broker '%s': %s", s->o.broker,
                        zmq_strerror(zmq_errno()));
  snprintf(s->endpoint, sizeof s->endpoint, "%s", s->o.broker);
  int64_t now = cl_transport_now_ms();
  s->broker_heard_ms = now;
  s->broker_beat_ms = now + heartbeat_ms(s);
  s->broker_connects++;
  send_control(s, cleave_ControlType_CTL_READY);
  return CL_OK;
}

void cl_srv_broker_tick(struct cl_split_server *s, int reading, int64_t now_ms) {
  int hb = heartbeat_ms(s);
  if (!reading) s->broker_heard_ms = now_ms;   /* not reading: silence proves nothing */
  if (now_ms - s->broker_heard_ms > (int64_t)BROKER_LIVENESS * hb) {
    cl_error err = {0};
    cl_srv_log(s, "broker at %s silent for %d ms: connecting again", s->o.broker,
               BROKER_LIVENESS * hb);
    if (cl_srv_broker_connect(s, &err) != CL_OK) cl_srv_log(s, "broker: %s", err.msg);
    return;
  }
  if (now_ms >= s->broker_beat_ms) {
    send_control(s, cleave_ControlType_CTL_HEARTBEAT);
    s->broker_beat_ms = now_ms + hb;
  }
}

void cl_srv_broker_control(struct cl_split_server *s, zmq_msg_t *frame) {
  cleave_Control c;
  cl_error err = {0};
  s->broker_heard_ms = cl_transport_now_ms();
  if (cl_control_decode(zmq_msg_data(frame), zmq_msg_size(frame), &c, &err) != CL_OK) {
    cl_srv_log(s, "broker: refused a control message: %s", err.msg);
    return;
  }
  if (c.type != cleave_ControlType_CTL_DISCONNECT) return;   /* a heartbeat: heard is enough */
  cl_srv_log(s, "broker at %s does not know this worker: connecting again", s->o.broker);
  if (cl_srv_broker_connect(s, &err) != CL_OK) cl_srv_log(s, "broker: %s", err.msg);
}

void cl_srv_broker_bye(struct cl_split_server *s) {
  if (s->front) send_control(s, cleave_ControlType_CTL_DISCONNECT);
}
