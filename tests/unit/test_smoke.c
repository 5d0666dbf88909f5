/* cleave tests: the harness itself and basic graph helpers. */
#include <criterion/criterion.h>

#include "op_harness.h"

Test(graph, broadcast_shapes) {
  int64_t a[] = {2, 1, 4}, b[] = {3, 1}, out[CL_MAX_RANK];
  int r;
  cl_error err = {0};
  cr_assert_eq(cl_shape_broadcast(3, a, 2, b, &r, out, &err), CL_OK);
  cr_assert_eq(r, 3);
  cr_assert(out[0] == 2 && out[1] == 3 && out[2] == 4);
  int64_t c[] = {2, 5};
  cr_assert_eq(cl_shape_broadcast(3, a, 2, c, &r, out, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "do not broadcast") != NULL, "%s", err.msg);
}

Test(graph, first_error_wins) {
  cl_error err = {0};
  cl_error_set(&err, CL_ERR_FORMAT, "first %d", 1);
  cl_error_set(&err, CL_ERR_IO, "second");
  cr_assert_eq(err.status, CL_ERR_FORMAT);
  cr_assert_str_eq(err.msg, "first 1");
}

Test(graph, channels_last_axes) {
  cl_value v = {.rank = 4, .dims = {1, 3, 5, 7}, .layout = CL_LAYOUT_CHANNELS_LAST};
  int64_t phys[4];
  cl_value_phys_dims(&v, phys);
  cr_assert(phys[0] == 1 && phys[1] == 5 && phys[2] == 7 && phys[3] == 3);
  cr_assert_eq(cl_value_phys_axis(&v, 1), 3);
  cr_assert_eq(cl_value_logical_axis(&v, 3), 1);
  cl_value c = {.rank = 3, .dims = {3, 1, 1}, .layout = CL_LAYOUT_PLAIN};
  cl_view view;
  cl_view_broadcast(&c, &v, &view);
  /* walking out's storage [N,H,W,C]: c varies only along C with stride 1 */
  cr_assert(view.strides[0] == 0 && view.strides[1] == 0 && view.strides[2] == 0 && view.strides[3] == 1);
}
