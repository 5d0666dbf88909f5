/* cleave-device: --cut auto, the cut and codec of each request from a plan (fixed) or from two
 * profiles and a live link estimate with hysteresis (partitioner's adapt.h). */
#ifndef CLEAVE_DEVICE_AUTO_H
#define CLEAVE_DEVICE_AUTO_H

#include <stdio.h>

#include "cleave/codec.h"
#include "cleave/model.h"
#include "cleave/profile.h"
#include "cleave/split.h"
#include "local.h"

typedef struct dev_auto dev_auto;

/* The next request's cut and codec. */
typedef struct dev_choice {
  int cut;                                 /* n: run everything here, send nothing */
  cl_codec codec;                          /* parsed from codec_name (zero at cut n) */
  char codec_name[CL_PROFILE_CODEC_NAME_MAX];
  int probe;                               /* 1: a link probe off the current cut */
  double predicted_ms;                     /* the plan's or planner's time for it (0: unknown) */
} dev_choice;

/* Loads cfg's plan (checked against m: cl_plan_match_model) or profiles (cl_profile_match_model,
 * and against each other) and prepares the choice. Returns 0, or 1 after one line on stderr. The
 * model must outlive *out; free with dev_auto_free. */
int dev_auto_open(const dev_config *cfg, const cl_model_t *m, dev_auto **out);
void dev_auto_free(dev_auto **a);

/* The next request's choice. Returns 0, or 1 after one line on stderr. */
int dev_auto_next(dev_auto *a, dev_choice *c);

/* What a split request at `cut` measured (feeds the link estimate). */
void dev_auto_observe(dev_auto *a, int cut, const cl_split_result *res);

/* Writes the policy's part of --stats, starting with ", ": "policy", "link_prior", "link" (the
 * final estimate and its sample counts), "cut_switches", "probes". */
void dev_auto_json(const dev_auto *a, FILE *f);

/* One line for the terminal: "auto (profiles): 3 switches, 2 probes, link 940 Mbit/s, RTT 0.08 ms". */
void dev_auto_print(const dev_auto *a);

#endif
