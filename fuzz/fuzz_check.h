// Helpers shared by the fuzz targets: an invariant that fails aborts, so that libFuzzer keeps
// the input as a crash-* reproducer (fuzz/run.sh fails the run on it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace jq::fuzz {

[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n  %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define JQ_FUZZ_CHECK(cond, detail)                 \
  do {                                              \
    if (!(cond)) ::jq::fuzz::Fail(#cond, (detail)); \
  } while (0)

// Well-formed UTF-8 by decoding code points (an algorithm apart from core/utf8.cpp's table,
// so the two check each other).
inline bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const char32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// What an error message may hold: one line of valid UTF-8 without control characters, so
// that it can go into a log line, a gRPC status and a terminal as it is.
inline bool IsPrintableLine(std::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return IsValidUtf8(s);
}

}  // namespace jq::fuzz
