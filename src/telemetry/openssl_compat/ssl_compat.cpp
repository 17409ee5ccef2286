// The "libssl.so" Debian 12's civetweb opens for HTTPS (see openssl_compat.h): OpenSSL 3's
// libssl with the one OpenSSL 1.1 name civetweb 1.15 requires and OpenSSL 3 dropped. Every
// other symbol civetweb looks up is found in this library's dependency, libssl.so.3.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate  // OpenSSL 3 makes it a macro for the new name

extern "C" {

// OpenSSL 1.1's SSL_get_peer_certificate took a reference, as SSL_get1_peer_certificate does.
__attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

}  // extern "C"
