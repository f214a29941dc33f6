// Region-of-interest pooling over [N, C, H, W] feature maps: MaxRoiPool (quantized bins, Fast R-CNN) and RoiAlign
// (bilinear samples, Mask R-CNN; avg or max, and from opset 16 the half_pixel coordinate shift).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

struct FeatureMap {
    int64_t batch, channels, height, width;
    int64_t plane() const { return height * width; }
};

void check_batch(int64_t b, const FeatureMap& m, const std::string& label) {
    if (b < 0 || b >= m.batch)
        throw RunError(label + ": ROI batch index " + std::to_string(b) + " is outside the batch of " +
                       std::to_string(m.batch));
}

class MaxRoiPoolKernel final : public Kernel {
public:
    MaxRoiPoolKernel(FeatureMap m, int64_t rois, int64_t ph, int64_t pw, float scale, std::string label)
        : m_(m), rois_(rois), ph_(ph), pw_(pw), scale_(scale), label_(std::move(label)) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const auto* rois = static_cast<const float*>(ctx.inputs[1]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t r = 0; r < rois_; ++r) {
            const float* roi = rois + r * 5;
            const auto b = static_cast<int64_t>(roi[0]);
            check_batch(b, m_, label_);
            const auto start_w = static_cast<int64_t>(std::round(roi[1] * scale_));
            const auto start_h = static_cast<int64_t>(std::round(roi[2] * scale_));
            const auto end_w = static_cast<int64_t>(std::round(roi[3] * scale_));
            const auto end_h = static_cast<int64_t>(std::round(roi[4] * scale_));
            const int64_t roi_h = std::max<int64_t>(end_h - start_h + 1, 1);
            const int64_t roi_w = std::max<int64_t>(end_w - start_w + 1, 1);
            const float bin_h = static_cast<float>(roi_h) / static_cast<float>(ph_);
            const float bin_w = static_cast<float>(roi_w) / static_cast<float>(pw_);
            for (int64_t c = 0; c < m_.channels; ++c) {
                const float* xp = x + (b * m_.channels + c) * m_.plane();
                float* yp = y + (r * m_.channels + c) * ph_ * pw_;
                for (int64_t i = 0; i < ph_; ++i) {
                    const int64_t h0 = clamp(static_cast<int64_t>(std::floor(i * bin_h)) + start_h, m_.height);
                    const int64_t h1 = clamp(static_cast<int64_t>(std::ceil((i + 1) * bin_h)) + start_h, m_.height);
                    for (int64_t j = 0; j < pw_; ++j) {
                        const int64_t w0 = clamp(static_cast<int64_t>(std::floor(j * bin_w)) + start_w, m_.width);
                        const int64_t w1 = clamp(static_cast<int64_t>(std::ceil((j + 1) * bin_w)) + start_w, m_.width);
                        float best = -std::numeric_limits<float>::max();
                        bool any = false;
                        for (int64_t h = h0; h < h1; ++h)
                            for (int64_t w = w0; w < w1; ++w) best = std::max(best, xp[h * m_.width + w]), any = true;
                        yp[i * pw_ + j] = any ? best : 0.0f;  // an empty bin gives 0
                    }
                }
            }
        }
    }

private:
    static int64_t clamp(int64_t v, int64_t hi) { return std::min(std::max<int64_t>(v, 0), hi); }

    FeatureMap m_;
    int64_t rois_, ph_, pw_;
    float scale_;
    std::string label_;
};

class RoiAlignKernel final : public Kernel {
public:
    RoiAlignKernel(FeatureMap m, int64_t rois, int64_t oh, int64_t ow, int64_t sampling, float scale, bool max_mode,
                   bool half_pixel, std::string label)
        : m_(m), rois_(rois), oh_(oh), ow_(ow), sampling_(sampling), scale_(scale), max_(max_mode),
          half_pixel_(half_pixel), label_(std::move(label)) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const auto* rois = static_cast<const float*>(ctx.inputs[1]);
        const auto* batch_indices = static_cast<const int64_t*>(ctx.inputs[2]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        const float offset = half_pixel_ ? 0.5f : 0.0f;
        const int64_t out_plane = oh_ * ow_;
        for (int64_t r = 0; r < rois_; ++r) {
            const int64_t b = batch_indices[r];
            check_batch(b, m_, label_);
            const float* roi = rois + r * 4;
            const float x0 = roi[0] * scale_ - offset, y0 = roi[1] * scale_ - offset;
            float roi_w = roi[2] * scale_ - offset - x0, roi_h = roi[3] * scale_ - offset - y0;
            if (!half_pixel_) roi_w = std::max(roi_w, 1.0f), roi_h = std::max(roi_h, 1.0f);  // the opset-10 rule
            const float bin_h = roi_h / static_cast<float>(oh_), bin_w = roi_w / static_cast<float>(ow_);
            const int64_t grid_h = sampling_ > 0 ? sampling_ : adaptive_grid(roi_h, oh_);
            const int64_t grid_w = sampling_ > 0 ? sampling_ : adaptive_grid(roi_w, ow_);
            const float count = static_cast<float>(std::max<int64_t>(grid_h * grid_w, 1));
            const float* xb = x + b * m_.channels * m_.plane();
            float* yr = y + r * m_.channels * out_plane;
            for (int64_t ph = 0; ph < oh_; ++ph)
                for (int64_t pw = 0; pw < ow_; ++pw) {
                    float* yo = yr + ph * ow_ + pw;  // channel c at yo[c * out_plane]
                    for (int64_t c = 0; c < m_.channels; ++c) yo[c * out_plane] = 0.0f;
                    bool first = true;
                    for (int64_t iy = 0; iy < grid_h; ++iy) {
                        const float sy = y0 + ph * bin_h + (iy + 0.5f) * bin_h / static_cast<float>(grid_h);
                        for (int64_t ix = 0; ix < grid_w; ++ix) {
                            const float sx = x0 + pw * bin_w + (ix + 0.5f) * bin_w / static_cast<float>(grid_w);
                            Sample s = bilinear(sy, sx);
                            for (int64_t c = 0; c < m_.channels; ++c) {
                                const float* xp = xb + c * m_.plane();
                                float& out = yo[c * out_plane];
                                if (!max_) {
                                    out += s.w[0] * xp[s.pos[0]] + s.w[1] * xp[s.pos[1]] + s.w[2] * xp[s.pos[2]] +
                                           s.w[3] * xp[s.pos[3]];
                                } else {
                                    // ONNX Runtime's max mode: the largest weighted corner of each sample.
                                    const float v = std::max(std::max(s.w[0] * xp[s.pos[0]], s.w[1] * xp[s.pos[1]]),
                                                             std::max(s.w[2] * xp[s.pos[2]], s.w[3] * xp[s.pos[3]]));
                                    out = first ? v : std::max(out, v);
                                }
                            }
                            first = false;
                        }
                    }
                    if (!max_)
                        for (int64_t c = 0; c < m_.channels; ++c) yo[c * out_plane] /= count;
                }
        }
    }

private:
    // ceil(extent / bins) samples per bin; NaN or absurd ROI coordinates must not make the loop run for ages.
    static int64_t adaptive_grid(float extent, int64_t bins) {
        const float g = std::ceil(extent / static_cast<float>(bins));
        return g >= 1.0f ? static_cast<int64_t>(std::min(g, 4096.0f)) : 0;
    }

    struct Sample {
        float w[4] = {0, 0, 0, 0};
        int64_t pos[4] = {0, 0, 0, 0};
    };

    // The four neighbours of (y, x) and their bilinear weights; a point more than one pixel outside contributes 0.
    Sample bilinear(float yy, float xx) const {
        Sample s;
        const auto H = static_cast<float>(m_.height), W = static_cast<float>(m_.width);
        if (yy < -1.0f || yy > H || xx < -1.0f || xx > W) return s;
        yy = std::max(yy, 0.0f);
        xx = std::max(xx, 0.0f);
        auto y_lo = static_cast<int64_t>(yy), x_lo = static_cast<int64_t>(xx);
        int64_t y_hi, x_hi;
        if (y_lo >= m_.height - 1) y_hi = y_lo = m_.height - 1, yy = static_cast<float>(y_lo);
        else y_hi = y_lo + 1;
        if (x_lo >= m_.width - 1) x_hi = x_lo = m_.width - 1, xx = static_cast<float>(x_lo);
        else x_hi = x_lo + 1;
        const float ly = yy - static_cast<float>(y_lo), lx = xx - static_cast<float>(x_lo);
        const float hy = 1.0f - ly, hx = 1.0f - lx;
        s.w[0] = hy * hx, s.w[1] = hy * lx, s.w[2] = ly * hx, s.w[3] = ly * lx;
        s.pos[0] = y_lo * m_.width + x_lo, s.pos[1] = y_lo * m_.width + x_hi;
        s.pos[2] = y_hi * m_.width + x_lo, s.pos[3] = y_hi * m_.width + x_hi;
        return s;
    }

    FeatureMap m_;
    int64_t rois_, oh_, ow_, sampling_;
    float scale_;
    bool max_, half_pixel_;
    std::string label_;
};

FeatureMap feature_map(const KernelContext& ctx) {
    const Shape& x = ctx.input(0).shape;
    if (x.size() != 4) ctx.fail("input X has shape " + shape_to_string(x) + ", expected [N, C, H, W]");
    return FeatureMap{x[0], x[1], x[2], x[3]};
}

std::unique_ptr<Kernel> make_max_roi_pool_float(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    ctx.require_dtype(1, {onnx::DataType::Float});
    const FeatureMap m = feature_map(ctx);
    const Shape& rois = ctx.input(1).shape;
    if (rois.size() != 2 || rois[1] != 5) ctx.fail("rois " + shape_to_string(rois) + " must be [num_rois, 5]");
    if (!ctx.has_attr("pooled_shape")) ctx.fail("attribute 'pooled_shape' is required");
    const std::vector<int64_t> pooled = ctx.attr_ints("pooled_shape");
    if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1 || pooled[0] > (1 << 20) || pooled[1] > (1 << 20))
        ctx.fail("attribute 'pooled_shape' must be two positive values");
    ctx.set_output(0, onnx::DataType::Float, {rois[0], m.channels, pooled[0], pooled[1]});
    return std::make_unique<MaxRoiPoolKernel>(m, rois[0], pooled[0], pooled[1], ctx.attr_float("spatial_scale", 1.0f),
                                              ctx.label());
}

std::unique_ptr<Kernel> make_roi_align_float(KernelContext& ctx) {
    ctx.require_inputs(3, 3);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    ctx.require_dtype(1, {onnx::DataType::Float});
    ctx.require_dtype(2, {onnx::DataType::Int64});
    const FeatureMap m = feature_map(ctx);
    const Shape& rois = ctx.input(1).shape;
    if (rois.size() != 2 || rois[1] != 4) ctx.fail("rois " + shape_to_string(rois) + " must be [num_rois, 4]");
    if (ctx.input(2).shape != Shape{rois[0]})
        ctx.fail("batch_indices " + shape_to_string(ctx.input(2).shape) + " must be [" + std::to_string(rois[0]) + "]");
    const std::string mode = ctx.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") ctx.fail("attribute 'mode' must be 'avg' or 'max', got '" + mode + "'");
    const std::string transform =
        ctx.opset() >= 16 ? ctx.attr_string("coordinate_transformation_mode", "half_pixel") : "output_half_pixel";
    if (transform != "half_pixel" && transform != "output_half_pixel")
        ctx.fail("attribute 'coordinate_transformation_mode' must be 'half_pixel' or 'output_half_pixel', got '" +
                 transform + "'");
    const int64_t oh = ctx.attr_int("output_height", 1), ow = ctx.attr_int("output_width", 1);
    const int64_t sampling = ctx.attr_int("sampling_ratio", 0);
    if (oh < 1 || ow < 1 || oh > (1 << 20) || ow > (1 << 20))
        ctx.fail("attributes 'output_height' and 'output_width' must be positive");
    if (sampling < 0 || sampling > (1 << 16)) ctx.fail("attribute 'sampling_ratio' must be 0 or positive");
    ctx.set_output(0, onnx::DataType::Float, {rois[0], m.channels, oh, ow});
    return std::make_unique<RoiAlignKernel>(m, rois[0], oh, ow, sampling, ctx.attr_float("spatial_scale", 1.0f),
                                            mode == "max", transform == "half_pixel", ctx.label());
}

}  // namespace

std::unique_ptr<Kernel> make_max_roi_pool(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_max_roi_pool_float);
    return make_max_roi_pool_float(ctx);
}

std::unique_ptr<Kernel> make_roi_align(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_roi_align_float);
    return make_roi_align_float(ctx);
}

}  // namespace ezemu::kernels
