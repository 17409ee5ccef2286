#include "telemetry/openssl_compat.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace jq::telemetry {
namespace {

Status Load() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "lib" / "jq");
  dirs.emplace_back(JQ_OPENSSL_COMPAT_BUILD_DIR);
  std::string tried;
  for (const auto& dir : dirs) {
    const auto crypto = dir / "libcrypto.so";
    const auto ssl = dir / "libssl.so";
    if (!std::filesystem::exists(ssl, ec) || !std::filesystem::exists(crypto, ec)) {
      tried += (tried.empty() ? "" : ", ") + dir.string();
      continue;
    }
    // Never closed: civetweb keeps using them for the life of the process.
    for (const auto& lib : {crypto, ssl}) {
      if (dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
        return Status::Unavailable("HTTPS: cannot load " + lib.string() + ": " + dlerror());
      }
    }
    void* handle = dlopen("libssl.so", RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr || dlsym(handle, "SSL_get_peer_certificate") == nullptr) {
      return Status::Unavailable("HTTPS: " + ssl.string() +
                                 " was loaded but dlopen(\"libssl.so\") does not answer with it");
    }
    return Status::Ok();
  }
  return Status::Unavailable(
      "HTTPS on the metrics port needs jq's libssl.so and libcrypto.so shims (civetweb "
      "compatibility, docs/security.md) in one of: " +
      tried);
}

}  // namespace

Status LoadCivetwebOpenSslCompat() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] { result = Load(); });
  return result;
}

}  // namespace jq::telemetry
