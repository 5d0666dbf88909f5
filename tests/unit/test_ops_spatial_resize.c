/* cleave tests: Resize and Upsample (ops_resize.c).
 *
 * Expected values come from outside cleave: the ONNX conformance data (libonnx-testdata 1.12) and
 * ONNX Runtime 1.30 on the same inputs (Resize-10's values are also those of ONNX's own 2019 test
 * data). Every case runs with PLAIN and CHANNELS_LAST storage, 1 and 2 threads, and so covers both
 * XNNPACK's bilinear operator and the plain kernels. */
#include "spatial_cases.h"

/* === Expected values (ONNX data / ONNX Runtime, see the file comment) === */

/* clang-format off */

/* test_resize_upsample_sizes_nearest: x [1, 1, 2, 2] = arange1 */
static const float want_up_sizes_nearest[56] = {
    1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2,
    3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4,
};
/* test_resize_upsample_sizes_nearest_ceil_half_pixel: x [1, 1, 4, 4] = arange1 */
static const float want_ceil_half_pixel[64] = {
    1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12,
    12, 12, 9, 10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16,
    16, 16, 13, 14, 14, 15, 15, 16, 16, 16,
};
/* test_resize_upsample_sizes_nearest_floor_align_corners: x [1, 1, 4, 4] = arange1 */
static const float want_floor_align_corners[64] = {
    1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 6, 6, 7, 7, 8,
    5, 5, 5, 6, 6, 7, 7, 8, 9, 9, 9, 10, 10, 11, 11, 12, 9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13,
    14, 14, 15, 15, 16,
};
/* test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric: x [1, 1, 4, 4] = arange1 */
static const float want_prefer_ceil_asymmetric[64] = {
    1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12,
    12, 12, 9, 10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16,
    16, 16, 13, 14, 14, 15, 15, 16, 16, 16,
};
/* test_resize_upsample_scales_linear: x [1, 1, 2, 2] = arange1 */
static const float want_up_linear[16] = {
    1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4,
};
/* test_resize_upsample_scales_linear_align_corners: x [1, 1, 2, 2] = arange1 */
static const float want_up_linear_align[16] = {
    1, 1.33333337, 1.66666663, 2, 1.66666663, 2, 2.33333325, 2.66666675, 2.33333325, 2.66666675, 3,
    3.33333325, 3, 3.33333325, 3.66666675, 4,
};
/* test_resize_upsample_scales_nearest: x [1, 1, 2, 2] = arange1 */
static const float want_up_scales_nearest[24] = {
    1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4,
};
static const float want_lin_sizes[378] = {
    -1.5, -0.916666627, 0.0555556715, 1.02777791, 2, 0.333333254, -0.805555463, 0.166667223, 0.75,
    -1.76785719, -1.1845237, -0.212301493, 0.759920835, 1.73214293, 0.0654760897, -1.07341266,
    -0.101189926, 0.482142866, -2.19642878, -1.61309516, -0.640872955, 0.331349313, 1.30357146,
    -0.363095403, -1.50198412, -0.529761374, 0.053571403, -0.25, -0.458333313, -0.805555582,
    -0.0972220302, 0.875, 0.527777731, 0.180555522, -0.166666865, -0.375, 1.69642854, 0.696428418,
    -0.970238268, -0.525793433, 0.446428597, 1.41865098, 1.86309528, 0.196427643, -0.803571403,
    1.26785719, 0.267857045, -1.39880967, -0.954364836, 0.0178571939, 0.990079522, 1.43452358,
    -0.23214373, -1.23214281, 1, -1.1920929e-07, -1.66666687, -1.22222209, -0.25, 0.722222269,
    1.16666651, -0.500000954, -1.5, 0.25, 0.833333373, 1.8055557, 0.666666389, -1, -0.0277777314,
    0.416666508, -1.25000095, -2.25, -0.0178571492, 0.565476239, 1.53769839, 0.398809254,
    -1.26785707, -0.295634896, 0.337301522, -0.386905193, -0.821428537, -0.446428597, 0.136904806,
    1.10912704, -0.0297622085, -1.69642854, -0.724206328, 0.210317522, 0.994048119, 1.46428585,
    -0.875, -0.291666597, 0.680555582, 0.597222209, 0.25, -0.0972222388, -0.180555463, 0.791667223,
    1.375, -1.30357146, -0.72023797, 0.251984268, 1.22420657, 2.19642878, 0.52976191, -0.609126866,
    0.36309585, 0.946428537, -1.73214281, -1.14880943, -0.176587135, 0.795635223, 1.76785719,
    0.101190448, -1.03769815, -0.0654755831, 0.517857194, -2, -1.41666663, -0.444444299, 0.52777791,
    1.5, -0.166666746, -1.30555558, -0.333332777, 0.25, 2, 0.999999881, -0.666666865, -0.22222206,
    0.75, -0.916666687, -2.05555534, -1.08333278, -0.5, 1.73214293, 0.732142746, -0.934524,
    -0.490079224, 0.482142866, -0.242063463, -0.81547612, -0.785714269, -0.767857194, 1.30357146,
    0.303571284, -1.3630954, -0.918650687, 0.053571403, 0.837301731, 1.16865075, -0.309524626,
    -1.19642866, 0.875, 0.666666627, 0.319444418, -0.0277778655, -0.375, 0.597222269, 1.04166651,
    -0.625000954, -1.625, 0.446428597, 1.02976203, 2.00198412, 0.863094985, -0.803571403,
    0.168650866, 0.650793552, -0.827381909, -1.71428585, 0.0178571939, 0.601190567, 1.57341278,
    0.434523553, -1.23214281, -0.259920537, 0.523809552, 0.553571224, 0.571428299, -0.25,
    0.333333403, 1.3055557, 0.166666389, -1.5, -0.527777791, 0.444444537, 1.41666722, 2, -1,
    -0.416666597, 0.555555701, -0.583333611, -2.25, -1.27777767, -0.305555463, 0.666667223, 1.25,
    -1.26785707, -0.684523702, 0.287698507, -0.0972222984, -0.821428537, -0.791666627, -0.573412597,
    0.398810118, 0.982142866, -1.69642854, -1.11309516, -0.140872926, 0.680555701, 1.46428585,
    -0.0138888955, -1.00198412, -0.029761374, 0.553571403, 0.25, 0.041666612, -0.305555612,
    0.40277791, 1.375, -0.291666746, -1.43055534, -0.458332777, 0.125, 2.19642878, 1.19642842,
    -0.470238209, -0.025793476, 0.946428597, -0.531746268, -1.5575397, -0.773809075, -0.303571403,
    1.76785719, 0.767857075, -0.898809612, -0.454364836, 0.517857194, 0.547618926, 0.426586986,
    -0.297619522, -0.732142806, 1.5, 0.499999851, -1.16666698, -0.72222209, 0.25, 1.22222233,
    1.66666651, -9.53674316e-07, -1, 0.75, -0.250000149, -1.91666698, -1.47222209, -0.5,
    0.472222269, 0.916666508, -0.750000954, -1.75, 0.482142866, 0.0476190001, -0.676587403,
    -0.797619104, -0.767857194, 0.204365134, 0.837301493, 0.113094866, -0.321428537, 0.053571403,
    0.523809612, 1.30753982, 0.281745851, -1.19642866, -0.224206328, 0.710317552, 1.49404824,
    1.96428585, -0.375, 0.208333388, 1.1805557, 0.0416663885, -1.625, -0.652777672, 0.319444537,
    1.29166722, 1.875, -0.803571403, -0.220237985, 0.751984239, -0.236111388, -1.71428585,
    -0.930555582, -0.109126873, 0.86309582, 1.44642866, -1.23214281, -0.648809373, 0.323412865,
    0.541666627, 0.571428299, -0.15277791, -0.537698269, 0.434524417, 1.01785719, -1.5,
    -0.916666567, 0.0555556715, 1.02777791, 2, 0.333333254, -0.805555463, 0.166667223, 0.75, -2.25,
    -1.66666651, -0.694444299, 0.27777797, 1.25, -0.416666746, -1.55555546, -0.583332777, 0,
    -0.821428537, -0.803571463, -0.773809493, 0.00992078334, 0.982142806, 0.257936507, -0.315476179,
    -0.285714269, -0.267857134, 1.46428585, 0.577380896, -0.90079385, -0.418650687, 0.553571403,
    1.33730173, 1.66865087, 0.190475345, -0.696428597, 1.375, 0.374999881, -1.29166687, -0.84722209,
    0.125, 1.09722233, 1.54166651, -0.125000954, -1.125, 0.946428597, 0.0595236644, -1.41865098,
    -1.08730161, -0.303571403, 0.668650866, 1.11309505, -0.553572416, -1.55357134, 0.517857194,
    0.535714209, 0.565475941, -0.00793680549, -0.732142806, 0.240079463, 0.684523702, -0.98214376,
    -1.98214269, 0.25, 0.833333373, 1.8055557, 0.666666389, -1, -0.0277777314, 0.416666508,
    -1.25000095, -2.25,
};
static const float want_lin_asym[360] = {
    -1.5, -0.625, 0.25, 1.125, 2, 0.5, -1, -0.125, 0.75, 0.75, -2, -1.125, -0.25, 0.625, 1.5, 0,
    -1.5, -0.62500006, 0.249999985, 0.249999985, -0.916666508, -0.833333313, -0.75, 0.124999955,
    0.99999994, 0.291666716, -0.416666508, -0.333333254, -0.25000003, -0.25000003, 1.75, 0.25,
    -1.25, -0.375, 0.5, 1.375, 2.25, 0.75, -0.75, -0.75, 1.25, -0.25000006, -1.75, -0.875000119,
    -5.96046448e-08, 0.87499994, 1.75, 0.24999994, -1.25, -1.25, 1, -0.5, -2, -1.125, -0.25, 0.625,
    1.5, 0, -1.5, -1.5, 0.25, 1.125, 2, 0.5, -1, -0.125, 0.75, -0.75, -2.25, -2.25, -0.25, 0.625,
    1.5, 0, -1.5, -0.62500006, 0.249999985, 0.333333403, 0.416666806, 0.416666806, -0.75,
    0.124999955, 0.99999994, 0.291666716, -0.416666508, -0.333333254, -0.25000003, 0.625, 1.5, 1.5,
    -1.25, -0.375, 0.5, 1.375, 2.25, 0.75, -0.75, 0.125, 1, 1, -1.75, -0.875000119, -5.96046448e-08,
    0.87499994, 1.75, 0.24999994, -1.25, -0.37500006, 0.49999994, 0.49999994, -2, -1.125, -0.25,
    0.625, 1.5, 0, -1.5, -0.625, 0.25, 0.25, 2, 0.5, -1, -0.125, 0.75, -0.75, -2.25, -1.375, -0.5,
    -0.5, 1.5, 0, -1.5, -0.62500006, 0.249999985, 0.333333403, 0.416666806, -0.291666627, -1, -1,
    0.99999994, 0.291666716, -0.416666508, -0.333333254, -0.25000003, 0.625, 1.5, 0, -1.5, -1.5,
    0.5, 1.375, 2.25, 0.75, -0.75, 0.125, 1, -0.5, -2, -2, -5.96046448e-08, 0.87499994, 1.75,
    0.24999994, -1.25, -0.37500006, 0.49999994, 0.583333492, 0.666666985, 0.666666985, -0.25, 0.625,
    1.5, 0, -1.5, -0.625, 0.25, 1.125, 2, 2, -1, -0.125, 0.75, -0.75, -2.25, -1.375, -0.5, 0.375,
    1.25, 1.25, -1.5, -0.62500006, 0.249999985, 0.333333403, 0.416666806, -0.291666627, -1,
    -0.125000015, 0.75, 0.75, -0.416666508, -0.333333254, -0.25000003, 0.625, 1.5, 0, -1.5,
    -0.62500006, 0.249999955, 0.249999955, 2.25, 0.75, -0.75, 0.125, 1, -0.5, -2, -1.125, -0.25,
    -0.25, 1.75, 0.24999994, -1.25, -0.37500006, 0.49999994, 0.583333492, 0.666666985,
    -0.0416665375, -0.75000006, -0.75000006, 1.5, 0, -1.5, -0.625, 0.25, 1.125, 2, 0.5, -1, -1,
    0.75, -0.75, -2.25, -1.375, -0.5, 0.375, 1.25, -0.25, -1.75, -1.75, 0.249999985, 0.333333403,
    0.416666806, -0.291666627, -1, -0.125000015, 0.75, 0.833333313, 0.916666687, 0.916666687,
    -0.25000003, 0.625, 1.5, 0, -1.5, -0.62500006, 0.24999997, 1.125, 1.99999988, 1.99999988, -0.75,
    0.125, 1, -0.5, -2, -1.125, -0.25, 0.625, 1.5, 1.5, -1.25, -0.37500006, 0.49999994, 0.583333492,
    0.666666985, -0.0416665375, -0.75000006, 0.12499994, 0.999999881, 0.999999881, -1.5, -0.625,
    0.25, 1.125, 2, 0.5, -1, -0.125, 0.75, 0.75, -2.25, -1.375, -0.5, 0.375, 1.25, -0.25, -1.75,
    -0.875, 0, 0, 0.416666806, -0.291666627, -1, -0.125000015, 0.75, 0.833333313, 0.916666687,
    0.208333343, -0.5, -0.5, 1.5, 0, -1.5, -0.62500006, 0.24999997, 1.125, 2, 0.49999997, -1, -1, 1,
    -0.5, -2, -1.125, -0.25, 0.625, 1.5, 0, -1.5, -1.5, 0.49999994, 0.583333492, 0.666666985,
    -0.0416665375, -0.75000006, 0.12499994, 0.99999994, -0.500000119, -2, -2, 0.25, 1.125, 2, 0.5,
    -1, -0.125, 0.75, -0.75, -2.25, -2.25,
};
static const float want_lin_odd[96] = {
    -1.75, -1.08088243, -0.0514706224, 0.977941275, 1.30882382, -0.455882311, -0.683823824,
    0.345588088, 1.75, 0.602941334, -1.16176462, -0.272058725, 0.757352769, 1.78676474, 1.27941227,
    -0.485293865, 1.49011612e-08, 0.66911757, 1.69852948, 0.0735293031, -0.992647231, 0.0367646813,
    0.0416668653, -0.791666567, -1.25, -0.58088243, 0.448529363, 1.47794127, 1.80882382,
    0.0441176891, -0.183823824, 0.845588088, 1.75, 0.602941275, -1.16176462, -0.272058725,
    0.291666806, -0.541666627, -0.862745106, -0.764705896, 0.5, 1.16911757, 2.19852948, 0.573529243,
    -0.492647231, 0.536764681, 0.0294122696, -1.73529387, -1.25, -0.58088243, 0.448529392,
    -0.291666776, -0.892156899, -0.794117689, -0.183823794, 0.845588088, 2.25, 1.10294127,
    -0.661764622, 0.227941275, 0.558823824, -1.20588231, -1.43382382, -0.404411912, 0.5,
    -0.0416666269, -0.875000119, -0.823529482, -0.492647171, 0.536764681, 0.541666865, -0.291666687,
    -0.75, -0.0808824301, 0.948529363, -0.676470757, -1.74264717, -0.713235319, 0.316176176,
    1.34558809, -0.916666687, -0.852941155, -0.754902005, 0.227941275, 0.791666806, -0.0416666865,
    -0.362745166, -0.264705896, 1, -0.147058666, -1.91176462, -1.02205873, 0.00735276937,
    1.03676462, 0.52941227, -1.23529387,
};
static const float want_lin_align[144] = {
    -1.5, -0.49999994, 0.500000119, 1.5, 1.14285684, -0.571428776, -0.24999994, 0.75, -0.25,
    -0.607142925, -0.624999881, 0.37500006, 0.696428537, 0.339285672, -0.0178571939, -0.375, 1,
    -0.714285791, -1.74999988, -0.75, 0.250000179, 1.25000012, 0.214285612, -1.5, 0.25, 1.25,
    1.57142842, -0.142857194, -0.499999821, 0.500000119, -0.535714388, -2.25, -0.875, 0.125000015,
    0.785714209, 0.428571433, 0.0714285672, -0.285714328, 0.37500006, 1.375, -2, -0.99999994,
    8.94069672e-08, 1, 0.642856836, -1.07142878, -0.749999881, 0.25, 2, 0.285714209, -0.749999881,
    0.25, -0.107143164, -1.82142878, -1.49999988, -0.5, 0.875, 0.517857194, 0.160714284,
    -0.196428582, 0.125000179, 1.12500012, 0.0892856121, -1.625, -0.25, 0.75000006, 1.0714283,
    -0.642857134, -0.999999881, 1.1920929e-07, 1, 2, -1, 5.96046448e-08, 0.321428388, -1.39285719,
    -1.74999988, -0.749999881, 0.25000006, 1.25, 0.25, -0.107142866, -0.124999896, 0.875,
    0.517856836, -1.19642878, -0.875, 0.125, 1.5, -0.214285851, -1.24999988, -0.249999955,
    0.750000179, 1.75000012, 0.714285612, -1, 0.75, -0.964285851, -2, -0.99999994, 1.78813934e-07,
    1.00000012, -0.0357143879, -1.75, -0.375, 0.625, 0.946428418, -0.767857194, -1.12499976,
    -0.124999881, 0.87500006, 1.875, -1.5, -0.49999997, 0.500000119, 1.5, 1.14285684, -0.571428776,
    -0.24999994, 0.75, -2.25, -1.25, -0.249999911, 0.75000006, 0.392856836, -1.32142878,
    -0.99999994, 0, 1.375, -0.339285791, -1.375, -0.375, 0.625000238, 1.625, 0.589285553, -1.125,
    0.25, 1.25, 1.57142854, -0.142857194, -0.499999791, 0.500000119, -0.535714388, -2.25,
};
static const float want_lin_pytorch[42] = {
    -1.5, -0.50000006, 0.75, 2, -0.142857552, -0.24999994, 0.75, 0.25, 1.25, 1.14285719, -1,
    0.250000238, -0.535714388, -2.25, 2, 0.285714388, -0.5, 0.75, -1.39285755, -1.49999988, -0.5,
    -1, -5.96046448e-08, -0.107142806, -2.25, -0.999999762, 0.25000006, 1.25, 0.75, -0.964285553,
    -1.75, -0.5, 0.750000238, -0.0357143879, -1.75, -2.25, -1.25, -2.98023224e-08, 1.25,
    -0.892857552, -0.99999994, 0,
};
static const float want_near_x2[72] = {
    0, 0, -0.5, -0.5, 0.75, 0.75, 0, 0, -0.5, -0.5, 0.75, 0.75, 0.25, 0.25, -0.25, -0.25, -0.75,
    -0.75, 0.25, 0.25, -0.25, -0.25, -0.75, -0.75, 0.5, 0.5, 0, 0, -0.5, -0.5, 0.5, 0.5, 0, 0, -0.5,
    -0.5, 0.75, 0.75, 0.25, 0.25, -0.25, -0.25, 0.75, 0.75, 0.25, 0.25, -0.25, -0.25, -0.75, -0.75,
    0.5, 0.5, 0, 0, -0.75, -0.75, 0.5, 0.5, 0, 0, -0.5, -0.5, 0.75, 0.75, 0.25, 0.25, -0.5, -0.5,
    0.75, 0.75, 0.25, 0.25,
};
static const float want_near_down[150] = {
    -0.75, -0.5, 1.25, -0.75, -0.5, 1.25, -0.25, 0, -1.5, 0.25, 0.5, -1, 0.25, 0.5, -1, 0.75, 1,
    -0.5, 0.75, 1, -0.5, 1.25, 1.5, 0, -1.5, -1.25, 0.5, -1.5, -1.25, 0.5, -1, -0.75, 1, -1, -0.75,
    1, -0.5, -0.25, 1.5, 0, 0.25, -1.25, 0, 0.25, -1.25, 0.5, 0.75, -0.75, 0.5, 0.75, -0.75, 1,
    1.25, -0.25, 1.5, -1.5, 0.25, 1.5, -1.5, 0.25, -1.25, -1, 0.75, -1.25, -1, 0.75, -0.75, -0.5,
    1.25, -0.25, 0, -1.5, -0.25, 0, -1.5, 0.25, 0.5, -1, 0.25, 0.5, -1, 0.75, 1, -0.5, 1.25, 1.5, 0,
    1.25, 1.5, 0, -1.5, -1.25, 0.5, -1.5, -1.25, 0.5, -1, -0.75, 1, -0.5, -0.25, 1.5, -0.5, -0.25,
    1.5, 0, 0.25, -1.25, 0, 0.25, -1.25, 0.5, 0.75, -0.75, 1, 1.25, -0.25, 1, 1.25, -0.25, 1.5,
    -1.5, 0.25, 1.5, -1.5, 0.25, -1.25, -1, 0.75, -0.75, -0.5, 1.25, -0.75, -0.5, 1.25, -0.25, 0,
    -1.5, -0.25, 0, -1.5, 0.25, 0.5, -1, 0.75, 1, -0.5, 0.75, 1, -0.5,
};
static const float want_near_channels[24] = {
    0, 0, 0.75, -0.25, -0.25, 0.5, 0, 0, 0.75, -0.25, -0.25, 0.5, -0.5, -0.5, 0.25, -0.75, -0.75, 0,
    -0.5, -0.5, 0.25, -0.75, -0.75, 0,
};
static const float want_near_rank2[12] = {
    -0.5, -0.75, -0.5, -0.75, -1, -1.25, -1, -1.25, 1.25, 1, 1.25, 1,
};
static const float want_lin_rank2[15] = {
    -0.291666627, 0, 0.291666567, -0.491666645, -0.200000018, 0.0916665345, -0.791666627, -0.5,
    -0.208333433, 0.28333357, 0.0250001252, -0.233333305, 0.99999994, 0.375, -0.249999881,
};
/* opset 18, axes [2,3], sizes [3,2], not_larger: shape [1, 1, 2, 2] */
static const float want_axes_not_larger[4] = {
    3.5, 5.5, 11.5, 13.5,
};
/* opset 18, axes [3,2], sizes [3,2], not_smaller: shape [1, 1, 3, 3] */
static const float want_axes_not_smaller[9] = {
    1, 2, 4, 5, 6, 8, 13, 14, 16,
};
static const float want_upsample7_linear[16] = {
    1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4,
};
static const float want_upsample9_nearest[24] = {
    1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4,
};
/* Resize-10 nearest: [1.0, 3.0] */
/* Resize-10 linear: [1.0, 2.6666665077209473] */
static const float want_resize10_down[6] = {
    -0.5, 0.25, -0.75, 1, -1, 0.75,
};

/* From the ONNX reference implementation (onnx/reference/ops/op_resize.py, 2026); ONNX Runtime
 * agrees on the first and differs on the second (it uses the integer output length for
 * align_corners where the reference uses scale * input length). */
static const float want_tf_nn_ceil[30] = {
    0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
};
static const float want_align_scales[21] = {
    -0.5, 0.786764741, 0.779411674, 0.044117555, -0.691176593, 0.433823794, 0.58823508, 1.24999976,
    0.514705837, -0.220588237, -0.389705718, 0.897058785, 0.323529214, -0.41176483, 0.250000119,
    -0.485294044, 0.0735293329, 0.794117153, 0.0588234849, -0.676470637, -0.279411316,
};
/* clang-format on */

/* === Helpers === */

/* 1, 2, ..., n (the ONNX tests' inputs). */
static float *iota1(size_t n) {
  static float buf[64];
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i + 1);
  return buf;
}

/* Resize(x, roi omitted, scales, sizes) with constant scales (nsc > 0) or sizes (nsz > 0). */
static int rs(cl_graph *g, int rank, const int64_t *dims, const float *data, int nsc,
              const float *sc, int nsz, const int64_t *sz) {
  int x = h_value(g, "x", CL_DTYPE_F32, rank, dims, data);
  int s = nsc > 0 ? h_const(g, "scales", CL_DTYPE_F32, 1, (int64_t[]){nsc}, sc) : -1;
  int z = nsz > 0 ? h_const(g, "sizes", CL_DTYPE_I64, 1, (int64_t[]){nsz}, sz) : -1;
  return h_node(g, "Resize", (int[]){x, -1, s, z}, z >= 0 ? 4 : 3, (int[]){out_value(g)}, 1);
}

static int mode(cl_graph *g, int n, const char *m, const char *coord, const char *nearest) {
  if (m) h_attr_string(g, n, "mode", m);
  if (coord) h_attr_string(g, n, "coordinate_transformation_mode", coord);
  if (nearest) h_attr_string(g, n, "nearest_mode", nearest);
  return n;
}

#define F4(a, b, c, d) ((float[]){a, b, c, d})

/* === Nearest === */

static int b_up_sizes_nearest(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 2), iota1(4), 0, NULL, 4, D4(1, 1, 7, 8));
}
static int b_ceil_half_pixel(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 1, 4, 4), iota1(16), 0, NULL, 4, D4(1, 1, 8, 8)), "nearest",
              "half_pixel", "ceil");
}
static int b_floor_align(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 1, 4, 4), iota1(16), 0, NULL, 4, D4(1, 1, 8, 8)), "nearest",
              "align_corners", "floor");
}
static int b_prefer_ceil_asym(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 1, 4, 4), iota1(16), 0, NULL, 4, D4(1, 1, 8, 8)), "nearest",
              "asymmetric", "round_prefer_ceil");
}
static int b_up_scales_nearest(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 2), iota1(4), 4, F4(1, 1, 2, 3), 0, NULL);
}
static int b_down_scales_nearest(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 4), iota1(8), 4, F4(1, 1, 0.6f, 0.6f), 0, NULL);
}
static int b_down_sizes_nearest(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 4), iota1(8), 0, NULL, 4, D4(1, 1, 1, 3));
}
/* Opset 11 with empty roi and scales constants, as ONNX's test has them. */
static int b_tf_half_pixel(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 4, 4), iota1(16));
  int roi = h_const(g, "roi", CL_DTYPE_F32, 1, D1(0), NULL);
  int sc = h_const(g, "scales", CL_DTYPE_F32, 1, D1(0), NULL);
  int sz = h_const(g, "sizes", CL_DTYPE_I64, 1, D1(4), D4(1, 1, 3, 2));
  int n = h_node(g, "Resize", (int[]){x, roi, sc, sz}, 4, (int[]){out_value(g)}, 1);
  return mode(g, n, "nearest", "tf_half_pixel_for_nn", NULL);
}
Test(resize, onnx_nearest_cases) {
  static const float down_scales[] = {1, 3}, down_sizes[] = {1, 2, 4},
                     tf[] = {6, 8, 10, 12, 14, 16};
  expect_all(13, b_up_sizes_nearest, want_up_sizes_nearest, 56, 0);
  expect_all(13, b_ceil_half_pixel, want_ceil_half_pixel, 64, 0);
  expect_all(13, b_floor_align, want_floor_align_corners, 64, 0);
  expect_all(13, b_prefer_ceil_asym, want_prefer_ceil_asymmetric, 64, 0);
  expect_all(13, b_up_scales_nearest, want_up_scales_nearest, 24, 0);
  expect_all(13, b_down_scales_nearest, down_scales, 2, 0);
  expect_all(13, b_down_sizes_nearest, down_sizes, 3, 0);
  expect_all(11, b_tf_half_pixel, tf, 6, 0);
}

static int b_near_x2(cl_graph *g) { /* PaddleOCR's FPN upsampling */
  return rs(g, 4, D4(1, 3, 2, 3), filled(18, 5, 7), 4, F4(1, 1, 2, 2), 0, NULL);
}
static int b_near_down(cl_graph *g) {
  int n = rs(g, 4, D4(2, 5, 3, 4), filled(120, 7, 13), 0, NULL, 4, D4(2, 5, 5, 3));
  return mode(g, n, "nearest", NULL, "round_prefer_ceil");
}
static int b_near_channels(cl_graph *g) { /* the channel axis changes too */
  return rs(g, 4, D4(1, 2, 2, 2), filled(8, 3, 7), 4, F4(1, 2, 1, 1.5f), 0, NULL);
}
static int b_near_rank2(cl_graph *g) {
  int n = rs(g, 2, (int64_t[]){3, 4}, filled(12, 5, 11), 2, (float[]){2, 0.5f}, 0, NULL);
  return mode(g, n, "nearest", "asymmetric", NULL);
}
Test(resize, nearest_multichannel_and_any_axis) {
  expect_all(13, b_near_x2, want_near_x2, 72, 0);
  expect_all(13, b_near_down, want_near_down, 150, 0);
  expect_all(13, b_near_channels, want_near_channels, 24, 0);
  expect_all(13, b_near_rank2, want_near_rank2, 12, 0);
}

/* A larger integer-factor upsampling: every output pixel is its source pixel. */
Test(resize, nearest_x4_large) {
  for (int lay = 0; lay < 2; lay++)
    for (int threads = 1; threads <= 2; threads++) {
      cl_graph *g = h_graph(13);
      int n = rs(g, 4, D4(1, 24, 10, 12), filled(2880, 7, 31), 4, F4(1, 1, 4, 4), 0, NULL);
      cl_error err = {0};
      cr_assert_eq(h_run(g, n, lay ? CL_LAYOUT_CHANNELS_LAST : CL_LAYOUT_PLAIN, threads, &err),
                   CL_OK, "%s", err.msg);
      const float *x = h_data(g, g->nodes[n].in[0]), *y = h_data(g, g->nodes[n].out[0]);
      for (int c = 0; c < 24; c++)
        for (int oy = 0; oy < 40; oy++)
          for (int ox = 0; ox < 48; ox++)
            cr_assert_eq(y[(c * 40 + oy) * 48 + ox], x[(c * 10 + oy / 4) * 12 + ox / 4]);
      h_free(&g);
    }
}

/* Nearest is a gather: any element type works, in both layouts. */
Test(resize, nearest_int64) {
  const int64_t big = (int64_t)1 << 40;
  const int64_t x[] = {1, -2, 3, big}; /* [1, 2, 1, 2] */
  const int64_t row0[] = {1, 1, -2, -2}, row1[] = {3, 3, big, big};
  for (int lay = 0; lay < 2; lay++) {
    cl_graph *g = h_graph(13);
    int xv = h_value(g, "x", CL_DTYPE_I64, 4, D4(1, 2, 1, 2), x);
    int s = h_const(g, "scales", CL_DTYPE_F32, 1, D1(4), F4(1, 1, 3, 2));
    int n = h_node(g, "Resize", (int[]){xv, -1, s}, 3, (int[]){out_value(g)}, 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, lay ? CL_LAYOUT_CHANNELS_LAST : CL_LAYOUT_PLAIN, 2, &err), CL_OK, "%s",
                 err.msg);
    const cl_value *y = &g->values[g->nodes[n].out[0]];
    cr_assert(y->dtype == CL_DTYPE_I64 && y->dims[1] == 2 && y->dims[2] == 3 && y->dims[3] == 4);
    const int64_t *out = h_data(g, g->nodes[n].out[0]);
    for (int i = 0; i < 12; i++) {
      cr_assert_eq(out[i], row0[i % 4], "channel 0 element %d", i);
      cr_assert_eq(out[12 + i], row1[i % 4], "channel 1 element %d", i);
    }
    h_free(&g);
  }
}

/* === Linear === */

static int b_up_linear(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 1, 2, 2), iota1(4), 4, F4(1, 1, 2, 2), 0, NULL), "linear", NULL,
              NULL);
}
static int b_up_linear_align(cl_graph *g) {
  return mode(g, b_up_linear(g), NULL, "align_corners", NULL);
}
static int b_down_linear(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 1, 2, 4), iota1(8), 4, F4(1, 1, 0.6f, 0.6f), 0, NULL), "linear",
              NULL, NULL);
}
static int b_down_linear_align(cl_graph *g) {
  return mode(g, b_down_linear(g), NULL, "align_corners", NULL);
}
static int b_down_pytorch(cl_graph *g) {
  int n = rs(g, 4, D4(1, 1, 4, 4), iota1(16), 0, NULL, 4, D4(1, 1, 3, 1));
  return mode(g, n, "linear", "pytorch_half_pixel", NULL);
}
Test(resize, onnx_linear_cases) {
  static const float down[] = {2.6666665f, 4.33333302f}, down_align[] = {1, 3.14285707f},
                     pytorch[] = {1.66666663f, 7, 12.333333f};
  expect_all(13, b_up_linear, want_up_linear, 16, 1e-6f);
  expect_all(13, b_up_linear_align, want_up_linear_align, 16, 1e-6f);
  expect_all(13, b_down_linear, down, 2, 1e-6f);
  expect_all(13, b_down_linear_align, down_align, 2, 1e-6f);
  expect_all(13, b_down_pytorch, pytorch, 3, 1e-6f);
}

static int b_lin_sizes(cl_graph *g) {
  return mode(g, rs(g, 4, D4(2, 3, 4, 5), filled(120, 7, 19), 0, NULL, 4, D4(2, 3, 7, 9)), "linear",
              NULL, NULL);
}
static int b_lin_asym(cl_graph *g) {
  int n = rs(g, 4, D4(2, 3, 4, 5), filled(120, 7, 19), 4, F4(1, 1, 1.5f, 2), 0, NULL);
  return mode(g, n, "linear", "asymmetric", NULL);
}
static int b_lin_odd(cl_graph *g) { /* scales that are not out / in: the plain kernel */
  return mode(g, rs(g, 4, D4(2, 3, 4, 5), filled(120, 7, 19), 4, F4(1, 1, 0.6f, 1.7f), 0, NULL),
              "linear", NULL, NULL);
}
static int b_lin_align(cl_graph *g) {
  int n = rs(g, 4, D4(2, 3, 4, 5), filled(120, 7, 19), 0, NULL, 4, D4(2, 3, 3, 8));
  return mode(g, n, "linear", "align_corners", NULL);
}
static int b_lin_pytorch(cl_graph *g) { /* a 1-pixel output axis: the plain kernel */
  int n = rs(g, 4, D4(2, 3, 4, 5), filled(120, 7, 19), 0, NULL, 4, D4(2, 3, 1, 7));
  return mode(g, n, "linear", "pytorch_half_pixel", NULL);
}
static int b_lin_rank2(cl_graph *g) {
  return mode(g, rs(g, 2, (int64_t[]){3, 4}, filled(12, 5, 11), 0, NULL, 2, (int64_t[]){5, 3}),
              "linear", NULL, NULL);
}
Test(resize, linear_multichannel) {
  expect_all(13, b_lin_sizes, want_lin_sizes, 378, 1e-5f);
  expect_all(13, b_lin_asym, want_lin_asym, 360, 1e-5f);
  expect_all(13, b_lin_odd, want_lin_odd, 96, 1e-5f);
  expect_all(13, b_lin_align, want_lin_align, 144, 1e-5f);
  expect_all(13, b_lin_pytorch, want_lin_pytorch, 42, 1e-5f);
  expect_all(13, b_lin_rank2, want_lin_rank2, 15, 1e-5f);
}

/* An axis that is not resized stays as is, whatever the coordinate mode: here the channel axis,
 * which tf_half_pixel_for_nn with ceil would otherwise shift by one. */
static int b_tf_nn_ceil(cl_graph *g) {
  int n = rs(g, 4, D4(1, 2, 2, 2), filled(8, 3, 7), 0, NULL, 4, D4(1, 2, 3, 5));
  return mode(g, n, "nearest", "tf_half_pixel_for_nn", "ceil");
}
/* align_corners with scales: the transform uses scale * input length, not the output length. */
static int b_align_scales(cl_graph *g) {
  int n = rs(g, 4, D4(1, 1, 5, 6), filled(30, 7, 11), 4, F4(1, 1, 0.6f, 1.3f), 0, NULL);
  return mode(g, n, "linear", "align_corners", NULL);
}
Test(resize, onnx_reference_details) {
  expect_all(13, b_tf_nn_ceil, want_tf_nn_ceil, 30, 0);
  expect_all(13, b_align_scales, want_align_scales, 21, 1e-5f);
}

/* === Opset 18: axes and keep_aspect_ratio_policy === */

static int b_axes(cl_graph *g, const char *m, int64_t a0, int64_t a1, const char *policy) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 4, 4), iota1(16));
  int sz = h_const(g, "sizes", CL_DTYPE_I64, 1, D1(2), (int64_t[]){3, 2});
  int n = h_node(g, "Resize", (int[]){x, -1, -1, sz}, 4, (int[]){out_value(g)}, 1);
  ints(g, n, "axes", 2, a0, a1, 0, 0);
  h_attr_string(g, n, "keep_aspect_ratio_policy", policy);
  return mode(g, n, m, NULL, NULL);
}
static int b_axes_not_larger(cl_graph *g) { return b_axes(g, "linear", 2, 3, "not_larger"); }
static int b_axes_not_smaller(cl_graph *g) { return b_axes(g, "nearest", -1, -2, "not_smaller"); }
Test(resize, opset18_axes_keep_aspect_ratio) {
  expect_all(18, b_axes_not_larger, want_axes_not_larger, 4, 1e-6f);
  expect_all(18, b_axes_not_smaller, want_axes_not_smaller, 9, 0);
}

/* === Before opset 11: Upsample and Resize-10 === */

/* Asymmetric coordinates; nearest rounds down when upsampling and up when downsampling. */

static int b_upsample7(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), iota1(4));
  int n = h_node(g, "Upsample", (int[]){x}, 1, (int[]){out_value(g)}, 1);
  h_attr_floats(g, n, "scales", 4, F4(1, 1, 2, 2));
  return mode(g, n, "linear", NULL, NULL);
}
static int b_upsample9(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), iota1(4));
  int s = h_const(g, "scales", CL_DTYPE_F32, 1, D1(4), F4(1, 1, 2, 3));
  return h_node(g, "Upsample", (int[]){x, s}, 2, (int[]){out_value(g)}, 1);
}
static int b_resize10(cl_graph *g, const char *m, const int64_t *dims, const float *data,
                      const float *sc) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, dims, data);
  int s = h_const(g, "scales", CL_DTYPE_F32, 1, D1(4), sc);
  return mode(g, h_node(g, "Resize", (int[]){x, s}, 2, (int[]){out_value(g)}, 1), m, NULL, NULL);
}
static int b_resize10_nearest(cl_graph *g) {
  return b_resize10(g, "nearest", D4(1, 1, 2, 4), iota1(8), F4(1, 1, 0.6f, 0.6f));
}
static int b_resize10_linear(cl_graph *g) {
  return b_resize10(g, "linear", D4(1, 1, 2, 4), iota1(8), F4(1, 1, 0.6f, 0.6f));
}
static int b_resize10_down(cl_graph *g) {
  return b_resize10(g, "nearest", D4(1, 2, 3, 5), filled(30, 7, 11), F4(1, 1, 0.5f, 0.7f));
}
Test(resize, legacy_opsets) {
  static const float nearest[] = {1, 3}, linear[] = {1, 2.66666651f};
  expect_all(7, b_upsample7, want_upsample7_linear, 16, 1e-6f);
  expect_all(9, b_upsample9, want_upsample9_nearest, 24, 0);
  expect_all(10, b_resize10_nearest, nearest, 2, 0);
  expect_all(10, b_resize10_linear, linear, 2, 1e-6f);
  expect_all(10, b_resize10_down, want_resize10_down, 6, 0);
}

/* === What is refused === */

static int b_cubic(cl_graph *g) { return mode(g, b_up_scales_nearest(g), "cubic", NULL, NULL); }
static int b_crop(cl_graph *g) {
  return mode(g, b_up_scales_nearest(g), "linear", "tf_crop_and_resize", NULL);
}
static int b_antialias(cl_graph *g) {
  int n = b_down_linear(g);
  h_attr_int(g, n, "antialias", 1);
  return n;
}
static int b_scales_input(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), iota1(4));
  int s = h_value(g, "scales", CL_DTYPE_F32, 1, D1(4), F4(1, 1, 2, 2));
  return h_node(g, "Resize", (int[]){x, -1, s}, 3, (int[]){out_value(g)}, 1);
}
static int b_linear_channels(cl_graph *g) {
  return mode(g, rs(g, 4, D4(1, 2, 2, 2), iota1(8), 4, F4(1, 2, 1, 1), 0, NULL), "linear", NULL,
              NULL);
}
static int b_both(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), iota1(4));
  int s = h_const(g, "scales", CL_DTYPE_F32, 1, D1(4), F4(1, 1, 2, 2));
  int z = h_const(g, "sizes", CL_DTYPE_I64, 1, D1(4), D4(1, 1, 4, 4));
  return h_node(g, "Resize", (int[]){x, -1, s, z}, 4, (int[]){out_value(g)}, 1);
}
static int b_count(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 2), iota1(4), 2, F4(2, 2, 0, 0), 0, NULL);
}
static int b_zero(cl_graph *g) {
  return rs(g, 4, D4(1, 1, 2, 2), iota1(4), 4, F4(1, 1, 0.25f, 1), 0, NULL);
}
Test(resize, refusals) {
  expect_error(13, b_cubic, CL_ERR_UNSUPPORTED, "mode 'cubic' is not supported");
  expect_error(13, b_crop, CL_ERR_UNSUPPORTED,
               "coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
  expect_error(18, b_antialias, CL_ERR_UNSUPPORTED, "antialias=1 is not supported");
  expect_error(13, b_scales_input, CL_ERR_UNSUPPORTED, "must be constant");
  expect_error(13, b_linear_channels, CL_ERR_UNSUPPORTED,
               "linear resize of axes 1 to 1 is not supported");
  expect_error(13, b_both, CL_ERR_FORMAT, "only one of scales and sizes");
  expect_error(13, b_count, CL_ERR_SHAPE, "scales has 2 entries for 4 axes");
  expect_error(13, b_zero, CL_ERR_SHAPE, "output size along axis 2 would be 0");
}
