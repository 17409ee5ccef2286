// The "libcrypto.so" Debian 12's civetweb opens for HTTPS (see openssl_compat.h): nothing of its
// own; civetweb's look-ups are answered by its dependency, libcrypto.so.3. It exists so that a
// host without libssl-dev's unversioned libcrypto.so symlink (a runtime image) serves HTTPS.
extern "C" {

__attribute__((visibility("default"))) int jq_openssl_compat_crypto() {
  return 1;
}

}  // extern "C"
