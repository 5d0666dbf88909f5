/* cleave-bench: the JSON reader, plan tables, link and quota arithmetic, the throttle calibration
 * and the camera frame (no root needed). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "camera.h"
#include "json.h"
#include "lab.h"
#include "planner.h"

/* === JSON === */

Test(json, reads_what_the_cleave_binaries_write) {
  const char *t = "{\"runs\": 5, \"median_ms\": 1.5e1, \"cut\": 3, \"codec\": \"raw\\u002bshuffle\\n\","
                  " \"ok\": true, \"none\": null, \"list\": [1, [2, {\"a\": -3.25}]]}";
  cl_json *j = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_json_parse(t, strlen(t), &j, &err), CL_OK, "%s", err.msg);
  cr_assert_float_eq(cl_json_num(j, "median_ms", 0), 15, 0);
  cr_assert_float_eq(cl_json_num(j, "ok", 0), 1, 0);
  cr_assert_float_eq(cl_json_num(j, "missing", -7), -7, 0);
  cr_assert_float_eq(cl_json_num(j, "codec", -7), -7, 0);
  cr_assert_str_eq(cl_json_str(j, "codec", ""), "raw+shuffle\n");
  const cl_json *l = cl_json_get(j, "list");
  cr_assert_float_eq(cl_json_num(cl_json_at(cl_json_at(l, 1), 1), "a", 0), -3.25, 0);
  cr_assert_null(cl_json_at(l, 2));
  cl_json_free(&j);
  cr_assert_null(j);
  cl_json_free(&j);
}

Test(json, malformed_and_hostile_text_is_refused) {
  const char *bad[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "\"abc", "{\"a\":1}x", "tru",
                       "01", "1.", "-", "\"\\x\"", "\"\\u12\"", "{\"a\":1,}", "nul", "[\"\x01\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cl_json *j = NULL;
    cl_error err = {0};
    cr_assert_neq(cl_json_parse(bad[i], strlen(bad[i]), &j, &err), CL_OK, "accepted '%s'", bad[i]);
    cr_assert_null(j);
    cr_assert_null(strchr(err.msg, '\n'));
  }
  char deep[200];
  memset(deep, '[', sizeof deep);
  cl_json *j = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_json_parse(deep, sizeof deep, &j, &err), CL_ERR_LIMIT);
  /* Not NUL-terminated: never read past len. */
  const char t[] = {'[', '1', ']', '9', '9'};
  cr_assert_eq(cl_json_parse(t, 3, &j, &err), CL_OK);
  cl_json_free(&j);
}

/* === Plans === */

Test(planner, reads_the_plan_contract) {
  const char *t = "{\"kind\": \"cleave-plan\", \"nodes\": 2, \"chosen_cut\": 1, \"chosen_codec\": \"raw\","
                  " \"predicted_ms\": 7.5, \"cuts\": ["
                  "{\"cut\": 0, \"codec\": \"raw\", \"bytes_up\": 100, \"bytes_down\": 8, \"device_ms\": 0,"
                  " \"predicted_ms\": 9, \"feasible\": true},"
                  "{\"cut\": 1, \"codec\": \"raw+shuffle\", \"bytes_up\": 50, \"bytes_down\": 8, \"device_ms\": 2,"
                  " \"predicted_ms\": 7.5, \"feasible\": true},"
                  "{\"cut\": 2, \"codec\": \"\", \"bytes_up\": 0, \"device_ms\": 8, \"predicted_ms\": 8,"
                  " \"feasible\": false}]}";
  cl_planner_table p;
  cl_error err = {0};
  cr_assert_eq(cl_planner_parse_plan(t, strlen(t), &p, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(p.nodes, 2);
  cr_assert_eq(p.chosen_cut, 1);
  cr_assert_str_eq(p.chosen_codec, "raw");
  cr_assert_float_eq(p.chosen_ms, 7.5, 0);
  cr_assert_str_eq(cl_planner_row_of(&p, 1)->codec, "raw+shuffle");
  cr_assert_float_eq(cl_planner_row_of(&p, 0)->bytes_up, 100, 0);
  cr_assert_eq(cl_planner_row_of(&p, 2)->feasible, 0);
  cr_assert_null(cl_planner_row_of(&p, 3));
  cr_assert_null(cl_planner_row_of(&p, -1));
  cl_planner_table_free(&p);
  cr_assert_null(p.rows);
}

Test(planner, plans_without_the_contract_are_refused) {
  const char *bad[] = {"{}", "{\"nodes\": 1, \"chosen_cut\": 0, \"cuts\": [{\"cut\": 0}]}",
                       "{\"nodes\": 1, \"chosen_cut\": 2, \"cuts\": [{\"cut\": 0}, {\"cut\": 1}]}",
                       "{\"nodes\": 1, \"chosen_cut\": 0, \"cuts\": [{\"cut\": 1}, {\"cut\": 0}]}",
                       "[1, 2]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cl_planner_table p;
    cl_error err = {0};
    cr_assert_neq(cl_planner_parse_plan(bad[i], strlen(bad[i]), &p, &err), CL_OK, "accepted %s", bad[i]);
    cr_assert_null(p.rows);
  }
}

/* === Link and quota arithmetic === */

Test(lab, tbf_burst_and_limit_follow_the_rate) {
  unsigned long burst, limit;
  cl_lab_tbf_params(1e6, &burst, &limit);
  cr_assert_eq(burst, 3028);                  /* two full frames at low rates */
  cr_assert_eq(limit, 4ul << 20);
  cl_lab_tbf_params(1e9, &burst, &limit);
  cr_assert_eq(burst, 125000);                /* 1 ms: above a 64 KiB GSO packet */
  cr_assert_gt(burst, 65536);
  cr_assert_eq(limit, 12500000);              /* 100 ms */
}

Test(lab, the_quota_is_one_core_over_the_slowdown) {
  long q, p;
  cl_lab_quota(1, &q, &p);
  cr_assert_eq(q, -1);
  cl_lab_quota(4, &q, &p);
  cr_assert_eq(q, 1000);
  cr_assert_eq(p, 4000);
  cl_lab_quota(10, &q, &p);
  cr_assert_float_eq((double)p / q, 10.0, 1e-9);
  cr_assert_geq(q, 1000);                     /* the kernel's minimum quota */
  cl_lab_quota(1000, &q, &p);
  cr_assert_leq(p, 1000000);                  /* the kernel's maximum period */
  cr_assert_float_eq((double)p / q, 1000.0, 1e-9);
}

Test(calib, the_factor_only_slows) {
  cr_assert_float_eq(cl_calib_factor(31.0, 8.0), 31.0 / 8, 1e-12);
  cr_assert_float_eq(cl_calib_factor(7.0, 8.0), 1.0, 0);
  cr_assert_float_eq(cl_calib_factor(NAN, 8.0), 1.0, 0);
  cr_assert_float_eq(cl_calib_factor(3.0, 0.0), 1.0, 0);
}

Test(calib, an_unreadable_profile_is_refused) {
  cl_error err = {0};
  double f = 0;
  cr_assert_neq(cl_calib_profile("/nonexistent.profile", "/tmp/never-written.profile", &f, &err), CL_OK);
  cr_assert_not_null(strstr(err.msg, "/nonexistent.profile"), "%s", err.msg);
}

/* === Camera frames === */

Test(camera, a_frame_survives_normalisation_exactly) {
  const int w = 7, h = 5;
  uint8_t rgb[7 * 5 * 3];
  for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)(i * 37 + 11);
  const char *names[] = {"imagenet-rgb", "imagenet-bgr"};
  for (int k = 0; k < 2; k++) {
    const cl_camera_preproc *pp = cl_camera_preproc_find(names[k]);
    cr_assert_not_null(pp);
    float nchw[3 * 7 * 5];
    cl_camera_normalise(rgb, w, h, pp, nchw);
    cl_tensor t = {0};
    t.dtype = CL_DTYPE_F32;
    t.rank = 4;
    t.dims[0] = 1;
    t.dims[1] = 3;
    t.dims[2] = h;
    t.dims[3] = w;
    t.data = nchw;
    uint8_t *back = NULL;
    int bw = 0, bh = 0;
    double dev = 1;
    cl_error err = {0};
    cr_assert_eq(cl_camera_frame_from_tensor(&t, pp, &back, &bw, &bh, &dev, &err), CL_OK, "%s", err.msg);
    cr_assert_eq(bw, w);
    cr_assert_eq(bh, h);
    cr_assert_lt(dev, 1e-3);
    cr_assert_eq(memcmp(back, rgb, sizeof rgb), 0, "%s: the frame changed", names[k]);
    free(back);
  }
  cr_assert_null(cl_camera_preproc_find("nope"));
  cr_assert_not_null(cl_camera_preproc_for_model("mobilenetv2"));
  cr_assert_null(cl_camera_preproc_for_model("oww_embedding"));
}
