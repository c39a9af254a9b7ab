#!/usr/bin/env bash
# Makes a local certificate authority and a broker certificate signed by it, for mosquitto's TLS
# listener: DIR/ca.key, DIR/ca.crt, DIR/server.key, DIR/server.crt (for 127.0.0.1 and localhost, and any
# further host names or addresses given). Keeps files that exist. Device certificates: `telemetry devices cert`.
#
#   scripts/make-tls.sh DIR [NAME...]
set -euo pipefail
dir=${1:?usage: scripts/make-tls.sh DIR [NAME...]}
shift
mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -sha256 \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=telemetry local CA" 2>/dev/null
fi
if [ ! -s "$dir/server.crt" ]; then
    names="IP:127.0.0.1,DNS:localhost"
    for n in "$@"; do
        if [[ $n =~ ^[0-9.]+$ ]]; then names="$names,IP:$n"; else names="$names,DNS:$n"; fi
    done
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=telemetry broker" 2>/dev/null
    printf 'subjectAltName = %s\nextendedKeyUsage = serverAuth\n' "$names" >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -CAserial "$dir/ca.srl" \
        -days 825 -sha256 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
    rm -f "$dir/server.csr" "$dir/server.ext"
fi
# The broker reads the key; readable by the owner only (mosquitto runs as this user here).
chmod 600 "$dir/ca.key" "$dir/server.key"
chmod 644 "$dir/ca.crt" "$dir/server.crt"
