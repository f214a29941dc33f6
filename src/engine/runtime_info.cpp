// What a session reports about its runtime: the version rules and the one-line description.
#include <cctype>
#include <string>

#include "ezrknn/session.hpp"
#include "runtime_version.hpp"

namespace ezrknn {
namespace detail {

std::optional<std::array<int, 3>> parse_api_version(const std::string& api_version) {
    std::array<int, 3> parts{};
    size_t found = 0;
    size_t i = 0;
    while (i < api_version.size() && found < parts.size()) {
        if (!std::isdigit(static_cast<unsigned char>(api_version[i]))) {
            ++i;
            continue;
        }
        long value = 0;
        while (i < api_version.size() && std::isdigit(static_cast<unsigned char>(api_version[i]))) {
            if (value < 1000000) value = value * 10 + (api_version[i] - '0');  // saturate absurd numbers
            ++i;
        }
        parts[found++] = static_cast<int>(value);
    }
    if (found < parts.size()) return std::nullopt;
    return parts;
}

bool is_outdated_api_version(const std::string& api_version) {
    const auto parsed = parse_api_version(api_version);
    return parsed && *parsed < kRecommendedApiVersion;
}

std::string outdated_api_version_warning(const std::string& api_version) {
    return "RKNN API version " + api_version + " is likely outdated; behavior may be unstable. Recommended minimum " +
           "version is " + std::to_string(kRecommendedApiVersion[0]) + "." + std::to_string(kRecommendedApiVersion[1]) +
           "." + std::to_string(kRecommendedApiVersion[2]) + ".";
}

}  // namespace detail

std::string RuntimeInfo::describe() const {
    const size_t slash = library_path.rfind('/');
    const std::string file = slash == std::string::npos ? library_path : library_path.substr(slash + 1);
    std::string out = kind + ": " + file + " " + (api_version.empty() ? std::string("(unknown version)") : api_version);
    if (!drv_version.empty()) out += ", driver " + drv_version;
    return out;
}

}  // namespace ezrknn
