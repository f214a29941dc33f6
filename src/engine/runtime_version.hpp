// The runtime's reported version (RKNN_QUERY_SDK_VERSION) and the anchor's outdated-runtime rule (§9).
#pragma once

#include <array>
#include <optional>
#include <string>

namespace ezrknn::detail {

// The first three digit runs of `api_version`: "2.3.2 (abcd@2024)" → {2, 3, 2}; nullopt when fewer exist.
std::optional<std::array<int, 3>> parse_api_version(const std::string& api_version);

// The oldest vendor runtime the engine was validated against.
inline constexpr std::array<int, 3> kRecommendedApiVersion = {2, 4, 1};

// True when `api_version` parses and is older than kRecommendedApiVersion.
bool is_outdated_api_version(const std::string& api_version);

// "RKNN API version <v> is likely outdated; behavior may be unstable. Recommended minimum version is 2.4.1."
std::string outdated_api_version_warning(const std::string& api_version);

}  // namespace ezrknn::detail
