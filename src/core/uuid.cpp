#include "core/uuid.h"

#include <chrono>
#include <cstdio>
#include <random>

namespace jq {

std::string FormatUuidV7(std::uint64_t unix_ms, std::uint16_t rand_a, std::uint64_t rand_b) {
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(unix_ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((rand_a >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(rand_a & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | ((rand_b >> 56) & 0x3F));
  for (int i = 9; i < 16; ++i) b[i] = static_cast<unsigned char>(rand_b >> (8 * (15 - i)));
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string NewUuidV7() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return FormatUuidV7(static_cast<std::uint64_t>(ms), static_cast<std::uint16_t>(rng()), rng());
}

}  // namespace jq
