#!/bin/sh
# Validates the Kubernetes example (examples/kubernetes): every manifest
# parsed and checked object by object and across objects, the ConfigMap's
# foyer.lua checked with `foyer -t` and run with the real foyer, and broken
# copies refused (tests/deploy/test_k8s_manifests.py says what is checked).
#
# Needs python3 and PyYAML (Debian: python3-yaml). Without them the test is
# skipped (77), except in CI (the variable CI set), where it fails: CI must
# run it.
srcdir=${FOYER_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
foyer=${FOYER_BIN:-$srcdir/foyer}
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
	if [ -n "${CI+set}" ]; then
		echo "FAIL: python3 with PyYAML is missing and CI is set: install python3-yaml (.ci/deps.sh)"
		exit 1
	fi
	echo "SKIP: python3-yaml (PyYAML) is not installed: apt-get install python3-yaml"
	exit 77
fi
exec python3 "$srcdir/tests/deploy/test_k8s_manifests.py" \
	--root "$srcdir/examples/kubernetes" --foyer "$foyer" "$@"
