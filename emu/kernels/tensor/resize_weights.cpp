#include "kernels/tensor/resize_weights.hpp"

#include <algorithm>
#include <cmath>

namespace ezemu::kernels::resize {

namespace {

// Where output coordinate o falls in the input, per coordinate_transformation_mode.
double source_coordinate(int64_t o, const AxisParams& a, Transform t) {
    const double x = static_cast<double>(o);
    const double in = static_cast<double>(a.in);
    // The output length before flooring to an integer: what the spec's formulas divide by.
    const double out_width = a.scale * in;
    switch (t) {
        case Transform::HalfPixel: return (x + 0.5) / a.scale - 0.5;
        case Transform::HalfPixelSymmetric: {
            const double adjustment = static_cast<double>(a.out) / out_width;
            const double offset = in / 2.0 * (1.0 - adjustment);
            return offset + (x + 0.5) / a.scale - 0.5;
        }
        case Transform::PytorchHalfPixel: return out_width == 1.0 ? -0.5 : (x + 0.5) / a.scale - 0.5;
        case Transform::AlignCorners: return out_width == 1.0 ? 0.0 : x * (in - 1.0) / (out_width - 1.0);
        case Transform::Asymmetric: return x / a.scale;
        case Transform::TfHalfPixelForNn: return (x + 0.5) / a.scale;
        case Transform::TfCropAndResize: {
            const double span = (a.roi_end - a.roi_start) * (in - 1.0);
            const double base = a.roi_start * (in - 1.0);
            return out_width == 1.0 ? base + span / 2.0 : base + x * span / (out_width - 1.0);
        }
    }
    return x;
}

int64_t nearest_index(double x, NearestRounding r, bool downsampling) {
    const double f = std::floor(x);
    if (x == f && r != NearestRounding::Simple) return static_cast<int64_t>(f);
    const double frac = x - f;
    switch (r) {
        case NearestRounding::RoundPreferFloor: return static_cast<int64_t>(frac <= 0.5 ? f : f + 1.0);
        case NearestRounding::RoundPreferCeil: return static_cast<int64_t>(frac < 0.5 ? f : f + 1.0);
        case NearestRounding::Floor: return static_cast<int64_t>(f);
        case NearestRounding::Ceil: return static_cast<int64_t>(std::ceil(x));
        case NearestRounding::Simple:
            return downsampling ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(std::trunc(x));
    }
    return static_cast<int64_t>(f);
}

double linear_kernel(double d) { return std::max(0.0, 1.0 - std::abs(d)); }

double cubic_kernel(double d, double a) {
    d = std::abs(d);
    if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
    return 0.0;
}

}  // namespace

bool parse_mode(const std::string& s, Mode& out) {
    if (s == "nearest") out = Mode::Nearest;
    else if (s == "linear") out = Mode::Linear;
    else if (s == "cubic") out = Mode::Cubic;
    else return false;
    return true;
}

bool parse_transform(const std::string& s, int64_t opset, Transform& out) {
    if (s == "half_pixel") out = Transform::HalfPixel;
    else if (s == "half_pixel_symmetric" && opset >= 19) out = Transform::HalfPixelSymmetric;
    else if (s == "pytorch_half_pixel") out = Transform::PytorchHalfPixel;
    else if (s == "align_corners") out = Transform::AlignCorners;
    else if (s == "asymmetric") out = Transform::Asymmetric;
    else if (s == "tf_half_pixel_for_nn" && opset < 18) out = Transform::TfHalfPixelForNn;
    else if (s == "tf_crop_and_resize") out = Transform::TfCropAndResize;
    else return false;
    return true;
}

bool parse_rounding(const std::string& s, NearestRounding& out) {
    if (s == "round_prefer_floor") out = NearestRounding::RoundPreferFloor;
    else if (s == "round_prefer_ceil") out = NearestRounding::RoundPreferCeil;
    else if (s == "floor") out = NearestRounding::Floor;
    else if (s == "ceil") out = NearestRounding::Ceil;
    else return false;
    return true;
}

AxisTable build_axis_table(const AxisParams& a, const Options& opt) {
    AxisTable t;
    // Antialiasing stretches the filter by 1/scale when downsampling, so more input taps contribute.
    const double s = opt.antialias && opt.mode != Mode::Nearest ? std::min(a.scale, 1.0) : 1.0;
    if (opt.mode == Mode::Nearest) t.taps = 1;
    else if (opt.mode == Mode::Linear) t.taps = 2 - 2 * static_cast<int64_t>(std::floor(-1.0 / s) + 1.0);
    else t.taps = 2 - 2 * static_cast<int64_t>(std::floor(-2.0 / s) + 1.0);
    const size_t n = static_cast<size_t>(a.out * t.taps);
    t.index.resize(n);
    t.weight.resize(n);
    t.extrapolate.assign(static_cast<size_t>(a.out), 0);
    const int64_t last = a.in - 1;
    for (int64_t o = 0; o < a.out; ++o) {
        const double x = source_coordinate(o, a, opt.transform);
        const size_t row = static_cast<size_t>(o * t.taps);
        if (opt.transform == Transform::TfCropAndResize && (x < 0.0 || x > static_cast<double>(last))) {
            t.extrapolate[static_cast<size_t>(o)] = 1;
            t.any_extrapolation = true;
        }
        if (opt.mode == Mode::Nearest) {
            const int64_t i = nearest_index(x, opt.rounding, a.scale < 1.0);
            t.index[row] = std::clamp<int64_t>(i, 0, last);
            t.weight[row] = 1.0;
            continue;
        }
        // The taps nearest x, ties to the lower side: an integer x sits at the right of the even-width window.
        const double f = std::floor(x);
        const int64_t first = static_cast<int64_t>(f) - t.taps / 2 + (x == f ? 0 : 1);
        double w[64];
        double* wp = t.taps <= 64 ? w : nullptr;
        std::vector<double> wide(t.taps > 64 ? static_cast<size_t>(t.taps) : 0);
        if (!wp) wp = wide.data();
        double sum = 0.0;
        for (int64_t k = 0; k < t.taps; ++k) {
            const int64_t i = first + k;
            const double d = (static_cast<double>(i) - x) * s;
            double v = opt.mode == Mode::Linear ? linear_kernel(d) : cubic_kernel(d, opt.cubic_a);
            if (opt.exclude_outside && (i < 0 || i > last)) v = 0.0;
            wp[k] = v;
            sum += v;
        }
        const bool normalize = opt.antialias || opt.exclude_outside;
        if (sum == 0.0) sum = 1.0;
        for (int64_t k = 0; k < t.taps; ++k) {
            t.index[row + static_cast<size_t>(k)] = std::clamp<int64_t>(first + k, 0, last);
            t.weight[row + static_cast<size_t>(k)] = normalize ? wp[k] / sum : wp[k];
        }
    }
    return t;
}

}  // namespace ezemu::kernels::resize
