/* cleave partitioner internal: helpers shared by the profile's modules (profile.c, profile_check.c,
 * profile_pb.c, profiler.c, plan*.c). */
#ifndef CLEAVE_PARTITIONER_PROFILE_INTERNAL_H
#define CLEAVE_PARTITIONER_PROFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/profile.h"

/* A cut's codec and rel_l2 arrays (rel_l2 all NAN); 0, or -1 when out of memory (then release it). */
int cl_profile_cut_alloc(cl_profile_cut *c, int n_codecs);
/* Frees what a cut owns and zeroes it. */
void cl_profile_cut_release(cl_profile_cut *c);
/* n + 1 zeroed cuts with their arrays, or NULL; and their release. */
cl_profile_cut *cl_profile_cuts_alloc(int n_nodes, int n_codecs);
void cl_profile_cuts_free(cl_profile_cut *cuts, int n_nodes);

/* Checks the graph: ids in range, one producer per value, producers before readers. */
cl_status cl_profile_check_graph(const cl_profile *p, cl_error *err);
/* Fills cuts[0, n] (from cl_profile_cuts_alloc) from the graph and the values' measurements:
 * frontiers, raw bytes, codec sums, peak and weight bytes. Checks the graph first. */
cl_status cl_profile_derive_cuts(const cl_profile *p, cl_profile_cut *cuts, cl_error *err);

/* "1a2b3c4d..." style hex of the first bytes of a hash, NUL-terminated (buf: 2 * n + 1). */
char *cl_profile_hex(const uint8_t *h, int n, char *buf);

/* Reads a whole file of at most max bytes into a malloc'd buffer. Errors: CL_ERR_IO, CL_ERR_LIMIT,
 * CL_ERR_NOMEM, naming the file. */
cl_status cl_partfile_read(const char *path, size_t max, uint8_t **buf, size_t *len, cl_error *err);
/* Writes buf to path (through a temporary file renamed into place). Errors: CL_ERR_IO. */
cl_status cl_partfile_write(const char *path, const uint8_t *buf, size_t len, cl_error *err);

/* 1 when x is a finite time in [0, CL_PROFILE_MAX_MS]. */
static inline int cl_profile_time_ok(double x) { return x >= 0 && x <= CL_PROFILE_MAX_MS; }

#endif
