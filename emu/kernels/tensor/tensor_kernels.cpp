// The tensor family: shape, layout and data movement.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_reshape(KernelContext& ctx);
std::unique_ptr<Kernel> make_flatten(KernelContext& ctx);
std::unique_ptr<Kernel> make_concat(KernelContext& ctx);
std::unique_ptr<Kernel> make_transpose(KernelContext& ctx);
std::unique_ptr<Kernel> make_constant(KernelContext& ctx);
std::unique_ptr<Kernel> make_identity(KernelContext& ctx);
std::unique_ptr<Kernel> make_shape(KernelContext& ctx);
std::unique_ptr<Kernel> make_size(KernelContext& ctx);
std::unique_ptr<Kernel> make_eye_like(KernelContext& ctx);
std::unique_ptr<Kernel> make_constant_of_shape(KernelContext& ctx);
std::unique_ptr<Kernel> make_gather(KernelContext& ctx);
std::unique_ptr<Kernel> make_gather_elements(KernelContext& ctx);
std::unique_ptr<Kernel> make_scatter_nd(KernelContext& ctx);
std::unique_ptr<Kernel> make_slice(KernelContext& ctx);
std::unique_ptr<Kernel> make_expand(KernelContext& ctx);
std::unique_ptr<Kernel> make_tile(KernelContext& ctx);
std::unique_ptr<Kernel> make_depth_to_space(KernelContext& ctx);
std::unique_ptr<Kernel> make_space_to_depth(KernelContext& ctx);
std::unique_ptr<Kernel> make_split(KernelContext& ctx);
std::unique_ptr<Kernel> make_squeeze(KernelContext& ctx);
std::unique_ptr<Kernel> make_unsqueeze(KernelContext& ctx);
std::unique_ptr<Kernel> make_pad(KernelContext& ctx);
std::unique_ptr<Kernel> make_reverse_sequence(KernelContext& ctx);
std::unique_ptr<Kernel> make_resize(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 24> kTable{{
    KernelEntry{"Concat", 1, kNewestOpset, make_concat},
    KernelEntry{"Constant", 1, kNewestOpset, make_constant},
    KernelEntry{"ConstantOfShape", 9, kNewestOpset, make_constant_of_shape},
    KernelEntry{"DepthToSpace", 1, kNewestOpset, make_depth_to_space},
    KernelEntry{"Expand", 8, kNewestOpset, make_expand},
    KernelEntry{"EyeLike", 9, kNewestOpset, make_eye_like},
    KernelEntry{"Flatten", 1, kNewestOpset, make_flatten},
    KernelEntry{"Gather", 1, kNewestOpset, make_gather},
    KernelEntry{"GatherElements", 11, kNewestOpset, make_gather_elements},
    KernelEntry{"Identity", 1, kNewestOpset, make_identity},
    KernelEntry{"Pad", 2, kNewestOpset, make_pad},
    KernelEntry{"Reshape", 1, kNewestOpset, make_reshape},
    KernelEntry{"Resize", 10, kNewestOpset, make_resize},
    KernelEntry{"ReverseSequence", 10, kNewestOpset, make_reverse_sequence},
    KernelEntry{"ScatterND", 11, kNewestOpset, make_scatter_nd},
    KernelEntry{"Shape", 1, kNewestOpset, make_shape},
    KernelEntry{"Size", 1, kNewestOpset, make_size},
    KernelEntry{"Slice", 1, kNewestOpset, make_slice},
    KernelEntry{"SpaceToDepth", 1, kNewestOpset, make_space_to_depth},
    KernelEntry{"Split", 2, kNewestOpset, make_split},
    KernelEntry{"Squeeze", 1, kNewestOpset, make_squeeze},
    KernelEntry{"Tile", 6, kNewestOpset, make_tile},
    KernelEntry{"Transpose", 1, kNewestOpset, make_transpose},
    KernelEntry{"Unsqueeze", 1, kNewestOpset, make_unsqueeze},
}};

}  // namespace

std::span<const KernelEntry> tensor_kernels() { return kTable; }

}  // namespace ezemu::kernels
