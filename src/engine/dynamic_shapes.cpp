#include "dynamic_shapes.hpp"

#include <string>

#include "ezrknn/errors.hpp"
#include "layout.hpp"

namespace ezrknn::detail {
namespace {

std::string shapes_text(const Shapes& shapes) {
    std::string text;
    for (size_t i = 0; i < shapes.size(); ++i) text += (i ? " " : "") + shape_to_string(shapes[i]);
    return text;
}

}  // namespace

size_t ShapeSets::find(const std::vector<TensorView>& views, const std::vector<TensorDesc>& inputs) const {
    Shapes given;
    for (const TensorView& v : views) given.push_back(v.shape);
    for (size_t s = 0; s < user.size(); ++s) {
        if (user[s] == given) return s;
    }
    std::string allowed;
    for (size_t s = 0; s < user.size(); ++s) allowed += (s ? "; " : "") + shapes_text(user[s]);
    std::string names;
    for (size_t i = 0; i < inputs.size(); ++i) names += (i ? ", " : "") + inputs[i].name;
    throw InvalidArgument("Input shapes " + shapes_text(given) + " (" + names +
                          ") are not one of the dynamic model's shape sets: " + allowed);
}

ShapeSets query_shape_sets(const RknnLibrary& library, rknn_context ctx,
                           const std::vector<rknn_tensor_attr>& input_attrs, InputLayout layout) {
    ShapeSets sets;
    std::vector<uint32_t> counts;
    std::vector<rknn_input_range> ranges(input_attrs.size());
    for (size_t i = 0; i < input_attrs.size(); ++i) {
        rknn_input_range& r = ranges[i];
        r = {};
        r.index = static_cast<uint32_t>(i);
        const int ret = library.fn().query(ctx, RKNN_QUERY_INPUT_DYNAMIC_RANGE, &r, sizeof r);
        counts.push_back(ret == RKNN_SUCC ? r.shape_number : 0);
    }
    if (counts.empty() || counts[0] == 0) return sets;
    for (size_t i = 1; i < counts.size(); ++i) {
        if (counts[i] != counts[0]) {
            throw Error("RKNN_QUERY_INPUT_DYNAMIC_RANGE lists " + std::to_string(counts[0]) + " shape sets for input 0 "
                        "but " + std::to_string(counts[i]) + " for input " + std::to_string(i) +
                        "; sets pair by position, so the model is inconsistent");
        }
    }
    const uint32_t n_sets = counts[0] <= RKNN_MAX_DYNAMIC_SHAPE_NUM ? counts[0] : RKNN_MAX_DYNAMIC_SHAPE_NUM;
    for (uint32_t s = 0; s < n_sets; ++s) {
        Shapes engine, user;
        for (size_t i = 0; i < ranges.size(); ++i) {
            const rknn_input_range& r = ranges[i];
            const uint32_t n = r.n_dims <= RKNN_MAX_DIMS ? r.n_dims : RKNN_MAX_DIMS;
            std::vector<int64_t> dims(r.dyn_range[s], r.dyn_range[s] + n);
            user.push_back(plan_input_layout(dims, static_cast<TensorFormat>(input_attrs[i].fmt), layout).user_shape);
            engine.push_back(std::move(dims));
        }
        sets.engine.push_back(std::move(engine));
        sets.user.push_back(std::move(user));
    }
    return sets;
}

void select_shape_set(const RknnLibrary& library, rknn_context ctx, const ShapeSets& sets, size_t s,
                      const std::vector<rknn_tensor_attr>& input_attrs, size_t n_outputs, ContextShape& state) {
    if (state.set == static_cast<long>(s)) return;
    state.set = -1;  // unknown until this switch succeeds
    if (!library.fn().set_input_shapes) {
        throw Error("this RKNN runtime has no rknn_set_input_shapes: a dynamic-shape model needs librknnrt 1.5.2 or "
                    "newer");
    }
    std::vector<rknn_tensor_attr> attrs = input_attrs;  // fmt as queried, so the dims below are in its order
    for (size_t i = 0; i < attrs.size(); ++i) {
        const std::vector<int64_t>& dims = sets.engine[s][i];
        attrs[i].n_dims = static_cast<uint32_t>(dims.size());
        for (size_t d = 0; d < dims.size(); ++d) attrs[i].dims[d] = static_cast<uint32_t>(dims[d]);
    }
    if (int ret = library.fn().set_input_shapes(ctx, static_cast<uint32_t>(attrs.size()), attrs.data());
        ret != RKNN_SUCC) {
        throw Error(library.error_message("rknn_set_input_shapes", ret), ret);
    }
    state.outputs.assign(n_outputs, {});
    for (size_t o = 0; o < n_outputs; ++o) {
        rknn_tensor_attr attr{};
        attr.index = static_cast<uint32_t>(o);
        int ret = library.fn().query(ctx, RKNN_QUERY_CURRENT_OUTPUT_ATTR, &attr, sizeof attr);
        if (ret != RKNN_SUCC) {
            attr = {};
            attr.index = static_cast<uint32_t>(o);
            ret = library.fn().query(ctx, RKNN_QUERY_OUTPUT_ATTR, &attr, sizeof attr);
        }
        if (ret != RKNN_SUCC) {
            throw Error(library.error_message_for_index("rknn_query(RKNN_QUERY_OUTPUT_ATTR)", "output attr", o, ret),
                        ret);
        }
        const uint32_t n = attr.n_dims <= RKNN_MAX_DIMS ? attr.n_dims : RKNN_MAX_DIMS;
        state.outputs[o].assign(attr.dims, attr.dims + n);
    }
    state.set = static_cast<long>(s);
}

}  // namespace ezrknn::detail
