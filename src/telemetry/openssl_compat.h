// Makes Debian 12's civetweb (1.15+dfsg-4) able to serve HTTPS. That build loads OpenSSL at run
// time with dlopen("libcrypto.so") and dlopen("libssl.so") (libssl-dev's unversioned symlinks,
// absent from runtime images) and is compiled for the OpenSSL 1.1 API: it requires
// SSL_get_peer_certificate, which OpenSSL 3 no longer exports. Without help, its OpenSSL set-up
// fails half-way and the first HTTPS connection calls a null pointer.
//
// jq builds two small libraries (src/telemetry/openssl_compat/) whose sonames are "libcrypto.so"
// and "libssl.so": they depend on the system's libcrypto.so.3 and libssl.so.3, and the libssl one
// adds the missing function. Loading them before civetweb starts makes its dlopen() calls return
// them (the dynamic loader matches an already loaded library by soname), and its dlsym() calls
// then find OpenSSL 3 through them. The process keeps using the one OpenSSL it is linked with.
#pragma once

#include "core/status.h"

namespace jq::telemetry {

// Loads the two libraries once per process, from the first directory that holds them:
// EXE_DIR/../lib/jq (an installation, e.g. /usr/local/lib/jq beside /usr/local/bin), then the
// build tree's lib/jq. Then checks that dlopen("libssl.so") really answers with the function
// civetweb needs. Thread-safe; later calls return the first call's result. Errors are
// Unavailable and say what to install where.
Status LoadCivetwebOpenSslCompat();

}  // namespace jq::telemetry
