// The escaping that keeps every log line one JSON object (telemetry/log.h JsonEscape): log
// messages carry job ids, queue names, request ids, payload errors and job stderr tails cut
// to a length. Invariants: the escaped text, in quotes, is one line that a strict JSON parser
// reads back as the input made valid UTF-8 (core/utf8.h).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/utf8.h"
#include "fuzz/fuzz_check.h"
#include "telemetry/log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string escaped = jq::telemetry::JsonEscape(in);
  for (char c : escaped) JQ_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, escaped);
  const auto parsed =
      nlohmann::json::parse("\"" + escaped + "\"", nullptr, /*allow_exceptions=*/false);
  JQ_FUZZ_CHECK(parsed.is_string(), escaped);
  JQ_FUZZ_CHECK(parsed.get<std::string>() == jq::ToValidUtf8(in), escaped);
  return 0;
}
