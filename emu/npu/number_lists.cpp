#include "npu/number_lists.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace ezemu::npu {
namespace {

constexpr int kMaxDepth = 8;

class Parser {
public:
    explicit Parser(const std::string& text) : text_(text) {}

    NumberList parse() {
        NumberList value = parse_value(0);
        skip_spaces();
        if (pos_ != text_.size()) fail("unexpected text after the closing ']'");
        return value;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw std::invalid_argument(why + " at offset " + std::to_string(pos_));
    }

    void skip_spaces() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r'))
            ++pos_;
    }

    NumberList parse_value(int depth) {
        if (depth > kMaxDepth) fail("lists nested deeper than " + std::to_string(kMaxDepth));
        skip_spaces();
        if (pos_ >= text_.size()) fail("the text ends where a number or '[' was expected");
        if (text_[pos_] == '[') return parse_list(depth);
        return parse_number();
    }

    NumberList parse_list(int depth) {
        NumberList list;
        ++pos_;  // '['
        skip_spaces();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return list;
        }
        while (true) {
            list.items.push_back(parse_value(depth + 1));
            skip_spaces();
            if (pos_ >= text_.size()) fail("the text ends inside a list");
            if (text_[pos_] == ']') {
                ++pos_;
                return list;
            }
            if (text_[pos_] != ',') fail("expected ',' or ']'");
            ++pos_;
        }
    }

    NumberList parse_number() {
        const char* begin = text_.c_str() + pos_;
        char* end = nullptr;
        const double value = std::strtod(begin, &end);
        if (end == begin) fail("expected a number or '['");
        if (!std::isfinite(value)) fail("numbers must be finite");
        pos_ += static_cast<size_t>(end - begin);
        NumberList n;
        n.is_number = true;
        n.number = value;
        return n;
    }

    const std::string& text_;
    size_t pos_ = 0;
};

std::vector<double> numbers_of(const NumberList& list, const std::string& what) {
    if (list.is_number) throw std::invalid_argument(what + " must be a list of numbers, not a number");
    std::vector<double> out;
    for (const NumberList& item : list.items) {
        if (!item.is_number) throw std::invalid_argument(what + " must hold numbers, not lists");
        out.push_back(item.number);
    }
    return out;
}

const std::vector<NumberList>& items_of(const NumberList& list, const std::string& what) {
    if (list.is_number) throw std::invalid_argument(what + " must be a list, not a number");
    return list.items;
}

}  // namespace

NumberList parse_number_list(const std::string& text) { return Parser(text).parse(); }

std::vector<std::vector<float>> to_float_lists(const NumberList& list) {
    std::vector<std::vector<float>> out;
    const auto& entries = items_of(list, "the value");
    for (size_t i = 0; i < entries.size(); ++i) {
        std::vector<float> values;
        for (double v : numbers_of(entries[i], "entry " + std::to_string(i))) values.push_back(static_cast<float>(v));
        out.push_back(std::move(values));
    }
    return out;
}

std::vector<std::vector<std::vector<int64_t>>> to_shape_sets(const NumberList& list) {
    std::vector<std::vector<std::vector<int64_t>>> sets;
    const auto& set_items = items_of(list, "the value");
    for (size_t s = 0; s < set_items.size(); ++s) {
        std::vector<std::vector<int64_t>> shapes;
        const auto& tensors = items_of(set_items[s], "shape set " + std::to_string(s));
        for (size_t t = 0; t < tensors.size(); ++t) {
            const std::string what = "shape set " + std::to_string(s) + ", input " + std::to_string(t);
            std::vector<int64_t> dims;
            for (double d : numbers_of(tensors[t], what)) {
                if (d != std::floor(d) || d < 1 || d > 2147483647.0)
                    throw std::invalid_argument(what + " has dim " + std::to_string(d) +
                                                "; dims must be integers from 1 to 2^31-1");
                dims.push_back(static_cast<int64_t>(d));
            }
            shapes.push_back(std::move(dims));
        }
        sets.push_back(std::move(shapes));
    }
    return sets;
}

}  // namespace ezemu::npu
