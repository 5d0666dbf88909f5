/* cleave-bench: plots with gnuplot, PNG and SVG.
 *
 * Under DIR/plots/: for each model and slowdown, latency_<model>_<S>x.{png,svg}: median latency
 * against bandwidth (both log scales), one panel per RTT, one line per strategy (device-only,
 * cloud-only with the raw input, compressed-input offload, the planner's cut, the best measured cut);
 * and predicted_vs_measured.{png,svg}: every measured cut, the planner's prediction against the
 * measurement, per model, with the diagonal and +-10% lines. The data files (*.dat) and the gnuplot
 * scripts (*.gp) stay beside the images so a figure can be redrawn by hand. */
#ifndef CLEAVE_BENCH_PLOT_H
#define CLEAVE_BENCH_PLOT_H

#include "results.h"

/* Writes the data and scripts under dir/plots and runs `gnuplot` (from the PATH) on each script.
 * *made gets the number of images written (may be NULL). Errors: CL_ERR_IO (files), CL_ERR_UNSUPPORTED
 * ("gnuplot is not installed": the data and scripts are written all the same), CL_ERR_BACKEND (gnuplot
 * failed; its first error line). */
cl_status cl_plot_render(const char *dir, const cl_results *rs, int *made, cl_error *err) CL_MUST_CHECK;

#endif
