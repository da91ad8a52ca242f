# shellcheck shell=bash
# Skein cluster certificates with openssl: one CA per cluster, one certificate per node.
# Certificate making for where no `skein` binary runs: sourced (never run) by the compose
# image's `certs` command (compose/docker/skein-entrypoint) and deploy/kubernetes/make-secrets.
# The local launcher makes the same CA and node certificates with swift-certificates
# (Shared/SkeinLauncher/CertificateAuthority.swift); keep the two alike. docs/INTERFACES.md
# §4 and §9 say where each keeps the files.
#
#   pki_has_ca DIR                        DIR/ca.pem and DIR/ca.key exist
#   pki_make_ca DIR SUBJECT_CN            make them (EC P-256, 10 years, CA:TRUE)
#   pki_has_node_cert DIR                 DIR/node.pem and DIR/node.key exist
#   pki_make_node_cert DIR CA_DIR NAME SAN
#                                         DIR/node.pem + node.key signed by CA_DIR's CA:
#                                         CN = NAME, subjectAltName = SAN (e.g.
#                                         "DNS:node-a,IP:127.0.0.1"), EKU serverAuth and
#                                         clientAuth (a node both listens and dials)
#
# Keys are written with umask 077. A failing openssl prints its output prefixed with
# $PKI_PROG (set it before sourcing; default "pki") and exits 1.

PKI_PROG=${PKI_PROG:-pki}

pki_openssl() { # pki_openssl ARGS...: its chatter only when it fails
    local out
    out=$(openssl "$@" 2>&1) || {
        printf '%s: openssl %s failed: %s\n' "$PKI_PROG" "$1" "$out" >&2
        exit 1
    }
}

pki_has_ca() { [[ -f $1/ca.pem && -f $1/ca.key ]]; }

pki_make_ca() {
    local dir=$1 cn=$2
    mkdir -p "$dir"
    (umask 077 && pki_openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 -subj "/CN=$cn" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
}

pki_has_node_cert() { [[ -f $1/node.pem && -f $1/node.key ]]; }

pki_make_node_cert() {
    local dir=$1 ca=$2 name=$3 san=$4
    mkdir -p "$dir"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
        "$san" >"$dir/node.ext"
    (umask 077 && pki_openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/node.key" -out "$dir/node.csr" -subj "/CN=$name")
    pki_openssl x509 -req -in "$dir/node.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -CAcreateserial \
        -out "$dir/node.pem" -days 825 -extfile "$dir/node.ext"
    rm -f "$dir/node.csr"
}
