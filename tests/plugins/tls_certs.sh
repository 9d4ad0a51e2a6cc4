#!/bin/sh
# Certificates for tests/plugins/test_tls_e2e, made at test time with the
# openssl command into DIR (tls_certs.sh DIR):
#   ca            the test CA (ECDSA P-256)
#   default       default.test                         ECDSA  (first: the default)
#   www-rsa       www.example.test, example.test       RSA 2048
#   www-ec        www.example.test, example.test       ECDSA
#   www-v2        the same names, O=v2                  ECDSA  (for the reload)
#   wild          *.wild.test                          ECDSA
#   cnonly        CN=cnonly.test, no SAN               ECDSA
#   client        client one (DNS + email SAN)         ECDSA, clientAuth
#   otherca, stranger   another CA and a client certificate it signed
#   www-ec.ocsp   an OCSP response for www-ec (DER), from `openssl ocsp`
#   upstream      upstream.test and IP 127.0.0.1        ECDSA  (test_tls_upstream)
#   expired       the same names, expired yesterday     ECDSA
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { # NAME rsa|ec
	if [ "$2" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
	fi
}

ca() { # NAME SUBJECT
	key "$1" ec
	openssl req -x509 -new -key "$1.key" -subj "$2" -days 30 -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

cert() { # NAME rsa|ec SUBJECT SAN|- CA [DAYS]
	key "$1" "$2"
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "extendedKeyUsage=serverAuth,clientAuth"
		[ "$4" = - ] || echo "subjectAltName=$4"
	} >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" -CAcreateserial -days "${6:-30}" \
		-out "$1.pem" -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=foyer test CA"
cert default ec "/CN=default.test" "DNS:default.test" ca
cert www-rsa rsa "/O=rsa/CN=www.example.test" "DNS:www.example.test,DNS:example.test" ca
cert www-ec ec "/O=ecdsa/CN=www.example.test" "DNS:www.example.test,DNS:example.test" ca
cert www-v2 ec "/O=v2/CN=www.example.test" "DNS:www.example.test,DNS:example.test" ca
cert wild ec "/CN=*.wild.test" "DNS:*.wild.test" ca
cert cnonly ec "/CN=cnonly.test" - ca
cert client ec "/O=foyer tests/CN=client one" "DNS:client.example.test,email:client@example.test" ca
cert upstream ec "/CN=upstream.test" "DNS:upstream.test,IP:127.0.0.1" ca
cert expired ec "/CN=upstream.test" "DNS:upstream.test,IP:127.0.0.1" ca -1
ca otherca "/CN=another CA"
cert stranger ec "/CN=stranger" "DNS:stranger.test" otherca
# combined PEM: certificate and key in one file
cat www-ec.pem www-ec.key >www-ec.combined.pem
# an OCSP response for www-ec: the CA answers for itself (status "unknown":
# the index is empty, which is still a successful response to staple)
: >index.txt
openssl ocsp -issuer ca.pem -cert www-ec.pem -reqout www-ec.ocspreq -no_nonce 2>/dev/null
openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin www-ec.ocspreq \
	-respout www-ec.ocsp -ndays 1 >/dev/null 2>&1
test -s www-ec.ocsp
echo ok
