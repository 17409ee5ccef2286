#include "core/trace.h"

#include <random>

namespace jq {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
bool AllZero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::string RandomHex(int digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    std::uint64_t v = rng();
    for (int i = 0; i < 16 && static_cast<int>(out.size()) < digits; ++i, v >>= 4) {
      out.push_back(kHex[v & 0xF]);
    }
  }
  if (AllZero(out)) out.back() = '1';
  return out;
}

}  // namespace

std::string TraceParent::ToString() const {
  return "00-" + trace_id + "-" + parent_id + "-" + flags;
}

std::optional<TraceParent> ParseTraceParent(std::string_view v) {
  // 00-<32 hex>-<16 hex>-<2 hex>
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  if (v.substr(0, 2) != "00") return std::nullopt;
  TraceParent t{std::string(v.substr(3, 32)), std::string(v.substr(36, 16)),
                std::string(v.substr(53, 2))};
  if (!IsLowerHex(t.trace_id) || !IsLowerHex(t.parent_id) || !IsLowerHex(t.flags) ||
      AllZero(t.trace_id) || AllZero(t.parent_id)) {
    return std::nullopt;
  }
  return t;
}

TraceParent NewTraceParent() {
  return {RandomHex(32), RandomHex(16), "01"};
}

TraceParent ChildOf(const TraceParent& parent) {
  return {parent.trace_id, RandomHex(16), parent.flags};
}

}  // namespace jq
