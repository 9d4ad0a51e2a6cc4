# tests/deploy: the deployment examples. test_k8s_manifests.sh validates the
# Kubernetes example without a cluster: every manifest of examples/kubernetes
# parsed (multi-document YAML, PyYAML) and checked object by object and across
# objects (selectors, ports, probes against the admin port foyer.lua
# configures, draining, security), the ConfigMap's foyer.lua checked with
# `foyer -t` and run with the real foyer, broken copies refused. Skipped (77)
# without python3-yaml unless CI is set.
TESTS += tests/deploy/test_k8s_manifests.sh
EXTRA_DIST += tests/deploy/test_k8s_manifests.sh tests/deploy/test_k8s_manifests.py \
	examples/kubernetes/README.md examples/kubernetes/Containerfile \
	examples/kubernetes/kustomization.yaml examples/kubernetes/deployment.yaml \
	examples/kubernetes/pdb.yaml \
	examples/kubernetes/common/kustomization.yaml examples/kubernetes/common/configmap.yaml \
	examples/kubernetes/common/serviceaccount.yaml examples/kubernetes/common/service.yaml \
	examples/kubernetes/daemonset/kustomization.yaml examples/kubernetes/daemonset/daemonset.yaml
