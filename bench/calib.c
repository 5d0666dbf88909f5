/* cleave-bench: the throttle calibration of a device profile (calib.h). */
#include "calib.h"

#include <math.h>

#include "cleave/profile.h"

double cl_calib_factor(double run_median_ms, double node_sum_ms) {
  if (!isfinite(run_median_ms) || !isfinite(node_sum_ms) || node_sum_ms <= 0 || run_median_ms <= node_sum_ms)
    return 1.0;
  return run_median_ms / node_sum_ms;
}

cl_status cl_calib_profile(const char *in, const char *out, double *f_out, cl_error *err) {
  cl_profile *p = NULL;
  cl_status st = cl_profile_load(in, &p, err);
  if (st != CL_OK) return st;
  double f = cl_calib_factor(p->run_median_ms, cl_profile_compute_ms(p, 0, p->n_nodes));
  for (int i = 0; i < p->n_nodes; i++) {
    p->nodes[i].median_ms *= f;
    p->nodes[i].p90_ms *= f;
  }
  st = cl_profile_save(p, out, err);
  cl_profile_free(&p);
  if (f_out) *f_out = f;
  return st;
}
