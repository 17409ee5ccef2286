// Certificates for TLS tests, made by scripts/gen-certs.sh (openssl) into a directory the test
// owns: CAs, server certificates for localhost/127.0.0.1, client certificates, expired ones.
// Fails the test when openssl does.
#pragma once

#include <string>

namespace jq::testing {

class TestCerts {
 public:
  explicit TestCerts(std::string dir);

  // NAME.pem and NAME.key in dir(): a self-signed CA.
  void Ca(const std::string& name);
  // NAME.pem and NAME.key signed by CA `ca`; days < 0: already expired. A server certificate
  // names `san` (subjectAltName, e.g. "DNS:elsewhere"), by default localhost and 127.0.0.1.
  void Server(const std::string& name, const std::string& ca, int days = 30,
              const std::string& san = "");
  void Client(const std::string& name, const std::string& ca, int days = 30);

  std::string pem(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  const std::string& dir() const { return dir_; }

 private:
  void Leaf(const std::string& name, const std::string& ca, const char* kind, int days,
            const std::string& san = "");
  std::string dir_;
};

}  // namespace jq::testing
