// onnx_dump: prints what the emulator's ONNX reader sees in each model (or TensorProto) file, one canonical text
// form per file, so that tests/python/test_onnx_reader_crosscheck.py can compare it with what `onnx.load` sees.
//
//   onnx_dump [--model | --tensor | PATH | -]...
//
// Arguments are taken in order: --model / --tensor choose how the following files are read (model is the default),
// and "-" reads more arguments from stdin, one per line, so one process can dump thousands of files.
// Strings print as "..." with bytes outside printable ASCII, '"' and '\' as \xHH; floats print as their IEEE bits;
// payloads print as a byte count and the zlib CRC-32 of the bytes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "graph/onnx_model.hpp"

namespace onnx = ezemu::onnx;

namespace {

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0) {
    static const auto table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out + "\"";
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", v);
    return buf;
}

std::string float_bits(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return hex32(bits);
}

std::string ints(const std::vector<int64_t>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
    }
    return out + "]";
}

std::string tensor_line(const onnx::Tensor& t) {
    std::ostringstream o;
    o << quote(t.name) << " dtype=" << static_cast<int>(t.data_type) << " dims=" << ints(t.dims)
      << " external=" << (t.external ? 1 : 0);
    for (const auto& [k, v] : t.external_data) o << " ext:" << quote(k) << "=" << quote(v);
    if (t.data_type == onnx::DataType::String) {
        uint32_t crc = 0;
        for (const std::string& s : t.strings) {
            const uint8_t len[4] = {uint8_t(s.size()), uint8_t(s.size() >> 8), uint8_t(s.size() >> 16),
                                    uint8_t(s.size() >> 24)};
            crc = crc32(len, 4, crc);
            crc = crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size(), crc);
        }
        o << " strings=" << t.strings.size() << " crc=" << hex32(crc);
    } else {
        o << " bytes=" << t.byte_size() << " crc=" << hex32(crc32(t.data(), t.byte_size()));
    }
    return o.str();
}

std::string value_info_line(const onnx::ValueInfo& v) {
    std::ostringstream o;
    o << quote(v.name) << " tensor=" << (v.has_tensor_type ? 1 : 0) << " elem=" << static_cast<int>(v.elem_type);
    if (!v.has_shape) return o.str() + " shape=none";
    o << " shape=[";
    for (size_t i = 0; i < v.dims.size(); ++i) {
        const onnx::Dim& d = v.dims[i];
        o << (i ? "," : "");
        if (!d.param.empty()) o << quote(d.param);
        else if (d.value == -1) o << "?";
        else o << d.value;
    }
    o << "]";
    return o.str();
}

void dump_graph(std::ostream& out, const onnx::Graph& g, const std::string& pad);

void dump_attribute(std::ostream& out, const onnx::Attribute& a, const std::string& pad) {
    out << pad << "attr " << quote(a.name) << " type=" << static_cast<int>(a.type);
    uint32_t fbits;
    std::memcpy(&fbits, &a.f, sizeof fbits);
    if (fbits != 0) out << " f=" << float_bits(a.f);
    if (a.i != 0) out << " i=" << a.i;
    if (!a.s.empty()) out << " s=" << quote(a.s);
    if (!a.floats.empty()) {
        out << " floats=[";
        for (size_t i = 0; i < a.floats.size(); ++i) out << (i ? "," : "") << float_bits(a.floats[i]);
        out << "]";
    }
    if (!a.ints.empty()) out << " ints=" << ints(a.ints);
    if (!a.strings.empty()) {
        out << " strings=[";
        for (size_t i = 0; i < a.strings.size(); ++i) out << (i ? "," : "") << quote(a.strings[i]);
        out << "]";
    }
    if (!a.ref_attr_name.empty()) out << " ref=" << quote(a.ref_attr_name);
    out << "\n";
    const std::string inner = pad + "  ";
    if (a.type == onnx::AttributeType::Tensor) out << inner << "t " << tensor_line(a.t) << "\n";
    if (a.type == onnx::AttributeType::Graph) {
        if (a.g) dump_graph(out, *a.g, inner);
        else out << inner << "graph none\n";
    }
    for (const onnx::Tensor& t : a.tensors) out << inner << "t " << tensor_line(t) << "\n";
    for (const auto& g : a.graphs) dump_graph(out, *g, inner);
}

void dump_graph(std::ostream& out, const onnx::Graph& g, const std::string& pad) {
    out << pad << "graph " << quote(g.name) << "\n";
    const std::string inner = pad + "  ";
    for (const auto& v : g.inputs) out << inner << "input " << value_info_line(v) << "\n";
    for (const auto& v : g.outputs) out << inner << "output " << value_info_line(v) << "\n";
    for (const auto& v : g.value_info) out << inner << "value_info " << value_info_line(v) << "\n";
    for (const auto& t : g.initializers) out << inner << "initializer " << tensor_line(t) << "\n";
    for (const onnx::Node& n : g.nodes) {
        out << inner << "node " << quote(n.name) << " op=" << quote(n.op_type) << " domain=" << quote(n.domain)
            << " in=[";
        for (size_t i = 0; i < n.inputs.size(); ++i) out << (i ? "," : "") << quote(n.inputs[i]);
        out << "] out=[";
        for (size_t i = 0; i < n.outputs.size(); ++i) out << (i ? "," : "") << quote(n.outputs[i]);
        out << "]\n";
        for (const onnx::Attribute& a : n.attributes) dump_attribute(out, a, inner + "  ");
    }
}

void dump_model(std::ostream& out, const onnx::Model& m) {
    out << "ir_version " << m.ir_version << "\n"
        << "producer " << quote(m.producer_name) << " " << quote(m.producer_version) << "\n"
        << "domain " << quote(m.domain) << " model_version " << m.model_version << "\n"
        << "doc_string " << quote(m.doc_string) << "\n";
    for (const auto& o : m.opset_import) out << "opset " << quote(o.domain) << " " << o.version << "\n";
    for (const auto& [k, v] : m.metadata_props) out << "metadata " << quote(k) << " " << quote(v) << "\n";
    dump_graph(out, m.graph, "");
}

bool read_file(const std::string& path, std::vector<uint8_t>& bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

struct Dumper {
    bool tensor_mode = false;
    int failures = 0;

    void handle(const std::string& arg) {
        if (arg == "--model") { tensor_mode = false; return; }
        if (arg == "--tensor") { tensor_mode = true; return; }
        if (arg == "-") {
            std::string line;
            while (std::getline(std::cin, line)) {
                if (!line.empty() && line != "-") handle(line);
            }
            return;
        }
        std::ostringstream out;
        out << "== " << arg << "\n";
        std::vector<uint8_t> bytes;
        if (!read_file(arg, bytes)) {
            out << "error cannot read file\n";
            ++failures;
        } else {
            try {
                // Built aside so that a failure prints only the error line.
                std::ostringstream body;
                if (tensor_mode) {
                    body << "tensor " << tensor_line(onnx::parse_tensor(bytes.data(), bytes.size())) << "\n";
                } else {
                    dump_model(body, onnx::parse_model(bytes.data(), bytes.size()));
                }
                out << body.str();
            } catch (const onnx::ParseError& e) {
                out << "error " << e.what() << "\n";
                ++failures;
            }
        }
        std::cout << out.str();
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: onnx_dump [--model | --tensor | PATH | -]...\n";
        return 2;
    }
    std::ios::sync_with_stdio(false);
    Dumper d;
    for (int i = 1; i < argc; ++i) d.handle(argv[i]);
    std::cout.flush();
    return d.failures == 0 ? 0 : 1;
}
