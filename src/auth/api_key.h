// API key secrets (SPEC §11): generated from the system's CSPRNG, stored as SHA-256 only,
// compared in constant time. OpenSSL does the cryptography; nothing here logs.
#pragma once

#include <string>
#include <string_view>

namespace jq::auth {

struct NewApiKey {
  std::string id;             // 16 hex digits
  std::string token;          // "jq_<id>_<secret>": shown once, never stored
  std::string secret_sha256;  // 32 raw bytes, what the api_keys row keeps
};

// A fresh key: 64 random bits of id, 256 of secret (RAND_bytes). Throws std::runtime_error
// only if the system cannot supply random bytes.
NewApiKey GenerateApiKey();

// SHA-256 of data, 32 raw bytes.
std::string Sha256(std::string_view data);

// Whether SHA-256(secret) equals expected_sha256, in time independent of where they differ.
bool SecretMatches(std::string_view secret, std::string_view expected_sha256);

}  // namespace jq::auth
