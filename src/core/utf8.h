// Text that goes into a proto `string` (or a TEXT column) must be valid UTF-8: protobuf
// refuses to parse a message that holds anything else, so one job's binary stderr in a
// report would fail the whole call carrying it. Pure; no I/O.
#pragma once

#include <string>
#include <string_view>

namespace jq {

// `in` with every byte that does not start a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included) replaced by U+FFFD. Valid input comes
// back unchanged.
std::string ToValidUtf8(std::string_view in);

}  // namespace jq
