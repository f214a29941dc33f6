// plan_memory: storage for every value, and one arena per ExecutionState in which intermediates and kernel scratch
// whose lifetimes do not overlap share bytes (greedy by size, first fit).
#include <algorithm>

#include "graph/lowered_graph.hpp"

namespace ezemu::graph {

namespace {

struct Block {
    size_t size = 0;
    size_t first = 0, last = 0;  // steps during which the bytes are in use
    size_t offset = 0;
    int value = -1;  // -1 for a step's scratch
    size_t step = 0;
};

// Places blocks largest first, each at the lowest offset free during its whole lifetime. Returns the arena size.
size_t place_blocks(std::vector<Block>& blocks) {
    std::vector<size_t> order(blocks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blocks[a].size > blocks[b].size; });
    std::vector<size_t> placed;
    std::vector<const Block*> busy;
    size_t arena = 0;
    for (size_t i : order) {
        Block& b = blocks[i];
        busy.clear();
        for (size_t p : placed)
            if (blocks[p].first <= b.last && b.first <= blocks[p].last) busy.push_back(&blocks[p]);
        std::sort(busy.begin(), busy.end(), [](const Block* x, const Block* y) { return x->offset < y->offset; });
        size_t offset = 0;
        for (const Block* o : busy) {
            if (o->offset >= offset + b.size) break;
            offset = std::max(offset, o->offset + o->size);
        }
        b.offset = offset;
        arena = std::max(arena, offset + b.size);
        placed.push_back(i);
    }
    return arena;
}

}  // namespace

void plan_memory(LoweredGraph& g) {
    const size_t n_values = g.values.size();
    for (Value& v : g.values) v.storage = {};
    for (Value& v : g.values)
        if (v.desc.is_constant()) v.storage = {StorageKind::Constant, 0};
    for (size_t k = 0; k < g.inputs.size(); ++k) g.values[static_cast<size_t>(g.inputs[k])].storage = {StorageKind::GraphInput, k};
    // A graph output that a kernel produces is written straight into the caller's buffer (the first time it is
    // listed; a repeat, an input or a constant listed as an output is copied after the run).
    for (size_t k = 0; k < g.outputs.size(); ++k) {
        Value& v = g.values[static_cast<size_t>(g.outputs[k])];
        if (v.producer >= 0 && v.storage.kind == StorageKind::None) v.storage = {StorageKind::GraphOutput, k};
    }

    // Views (Reshape, Flatten, Identity) share their input's storage: root[v] is the value that owns the bytes.
    std::vector<int> root(n_values);
    for (size_t v = 0; v < n_values; ++v) root[v] = static_cast<int>(v);
    std::vector<Block> blocks;
    std::vector<int> block_of(n_values, -1);
    for (size_t s = 0; s < g.steps.size(); ++s) {
        const Step& step = g.steps[s];
        const int alias = step.kernel->aliased_input();
        for (size_t i = 0; i < step.outputs.size(); ++i) {
            const int o = step.outputs[i];
            if (o < 0) continue;
            Value& v = g.values[static_cast<size_t>(o)];
            if (v.storage.kind == StorageKind::GraphOutput) continue;
            if (i == 0 && alias >= 0 && step.inputs[static_cast<size_t>(alias)] >= 0) {
                root[static_cast<size_t>(o)] = root[static_cast<size_t>(step.inputs[static_cast<size_t>(alias)])];
                continue;
            }
            block_of[static_cast<size_t>(o)] = static_cast<int>(blocks.size());
            blocks.push_back(Block{kernels::align_up(v.desc.byte_size()), s, s, 0, o, s});
        }
        if (const size_t scratch = step.kernel->scratch_bytes())
            blocks.push_back(Block{kernels::align_up(scratch), s, s, 0, -1, s});
    }
    // A block lives until the last step that reads its value or any view of it.
    for (size_t s = 0; s < g.steps.size(); ++s)
        for (int in : g.steps[s].inputs) {
            if (in < 0) continue;
            const int b = block_of[static_cast<size_t>(root[static_cast<size_t>(in)])];
            if (b >= 0) blocks[static_cast<size_t>(b)].last = std::max(blocks[static_cast<size_t>(b)].last, s);
        }

    g.arena_bytes = place_blocks(blocks);
    for (const Block& b : blocks) {
        if (b.value >= 0) g.values[static_cast<size_t>(b.value)].storage = {StorageKind::Arena, b.offset};
        else g.steps[b.step].scratch_offset = b.offset;
    }
    for (size_t v = 0; v < n_values; ++v)
        if (root[v] != static_cast<int>(v)) g.values[v].storage = g.values[static_cast<size_t>(root[v])].storage;
}

}  // namespace ezemu::graph
