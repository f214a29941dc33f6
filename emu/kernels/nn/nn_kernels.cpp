// The nn family: convolution, pooling, normalization and ROI ops.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_conv(KernelContext& ctx);
std::unique_ptr<Kernel> make_conv_transpose(KernelContext& ctx);
std::unique_ptr<Kernel> make_max_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_global_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_global_max_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_batch_normalization(KernelContext& ctx);
std::unique_ptr<Kernel> make_instance_normalization(KernelContext& ctx);
std::unique_ptr<Kernel> make_layer_normalization(KernelContext& ctx);
std::unique_ptr<Kernel> make_lp_normalization(KernelContext& ctx);
std::unique_ptr<Kernel> make_mean_variance_normalization(KernelContext& ctx);
std::unique_ptr<Kernel> make_lrn(KernelContext& ctx);
std::unique_ptr<Kernel> make_max_unpool(KernelContext& ctx);
std::unique_ptr<Kernel> make_max_roi_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_roi_align(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 15> kTable{{
    KernelEntry{"AveragePool", 1, kNewestOpset, make_average_pool},
    KernelEntry{"BatchNormalization", 7, kNewestOpset, make_batch_normalization},
    KernelEntry{"Conv", 1, kNewestOpset, make_conv},
    KernelEntry{"ConvTranspose", 1, kNewestOpset, make_conv_transpose},
    KernelEntry{"GlobalAveragePool", 1, kNewestOpset, make_global_average_pool},
    KernelEntry{"GlobalMaxPool", 1, kNewestOpset, make_global_max_pool},
    KernelEntry{"InstanceNormalization", 1, kNewestOpset, make_instance_normalization},
    KernelEntry{"LayerNormalization", 17, kNewestOpset, make_layer_normalization},
    KernelEntry{"LpNormalization", 1, kNewestOpset, make_lp_normalization},
    KernelEntry{"LRN", 1, kNewestOpset, make_lrn},
    KernelEntry{"MaxPool", 1, kNewestOpset, make_max_pool},
    KernelEntry{"MaxRoiPool", 1, kNewestOpset, make_max_roi_pool},
    KernelEntry{"MaxUnpool", 9, kNewestOpset, make_max_unpool},
    KernelEntry{"MeanVarianceNormalization", 9, kNewestOpset, make_mean_variance_normalization},
    KernelEntry{"RoiAlign", 10, kNewestOpset, make_roi_align},
}};

}  // namespace

std::span<const KernelEntry> nn_kernels() { return kTable; }

}  // namespace ezemu::kernels
