#!/usr/bin/env bash
# The runtime image cannot miss a shared library: every library `ldd` reports for the built
# jq-server, jq-worker and jq-ctl (and jq's OpenSSL shims for civetweb, lib/jq/*.so, which the
# image installs in /usr/local/lib/jq) must come from a package listed in
# docker/runtime-packages.txt (the runtime stage of docker/Dockerfile installs exactly that
# list). Libraries are mapped to packages with `dpkg -S` on this Debian 12 machine, which is
# the image's base.
#   tools/deploy-check/image-libs.sh [BUILD_DIR]      (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
list="${RUNTIME_PACKAGES:-$root/docker/runtime-packages.txt}"

mapfile -t listed < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
declare -A have=()
for p in "${listed[@]}"; do have[$p]=1; done

fail=0
declare -A need=() first_lib=()
for bin in jq-server jq-worker jq-ctl lib/jq/libcrypto.so lib/jq/libssl.so; do
  exe="$build/$bin"
  if [ ! -x "$exe" ]; then
    echo "FAIL: $exe is not built (cmake --build $build --target $bin)" >&2
    exit 1
  fi
  if ldd "$exe" | grep -q 'not found'; then
    echo "FAIL: $bin: ldd reports a library that is not found:" >&2
    ldd "$exe" | grep 'not found' >&2
    fail=1
  fi
  # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the loader's own line.
  while read -r lib; do
    real="$(readlink -f "$lib")"
    pkg=""
    for candidate in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
      pkg="$(dpkg -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1)" && [ -n "$pkg" ] && break
    done
    if [ -z "$pkg" ]; then
      echo "FAIL: $bin: no Debian package owns $lib" >&2
      fail=1
      continue
    fi
    case " ${need[$pkg]:-} " in *" $bin "*) ;; *) need[$pkg]="${need[$pkg]:-} $bin" ;; esac
    first_lib[$pkg]="${first_lib[$pkg]:-$(basename "$lib")}"
  done < <(ldd "$exe" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}')
done

for pkg in $(printf '%s\n' "${!need[@]}" | sort); do
  if [ -z "${have[$pkg]:-}" ]; then
    echo "FAIL: package $pkg (${first_lib[$pkg]}... of${need[$pkg]}) is not in ${list#"$root"/}" >&2
    fail=1
  fi
done

# Packages listed but not needed by a binary must be the ones the file says why it has.
for p in "${listed[@]}"; do
  if [ -z "${need[$p]:-}" ] && ! awk -v p="$p" '$1 == p && /#/ { f = 1 } END { exit !f }' "$list"; then
    echo "FAIL: ${list#"$root"/}: $p is needed by no binary; say why it is there (a comment) or drop it" >&2
    fail=1
  fi
done

if [ "$fail" -ne 0 ]; then exit 1; fi
echo "ok:   runtime packages provide all ${#need[@]} packages of the libraries ldd reports for jq-server, jq-worker, jq-ctl"
