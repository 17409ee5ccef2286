#!/usr/bin/env bash
# Certificates for jq's TLS and mTLS (docs/security.md), made with openssl: for the local stack
# (scripts/dev-stack.sh start --tls) and for the tests. Not for production: keys are unencrypted
# and the CA lives beside them.
#
#   gen-certs.sh ca DIR NAME
#       DIR/NAME.pem and DIR/NAME.key: a self-signed CA.
#   gen-certs.sh leaf DIR NAME CA server|client [DAYS]
#       DIR/NAME.pem and DIR/NAME.key signed by DIR/CA.pem, valid DAYS days (default 30; a
#       negative number gives a certificate that has already expired). A server certificate
#       names localhost and 127.0.0.1, the addresses the stack and the tests dial, or what
#       JQ_CERT_SAN says (e.g. DNS:jq.internal,IP:10.0.0.5).
#   gen-certs.sh stack DIR
#       ca, server and client in DIR, unless DIR/ca.pem is there already.
set -euo pipefail

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# P-256 keys: quick to make, and every TLS stack jq uses takes them.
new_key_and_csr() {  # key csr subject
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1" -out "$2" -subj "$3" 2>/dev/null
}

make_ca() {  # dir name
  local dir=$1 name=$2
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.pem" -days 365 -subj "/CN=jq test CA $name" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}

make_leaf() {  # dir name ca kind days
  local dir=$1 name=$2 ca=$3 kind=$4 days=${5:-30} ext
  [ -f "$dir/$ca.pem" ] || { echo "gen-certs: no CA $dir/$ca.pem" >&2; exit 1; }
  case "$kind" in
    server) ext="subjectAltName=${JQ_CERT_SAN:-DNS:localhost,IP:127.0.0.1}\nextendedKeyUsage=serverAuth" ;;
    client) ext='extendedKeyUsage=clientAuth' ;;
    *) usage ;;
  esac
  new_key_and_csr "$dir/$name.key" "$dir/$name.csr" "/CN=jq $kind $name"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
    -CAcreateserial -out "$dir/$name.pem" -days "$days" -extfile <(printf '%b\n' "$ext") \
    2>/dev/null
  rm -f "$dir/$name.csr"
  chmod 600 "$dir/$name.key"
}

[ $# -ge 2 ] || usage
command -v openssl >/dev/null || { echo "gen-certs: openssl is not installed" >&2; exit 1; }
case "$1" in
  ca) [ $# -eq 3 ] || usage; make_ca "$2" "$3" ;;
  leaf) [ $# -ge 5 ] || usage; make_leaf "$2" "$3" "$4" "$5" "${6:-30}" ;;
  stack)
    [ $# -eq 2 ] || usage
    if [ ! -f "$2/ca.pem" ]; then
      make_ca "$2" ca
      make_leaf "$2" server ca server 365
      make_leaf "$2" client ca client 365
    fi
    ;;
  *) usage ;;
esac
