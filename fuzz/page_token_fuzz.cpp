// ListJobs page tokens (core/page_token.h): a client sends any string as page_token.
// Invariants: what DecodePageToken accepts is a cursor PostgreSQL can hold (a time in range,
// a UUID) and survives encode and decode unchanged; and a valid cursor made from the input
// round-trips: DecodePageToken(EncodePageToken(x)) == x.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/page_token.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"

namespace {

bool Same(const jq::PageCursor& a, const jq::PageCursor& b) {
  return a.created_at_us == b.created_at_us && a.job_id == b.job_id;
}

constexpr std::int64_t kMaxCreatedAtUs = 9'000'000'000'000'000LL;

// A UUID in either case, from 16 bytes of input.
std::string UuidFrom(FuzzedDataProvider& p) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  const char* hex = p.ConsumeBool() ? kUpper : kLower;
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto b = p.ConsumeIntegral<std::uint8_t>();
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string token(reinterpret_cast<const char*>(data), size);
  if (auto c = jq::DecodePageToken(token)) {
    JQ_FUZZ_CHECK(c->created_at_us >= 0 && c->created_at_us <= kMaxCreatedAtUs, token);
    JQ_FUZZ_CHECK(jq::IsUuid(c->job_id), token);
    const auto again = jq::DecodePageToken(jq::EncodePageToken(*c));
    JQ_FUZZ_CHECK(again && Same(*again, *c), token);
  }

  FuzzedDataProvider p(data, size);
  jq::PageCursor x;
  x.created_at_us = p.ConsumeIntegralInRange<std::int64_t>(0, kMaxCreatedAtUs);
  x.job_id = UuidFrom(p);
  const std::string encoded = jq::EncodePageToken(x);
  const auto back = jq::DecodePageToken(encoded);
  JQ_FUZZ_CHECK(back && Same(*back, x), encoded);
  return 0;
}
