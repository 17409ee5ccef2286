#include "auth/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "core/bearer.h"

namespace jq::auth {
namespace {

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("no random bytes available (RAND_bytes failed)");
  }
  return out;
}

std::string HexOf(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Base64UrlOf(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;  // unpadded
}

}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

NewApiKey GenerateApiKey() {
  NewApiKey k;
  k.id = HexOf(RandomBytes(kApiKeyIdLength / 2));
  const std::string secret = Base64UrlOf(RandomBytes(32));  // 43 characters
  k.token = "jq_" + k.id + "_" + secret;
  k.secret_sha256 = Sha256(secret);
  return k;
}

bool SecretMatches(std::string_view secret, std::string_view expected_sha256) {
  const std::string actual = Sha256(secret);
  return expected_sha256.size() == actual.size() &&
         CRYPTO_memcmp(actual.data(), expected_sha256.data(), actual.size()) == 0;
}

}  // namespace jq::auth
