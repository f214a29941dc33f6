// Resize's per-axis sampling tables, computed once at load time: for every output coordinate of a resized axis,
// the input coordinates it reads and their weights (nearest: one tap of weight 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ezemu::kernels::resize {

enum class Mode { Nearest, Linear, Cubic };
enum class Transform { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn,
                       TfCropAndResize };
// Simple is Resize-10's rule (ceil when downsampling, truncation otherwise), as ONNX Runtime applies it.
enum class NearestRounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };

struct AxisParams {
    int64_t in = 0, out = 0;
    double scale = 1.0;                   // output length / input length, as the model gives it
    double roi_start = 0.0, roi_end = 1.0;  // tf_crop_and_resize only
};

struct Options {
    Mode mode = Mode::Nearest;
    Transform transform = Transform::HalfPixel;
    NearestRounding rounding = NearestRounding::RoundPreferFloor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    bool antialias = false;
};

struct AxisTable {
    int64_t taps = 1;                  // input coordinates per output coordinate
    std::vector<int64_t> index;        // out * taps input coordinates, clamped into [0, in)
    std::vector<double> weight;        // out * taps
    std::vector<uint8_t> extrapolate;  // per output coordinate: 1 when it lies outside the crop (tf_crop_and_resize)
    bool any_extrapolation = false;
};

// Parses the string attributes; false for an unknown name.
bool parse_mode(const std::string& s, Mode& out);
bool parse_transform(const std::string& s, int64_t opset, Transform& out);
bool parse_rounding(const std::string& s, NearestRounding& out);

AxisTable build_axis_table(const AxisParams& axis, const Options& options);

}  // namespace ezemu::kernels::resize
