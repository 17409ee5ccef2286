#include "pem/pem_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace jq::pem {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

Status Bad(const PemFile& f, const std::string& why) {
  return Status::InvalidArgument(f.setting + ": " + f.path + ": " + why);
}

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string TimeText(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string Subject(X509* cert) {
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf - 1);
  return buf;
}

// No password prompt on the terminal: an encrypted key is refused (gRPC cannot use one).
int NoPassword(char*, int, int, void*) {
  return 0;
}

}  // namespace

Result<std::string> ReadFile(const PemFile& f) {
  std::ifstream in(f.path, std::ios::binary);
  if (!in) return Bad(f, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Bad(f, "cannot read");
  return ss.str();
}

Result<std::vector<X509Ptr>> LoadCertificates(const PemFile& f) {
  auto pem = ReadFile(f);
  if (!pem.ok()) return pem.status();
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(*pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(c);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (certs.empty()) return Bad(f, "no PEM certificate in it");
  for (const auto& c : certs) {
    if (X509_cmp_current_time(X509_get0_notAfter(c.get())) < 0) {
      return Bad(f, "certificate " + Subject(c.get()) + " expired on " +
                        TimeText(X509_get0_notAfter(c.get())));
    }
    if (X509_cmp_current_time(X509_get0_notBefore(c.get())) > 0) {
      return Bad(f, "certificate " + Subject(c.get()) + " is not valid before " +
                        TimeText(X509_get0_notBefore(c.get())));
    }
  }
  return certs;
}

Result<Identity> LoadIdentity(const PemFile& cert, const PemFile& key) {
  auto certs = LoadCertificates(cert);
  if (!certs.ok()) return certs.status();
  auto pem = ReadFile(key);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemBio(*pem);
  KeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (!pkey) return Bad(key, "no unencrypted PEM private key in it");
  if (X509_check_private_key(certs->front().get(), pkey.get()) != 1) {
    ERR_clear_error();
    return Bad(key, "does not match the certificate in " + cert.setting + " (" + cert.path + ")");
  }
  return Identity{.chain = std::move(*certs), .key = std::move(pkey)};
}

Status CheckIdentity(const PemFile& cert, const PemFile& key) {
  if (cert.path.empty() != key.path.empty()) {
    const PemFile& missing = cert.path.empty() ? cert : key;
    const PemFile& given = cert.path.empty() ? key : cert;
    return Status::InvalidArgument(missing.setting + ": required when " + given.setting +
                                   " is set");
  }
  if (cert.path.empty()) return Status::Ok();
  auto identity = LoadIdentity(cert, key);
  return identity.ok() ? Status::Ok() : identity.status();
}

Status CheckCa(const PemFile& ca) {
  if (ca.path.empty()) return Status::Ok();
  auto certs = LoadCertificates(ca);
  return certs.ok() ? Status::Ok() : certs.status();
}

const char* ServerFiles::mode() const {
  if (!enabled()) return "plaintext";
  return client_ca.path.empty() ? "TLS" : "mTLS (client certificates required)";
}

Status CheckServerFiles(const ServerFiles& files) {
  if (!files.client_ca.path.empty() && files.cert.path.empty()) {
    return Status::InvalidArgument(files.client_ca.setting + ": mTLS needs TLS: set " +
                                   files.cert.setting + " and " + files.key.setting + " too");
  }
  if (Status s = CheckIdentity(files.cert, files.key); !s.ok()) return s;
  return CheckCa(files.client_ca);
}

}  // namespace jq::pem
