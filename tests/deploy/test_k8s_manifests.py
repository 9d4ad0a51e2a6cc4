#!/usr/bin/env python3
"""Validates the Kubernetes example (examples/kubernetes) without a cluster.

Every *.yaml / *.yml file under the directory is parsed as multi-document YAML
(PyYAML, Debian's python3-yaml) and every object is checked:

- a known kind with its apiVersion (apps/v1 Deployment and DaemonSet, v1
  Service, ConfigMap and ServiceAccount, policy/v1 PodDisruptionBudget,
  kustomize.config.k8s.io/v1beta1 Kustomization) and a valid metadata.name;
- each kustomization: known fields only, every resource present (a manifest
  file inside its directory, as kustomize's load restrictor wants, or a
  directory holding a kustomization), no manifest left out of every build;
- per build (a kustomization no other one includes, with its resources
  followed recursively): no object twice, and the references between objects:
  * Deployment / DaemonSet: selector.matchLabels within the pod labels;
    containers with a name and an image; the foyer container reads a foyer.lua
    that comes from a ConfigMap of the build through a directory mount (not
    subPath, which never sees ConfigMap updates); readiness on /ready and
    liveness on /healthz, on a declared container port that is the admin port
    foyer.lua really configures (bound to all addresses, not loopback); every
    `listen` port declared as a container port; a preStop sleep and a
    terminationGracePeriodSeconds covering it plus foyer's grace_period;
    requests and limits, `workers` set and within the CPU limit; non-root
    (numeric runAsUser, the Containerfile's USER), read-only root file system,
    no privilege escalation, all capabilities dropped; Deployment: rolling
    update and pod anti-affinity; DaemonSet: hostPort or hostNetwork;
  * Service: the selector matches the pods of a workload of the build, every
    targetPort names a container port of those pods, the admin port is not
    exposed, a LoadBalancer keeps externalTrafficPolicy: Local;
  * PodDisruptionBudget: the selector matches a workload's pods, one of
    minAvailable / maxUnavailable, maxUnavailable only for a Deployment;
- every ConfigMap's foyer.lua passes `foyer -t -c FILE` with the real binary;
- the Containerfile: Debian 12, installs the foyer .deb, numeric USER,
  EXPOSEs the container ports, runs /usr/sbin/foyer -c /etc/foyer/foyer.lua.

Then each foyer.lua a workload uses is run with the real foyer (its admin and
listen addresses moved to free loopback ports, service endpoints to a closed
loopback port, so nothing leaves the machine): the probes' paths answer 200 on
the admin listener, the listener answers, SIGHUP reloads it
(foyer_reloads_total{result="ok"} grows) and SIGTERM stops it with exit 0.

Finally negative self-checks: broken copies of the directory, made in a
temporary directory, must each be refused for the expected reason.

Usage: test_k8s_manifests.py --root examples/kubernetes --foyer ./foyer
Exit 0 when everything holds, 1 otherwise; prints PASS/FAIL lines and
"test_k8s_manifests: N passed, N failed".
"""

import argparse
import http.client
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import yaml
except ImportError:  # a skip outside CI only, as in the shell wrapper
    print("python3-yaml (PyYAML) is not installed", file=sys.stderr)
    sys.exit(1 if "CI" in os.environ else 77)

KNOWN_KINDS = {
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "ServiceAccount": "v1",
    "PodDisruptionBudget": "policy/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
WORKLOADS = ("Deployment", "DaemonSet")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields of a kustomization this test understands. Transformers that rename
# or relabel objects (namePrefix, labels, patches, ...) would make the checks
# of references below wrong: teach the test about them before using them.
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "metadata", "resources", "images", "namespace"}
DEFAULT_CONFIG = "/etc/foyer/foyer.lua"
MARGIN_SECONDS = 5  # for the workers to exit after grace_period

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


# ---- results ---------------------------------------------------------------


class Report:
    def __init__(self):
        self.passed = []
        self.failed = []

    def check(self, cond, where, what, detail=""):
        """Records `what` about `where` as holding or not; returns cond."""
        msg = f"{where}: {what}"
        if cond:
            self.passed.append(msg)
        else:
            self.failed.append(msg + (f" -- {detail}" if detail else ""))
        return bool(cond)

    def fail(self, where, what, detail=""):
        return self.check(False, where, what, detail)


def dig(d, *keys):
    """d[k1][k2]... or None when a level is missing or not a mapping."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---- loading ---------------------------------------------------------------


class Obj:
    def __init__(self, path, index, doc):
        self.path, self.index, self.doc = path, index, doc
        self.kind = doc.get("kind") if isinstance(doc, dict) else None
        name = dig(doc, "metadata", "name")
        self.name = name if isinstance(name, str) else None

    def where(self):
        kind = self.kind if isinstance(self.kind, str) else "?"
        return f"{self.path}#{self.index + 1} {kind}/{self.name or '?'}"


def manifest_files(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")) or f == "Kustomization":
                out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def load(root, rep):
    """{relative path: [Obj]} for every manifest file; parse errors reported."""
    files = {}
    for rel in manifest_files(root):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            rep.fail(rel, "parses as (multi-document) YAML", str(e).replace("\n", " "))
            files[rel] = []
            continue
        objs = []
        for i, doc in enumerate(docs):
            if doc is None:  # an empty document (a trailing ---)
                continue
            if not rep.check(isinstance(doc, dict), f"{rel}#{i + 1}", "document is a mapping",
                             f"got {type(doc).__name__}"):
                continue
            objs.append(Obj(rel, i, doc))
        rep.check(objs, rel, "holds at least one object")
        files[rel] = objs
    return files


# ---- foyer.lua -------------------------------------------------------------


LONG_BRACKET = re.compile(r"\[(=*)\[")
STRING_LITERAL = re.compile(r"\"((?:\\.|[^\"\\\n])*)\"|'((?:\\.|[^'\\\n])*)'")


def strip_lua_comments(src):
    """The code without its comments (newlines kept, strings untouched)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("--", i):
            m = LONG_BRACKET.match(src, i + 2)
            if m:
                close = "]" + m.group(1) + "]"
                j = src.find(close, m.end())
                j = n if j < 0 else j + len(close)
            else:
                j = src.find("\n", i)
                j = n if j < 0 else j
            out.append("\n" * src.count("\n", i, j))
            i = j
            continue
        c = src[i]
        if c in "\"'":
            m = STRING_LITERAL.match(src, i)
            j = m.end() if m else n
            out.append(src[i:j])
            i = j
            continue
        m = LONG_BRACKET.match(src, i)
        if m:
            close = "]" + m.group(1) + "]"
            j = src.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append(src[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_addr(text):
    """(host, port) of foyer's "addr:port" / "[v6]:port" / "*:port", or None."""
    m = re.match(r"^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$", text) or re.match(r"^([^:\[\]]*):(\d{1,5})$", text)
    if not m or int(m.group(2)) > 65535:
        return None
    host = m.group(1)
    if host in ("", "*"):
        host = "0.0.0.0"
    return host, int(m.group(2))


def is_loopback(host):
    return host.startswith("127.") or host in ("::1", "localhost")


def is_wildcard(host):
    return host in ("0.0.0.0", "::")


class LuaConfig:
    """What the checks need from a foyer.lua, read from its code (comments
    stripped): the admin address, the listen addresses, workers and
    grace_period, with the spans of the address literals (for the run)."""

    def __init__(self, text):
        self.text = text
        self.code = strip_lua_comments(text)
        self.problems = []
        code = self.code
        # a string literal: group 1 the literal, 2 or 3 its content
        lit = r"(\"((?:\\.|[^\"\\\n])*)\"|'((?:\\.|[^'\\\n])*)')"
        admins = list(re.finditer(r"\badmin\s*=\s*(" + lit + r"|[^\s,}]+)", code))
        self.admin = self.admin_span = None
        if not admins:
            self.problems.append("no `admin = \"ADDR:PORT\"` in set { }: the probes need the admin listener")
        elif len(admins) > 1:
            self.problems.append("`admin =` appears more than once: cannot tell which one is in force")
        else:
            m = admins[0]
            value = m.group(3) if m.group(3) is not None else m.group(4)
            if m.group(2) is None:
                self.problems.append(f"admin is `{m.group(1)}`, not a literal \"ADDR:PORT\"")
            else:
                self.admin = value
                self.admin_span = (m.start(2), m.end(2))
        self.listens = []  # [(text, span)]
        for m in re.finditer(r"\blisten\s*(?:\(\s*)?(?:\{\s*)?" + lit, code):
            value = m.group(2) if m.group(2) is not None else m.group(3)
            self.listens.append((value, (m.start(1), m.end(1))))
        w = re.findall(r"\bworkers\s*=\s*(\d+)\b", code)
        self.workers = int(w[-1]) if w else None
        g = re.findall(r"\bgrace_period\s*=\s*(\d+(?:\.\d+)?)", code)
        self.grace_period = float(g[-1]) if g else 30.0

    def admin_addr(self):
        return parse_addr(self.admin) if self.admin is not None else None

    def listen_addrs(self):
        return [(t, parse_addr(t)) for t, _ in self.listens]

    def for_test_run(self, admin_port, listen_ports, closed_port):
        """The code with admin and listeners on 127.0.0.1 ports and every other
        address literal (service endpoints) on a closed loopback port."""
        repl = {self.admin_span: f'"127.0.0.1:{admin_port}"'}
        for (_, span), port in zip(self.listens, listen_ports):
            repl[span] = f'"127.0.0.1:{port}"'
        for m in STRING_LITERAL.finditer(self.code):
            if (m.start(), m.end()) in repl:
                continue
            value = m.group(1) if m.group(1) is not None else m.group(2)
            e = re.match(r"^(https?://)?(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$", value)
            if e:
                repl[(m.start(), m.end())] = f'"{e.group(1) or ""}127.0.0.1:{closed_port}"'
        code = self.code
        for (a, b), new in sorted(repl.items(), reverse=True):
            code = code[:a] + new + code[b:]
        return code


def foyer_check(foyer, data, rep, where, cache):
    """`foyer -t -c foyer.lua` in a directory holding all of the ConfigMap's
    keys (foyer.lua may require the others)."""
    key = tuple(sorted(data.items()))
    if key not in cache:
        with tempfile.TemporaryDirectory(prefix="foyer-k8s-t.") as d:
            for k, v in data.items():
                with open(os.path.join(d, k), "w", encoding="utf-8") as f:
                    f.write(v)
            try:
                p = subprocess.run([foyer, "-t", "-c", os.path.join(d, "foyer.lua")],
                                   capture_output=True, text=True, timeout=60)
                cache[key] = (p.returncode, (p.stdout + p.stderr).strip().replace(d + "/", ""))
            except (OSError, subprocess.TimeoutExpired) as e:
                cache[key] = (-1, str(e))
    rc, out = cache[key]
    rep.check(rc == 0, where, "foyer.lua passes `foyer -t -c FILE`", f"exit {rc}: {out}")


# ---- quantities ------------------------------------------------------------


def cpu_cores(q):
    m = re.match(r"^(\d+(?:\.\d+)?)(m?)$", str(q))
    if not m:
        return None
    v = float(m.group(1))
    return v / 1000 if m.group(2) else v


MEM_SUFFIX = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20,
              "Gi": 2**30, "Ti": 2**40}


def mem_bytes(q):
    m = re.match(r"^(\d+(?:\.\d+)?)([kMGT]i?|Ki)?$", str(q))
    if not m or (m.group(2) or "") not in MEM_SUFFIX:
        return None
    return float(m.group(1)) * MEM_SUFFIX[m.group(2) or ""]


# ---- single objects --------------------------------------------------------


def check_labels(rep, where, what, labels):
    if not isinstance(labels, dict):
        return rep.fail(where, f"{what} is a mapping")
    bad = [f"{k}={v}" for k, v in labels.items()
           if not isinstance(k, str) or not LABEL_NAME.match(k.split("/")[-1])
           or not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v)]
    return rep.check(not bad, where, f"{what}: valid label keys and string values", ", ".join(bad))


def check_object(o, rep):
    where = o.where()
    kind, api = o.doc.get("kind"), o.doc.get("apiVersion")
    if not rep.check(kind in KNOWN_KINDS, where, "known kind", f"kind {kind!r} (known: {', '.join(KNOWN_KINDS)})"):
        return
    rep.check(api == KNOWN_KINDS[kind], where, f"apiVersion {KNOWN_KINDS[kind]} for {kind}",
              f"apiVersion is {api!r}")
    if kind == "Kustomization":
        return
    name = o.name
    if rep.check(name, where, "metadata.name present"):
        pattern = DNS1035_LABEL if kind == "Service" else DNS1123_SUBDOMAIN
        limit = 63 if kind == "Service" else 253
        rep.check(len(name) <= limit and pattern.match(name), where, "metadata.name is a valid name",
                  f"{name!r}")
    if dig(o.doc, "metadata", "labels") is not None:
        check_labels(rep, where, "metadata.labels", o.doc["metadata"]["labels"])
    if kind == "ConfigMap":
        data = o.doc.get("data")
        rep.check(isinstance(data, dict) and data and all(isinstance(k, str) and isinstance(v, str)
                                                          for k, v in data.items()),
                  where, "data: a mapping of strings")


# ---- kustomizations and builds ---------------------------------------------


def is_kustomization_file(rel):
    return os.path.basename(rel) in KUSTOMIZATION_FILES


def kustomization_in(root, reldir):
    for f in KUSTOMIZATION_FILES:
        rel = os.path.normpath(os.path.join(reldir, f))
        if os.path.isfile(os.path.join(root, rel)):
            return rel
    return None


def check_kustomization(root, rel, objs, rep):
    """Its resources as (kind, relative path) pairs: ("file", ...) / ("dir", kustomization)."""
    where = f"{rel}"
    if not rep.check(len(objs) == 1 and objs[0].kind == "Kustomization", where,
                     "one Kustomization document"):
        return []
    k = objs[0].doc
    unknown = sorted(set(k) - KUSTOMIZATION_FIELDS)
    rep.check(not unknown, where, "only fields this test understands",
              f"{', '.join(unknown)}: extend tests/deploy/test_k8s_manifests.py first")
    for img in k.get("images") or []:
        rep.check(isinstance(img, dict) and isinstance(img.get("name"), str), where,
                  "each images entry has a name")
    res = k.get("resources")
    if not rep.check(isinstance(res, list) and res and all(isinstance(r, str) for r in res),
                     where, "resources: a non-empty list of paths"):
        return []
    rep.check(len(set(res)) == len(res), where, "no resource listed twice")
    out = []
    kdir = os.path.dirname(rel)
    for r in res:
        if "://" in r or r.startswith(("github.com/", "git@")):
            rep.fail(where, f"resource {r} is local", "the example must be self-contained")
            continue
        target = os.path.normpath(os.path.join(kdir, r))
        full = os.path.join(root, target)
        inside_root = not target.startswith("..") and not os.path.isabs(r)
        if os.path.isdir(full):
            sub = kustomization_in(root, target)
            if rep.check(sub and inside_root, where, f"resource {r}: a directory with a kustomization",
                         "missing kustomization.yaml" if not sub else "outside examples/kubernetes"):
                out.append(("dir", sub))
        elif os.path.isfile(full):
            # kustomize's default load restrictor: files only at or below the
            # kustomization's own directory (directories may be anywhere)
            below = not os.path.relpath(target, kdir or ".").startswith("..")
            if rep.check(below and target.endswith((".yaml", ".yml")), where,
                         f"resource {r}: a manifest file at or below {kdir or '.'}",
                         "kustomize refuses files outside the kustomization's directory; "
                         "include that directory's kustomization instead" if not below else "not .yaml"):
                out.append(("file", target))
        else:
            rep.fail(where, f"resource {r} exists", f"{target} is missing")
    return out


def build(kfile, kres, files, rep, stack=()):
    """The objects of a kustomization build (no transformers are used), and
    the manifest files it covers."""
    if kfile in stack:
        rep.fail(kfile, "no kustomization cycle", " -> ".join(stack + (kfile,)))
        return [], set()
    objs, covered = [], set()
    for what, rel in kres.get(kfile, []):
        if what == "file":
            objs += files.get(rel, [])
            covered.add(rel)
        else:
            o, c = build(rel, kres, files, rep, stack + (kfile,))
            objs += o
            covered |= c
    return objs, covered


# ---- workloads -------------------------------------------------------------


def foyer_container(containers):
    for c in containers:
        if isinstance(c, dict) and (c.get("name") == "foyer" or "foyer" in str(c.get("image", ""))):
            return c
    return None


def config_path(c):
    argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    for i, a in enumerate(argv):
        if a == "-c" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("-c") and len(a) > 2:
            return a[2:]
    return DEFAULT_CONFIG


def prestop_seconds(c):
    pre = dig(c, "lifecycle", "preStop")
    if not isinstance(pre, dict):
        return None
    if is_int(dig(pre, "sleep", "seconds")):
        return pre["sleep"]["seconds"]
    cmd = dig(pre, "exec", "command")
    if isinstance(cmd, list):
        words = " ".join(str(x) for x in cmd).split()
        for i, w in enumerate(words):
            if os.path.basename(w) == "sleep" and i + 1 < len(words) and re.match(r"^\d+$", words[i + 1]):
                return int(words[i + 1])
    return None


def selector_matches(sel, labels):
    return isinstance(sel, dict) and sel and isinstance(labels, dict) and \
        all(labels.get(k) == v for k, v in sel.items())


def check_workload(w, b, rep, ctx):
    """One Deployment / DaemonSet of build b; returns its pod facts for the
    Service / PDB checks and the run."""
    where = w.where()
    doc = w.doc
    sel = dig(doc, "spec", "selector", "matchLabels")
    labels = dig(doc, "spec", "template", "metadata", "labels")
    if rep.check(isinstance(sel, dict) and sel, where, "spec.selector.matchLabels present"):
        check_labels(rep, where, "spec.selector.matchLabels", sel)
        missing = [f"{k}={v}" for k, v in sel.items() if not isinstance(labels, dict) or labels.get(k) != v]
        rep.check(isinstance(labels, dict) and not missing, where,
                  "spec.selector.matchLabels match spec.template.metadata.labels",
                  f"not pod labels: {', '.join(missing)}")
    pod = dig(doc, "spec", "template", "spec") or {}
    containers = pod.get("containers")
    if not rep.check(isinstance(containers, list) and containers, where,
                     "spec.template.spec.containers: a non-empty list"):
        return None
    ports = {}  # name -> containerPort, over every container
    numbers = set()
    for c in containers:
        cw = f"{where} container {c.get('name') if isinstance(c, dict) else '?'}"
        if not rep.check(isinstance(c, dict), cw, "a mapping"):
            continue
        rep.check(isinstance(c.get("name"), str) and DNS1123_LABEL.match(c.get("name") or ""), cw,
                  "has a valid name")
        rep.check(isinstance(c.get("image"), str) and c.get("image").strip(), cw, "has an image")
        for p in c.get("ports") or []:
            cp = p.get("containerPort") if isinstance(p, dict) else None
            if not rep.check(is_int(cp) and 0 < cp < 65536, cw, "containerPort is a port number", f"{p!r}"):
                continue
            numbers.add(cp)
            if "name" in p:
                n = p["name"]
                ok = isinstance(n, str) and len(n) <= 15 and IANA_SVC_NAME.match(n)
                rep.check(ok and n not in ports, cw, f"port name {n} valid and unique")
                ports[n] = cp
    c = foyer_container(containers)
    if not rep.check(c is not None, where, "has a foyer container (name or image foyer)"):
        return None
    cw = f"{where} container {c.get('name')}"
    own = {p["name"]: p["containerPort"] for p in c.get("ports") or []
           if isinstance(p, dict) and "name" in p and is_int(p.get("containerPort"))}
    own_numbers = {p.get("containerPort") for p in c.get("ports") or [] if isinstance(p, dict)}
    host_network = pod.get("hostNetwork") is True
    host_ports = [p for p in c.get("ports") or [] if isinstance(p, dict) and "hostPort" in p]

    # the configuration: a ConfigMap of the build, mounted as a directory
    lua = None
    path = config_path(c)
    volumes = {v.get("name"): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
    mount = None
    for m in c.get("volumeMounts") or []:
        mp = str(m.get("mountPath", "")).rstrip("/")
        if m.get("subPath") and (mp == path or path.startswith(mp + "/")):
            mount = m
            break
        if os.path.dirname(path) == mp:
            mount = m
    if rep.check(mount is not None, cw, f"a volume is mounted at {os.path.dirname(path)} for -c {path}"):
        rep.check(not mount.get("subPath"), cw, "configuration mounted as a directory, not with subPath",
                  "a subPath mount never sees ConfigMap updates: SIGHUP would reload the old file")
        key = os.path.basename(path) if not mount.get("subPath") else mount["subPath"]
        vol = volumes.get(mount.get("name"))
        cm_name = dig(vol, "configMap", "name")
        if rep.check(cm_name, cw, f"volume {mount.get('name')} is a configMap volume"):
            items = dig(vol, "configMap", "items")
            if isinstance(items, list):
                key = next((i.get("key") for i in items if i.get("path") == key), None)
            cms = [o for o in b if o.kind == "ConfigMap" and o.name == cm_name]
            if rep.check(cms, cw, f"ConfigMap {cm_name} is in the build"):
                data = cms[0].doc.get("data") or {}
                if rep.check(isinstance(data, dict) and isinstance(data.get(key), str), cw,
                             f"ConfigMap {cm_name} holds {key}"):
                    lua = LuaConfig(data[key])
                    ctx["lua_users"].setdefault(data[key], (dict(data), w))
    if lua is None:
        return {"labels": labels, "ports": ports, "numbers": numbers, "admin_port": None, "workload": w}
    for p in lua.problems:
        rep.fail(cw, "foyer.lua configures the admin listener", p)

    # admin listener and listeners against ports and probes
    admin = lua.admin_addr()
    admin_port = None
    if lua.admin is not None and rep.check(admin, cw, "foyer.lua: admin is an ADDR:PORT", repr(lua.admin)):
        host, admin_port = admin
        rep.check(not is_loopback(host), cw, "foyer.lua: admin listener not on loopback",
                  f"admin = \"{lua.admin}\": the kubelet's probes come to the pod's address")
        if host_network:
            rep.check(not is_wildcard(host) and not is_loopback(host), cw,
                      "hostNetwork: admin listener not on every address of the node",
                      f"admin = \"{lua.admin}\" would publish /status and /metrics on the node")
        elif not is_loopback(host):
            rep.check(is_wildcard(host), cw, "foyer.lua: admin listener on all the pod's addresses",
                      f"admin = \"{lua.admin}\": the pod's address is not known in advance")
        rep.check(admin_port in own_numbers, cw, f"admin port {admin_port} is a declared containerPort")
    rep.check(lua.listens, cw, "foyer.lua has listen declarations")
    for text, addr in lua.listen_addrs():
        if not rep.check(addr, cw, f"listen \"{text}\" is an ADDR:PORT"):
            continue
        host, port = addr
        rep.check(is_wildcard(host) or (host_network and not is_loopback(host)), cw,
                  f"listen \"{text}\" on all the pod's addresses", "loopback or a fixed address")
        rep.check(port in own_numbers, cw, f"listen port {port} is a declared containerPort")
        if port < 1024 and not host_network:
            rep.fail(cw, f"listen port {port} needs no capability", "ports below 1024 need "
                     "NET_BIND_SERVICE; listen on 8080 and map 80 in the Service / hostPort")
    for probe, wanted in (("readinessProbe", "/ready"), ("livenessProbe", "/healthz")):
        get = dig(c, probe, "httpGet")
        if not rep.check(isinstance(get, dict), cw, f"{probe} is an httpGet probe"):
            continue
        rep.check(get.get("path") == wanted, cw, f"{probe} on {wanted}", f"path {get.get('path')!r}")
        port = get.get("port")
        if isinstance(port, str):
            rep.check(port in own, cw, f"{probe} port {port} names a declared container port")
            port = own.get(port)
        rep.check(admin_port is not None and port == admin_port, cw,
                  f"{probe} targets the admin port foyer.lua configures",
                  f"probe port {get.get('port')!r} is {port}, admin listener is {lua.admin}")
        rep.check(get.get("scheme", "HTTP") == "HTTP", cw, f"{probe} over plain HTTP (the admin listener)")
        ctx["probe_paths"].setdefault(lua.text, set()).add(get.get("path"))

    # draining: preStop, then SIGTERM, then grace_period
    pre = prestop_seconds(c)
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    if rep.check(pre is not None and pre > 0, cw, "preStop hook sleeps before SIGTERM",
                 "lifecycle.preStop: exec sleep N or sleep: {seconds: N}"):
        need = pre + lua.grace_period + MARGIN_SECONDS
        rep.check(is_int(tgps) and tgps >= need, where,
                  "terminationGracePeriodSeconds covers preStop + grace_period + margin",
                  f"{tgps} < {pre} + {lua.grace_period:g} + {MARGIN_SECONDS}")

    # resources
    res = c.get("resources") or {}
    got = {}
    for kind in ("requests", "limits"):
        for r, parse in (("cpu", cpu_cores), ("memory", mem_bytes)):
            v = dig(res, kind, r)
            got[kind, r] = parse(v) if v is not None else None
            rep.check(got[kind, r] is not None, cw, f"resources.{kind}.{r} set", f"{v!r}")
    for r in ("cpu", "memory"):
        if got["requests", r] is not None and got["limits", r] is not None:
            rep.check(got["requests", r] <= got["limits", r], cw, f"{r} request within the limit")
    if rep.check(lua.workers is not None and lua.workers > 0, cw, "foyer.lua sets workers",
                 "workers = 0 counts the node's CPUs, not the container's limit"):
        if got["limits", "cpu"] is not None:
            rep.check(lua.workers <= math.ceil(got["limits", "cpu"]), cw,
                      "workers within the CPU limit", f"{lua.workers} workers, limit {got['limits', 'cpu']:g} CPU")

    # security
    psc = pod.get("securityContext") or {}
    csc = c.get("securityContext") or {}

    def eff(k):
        return csc.get(k, psc.get(k))

    rep.check(eff("runAsNonRoot") is True, cw, "runAsNonRoot: true")
    uid = eff("runAsUser")
    if rep.check(is_int(uid) and uid > 0, cw, "runAsUser: a numeric non-root uid", f"{uid!r}"):
        ctx["uids"].add((uid, where))
    rep.check(csc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem: true")
    rep.check(csc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation: false")
    rep.check(csc.get("privileged") is not True, cw, "not privileged")
    drop = dig(csc, "capabilities", "drop") or []
    rep.check("ALL" in drop, cw, "capabilities.drop: [ALL]", f"drop {drop!r}")
    add = dig(csc, "capabilities", "add") or []
    allowed = {"NET_BIND_SERVICE"} if host_network else set()
    rep.check(set(add) <= allowed, cw, "no capability added", f"add {add!r}")
    sa = pod.get("serviceAccountName")
    if sa not in (None, "default"):
        rep.check(any(o.kind == "ServiceAccount" and o.name == sa for o in b), where,
                  f"ServiceAccount {sa} is in the build")

    # per kind
    if w.kind == "Deployment":
        rep.check(is_int(dig(doc, "spec", "replicas")) and doc["spec"]["replicas"] >= 1, where,
                  "spec.replicas set")
        rep.check(dig(doc, "spec", "strategy", "type") == "RollingUpdate", where,
                  "spec.strategy.type: RollingUpdate")
        anti = dig(pod, "affinity", "podAntiAffinity") or {}
        terms = [t.get("podAffinityTerm") for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []
                 if isinstance(t, dict)] + list(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        rep.check(any(isinstance(t, dict) and t.get("topologyKey") and
                      selector_matches(dig(t, "labelSelector", "matchLabels"), labels) for t in terms),
                  where, "pod anti-affinity spreads the replicas (a term selecting its own pods)")
    else:
        rep.check(host_ports or host_network, where, "DaemonSet takes the node's port: hostPort or hostNetwork")
        rep.check(dig(doc, "spec", "updateStrategy", "type") in (None, "RollingUpdate"), where,
                  "updateStrategy RollingUpdate")
        surge = dig(doc, "spec", "updateStrategy", "rollingUpdate", "maxSurge")
        if host_ports or host_network:
            rep.check(surge in (None, 0, "0", "0%"), where, "no maxSurge with a host port",
                      "the new pod could not bind the port its predecessor holds")
        if host_network:
            rep.check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet", where,
                      "hostNetwork with dnsPolicy ClusterFirstWithHostNet")
    return {"labels": labels, "ports": own, "numbers": own_numbers, "admin_port": admin_port, "workload": w}


def check_build(kfile, b, rep, ctx):
    seen = {}
    for o in b:
        key = (o.kind, o.name)
        rep.check(key not in seen, o.where(), f"only once in the build of {kfile}",
                  f"also {seen.get(key)}")
        seen.setdefault(key, o.where())
    pods = []
    workloads = [o for o in b if o.kind in WORKLOADS]
    rep.check(workloads, kfile, "the build has a Deployment or a DaemonSet")
    for w in workloads:
        if w.where() in ctx["workloads_done"]:
            f = ctx["workloads_done"][w.where()]
        else:
            f = check_workload(w, b, rep, ctx)
            ctx["workloads_done"][w.where()] = f
        if f:
            pods.append(f)
    for s in (o for o in b if o.kind == "Service"):
        where = f"{s.where()} (build {kfile})"
        sel = dig(s.doc, "spec", "selector")
        if not rep.check(isinstance(sel, dict) and sel, where, "spec.selector present"):
            continue
        chosen = [p for p in pods if selector_matches(sel, p["labels"])]
        rep.check(chosen, where, "selector matches the pods of a workload",
                  f"{sel} matches no pod template of the build")
        typ = dig(s.doc, "spec", "type") or "ClusterIP"
        rep.check(typ in ("ClusterIP", "NodePort", "LoadBalancer"), where, f"type {typ} is a proxying type")
        etp = dig(s.doc, "spec", "externalTrafficPolicy")
        if typ == "LoadBalancer":
            rep.check(etp == "Local", where, "LoadBalancer with externalTrafficPolicy: Local",
                      "Cluster would hide the client's address behind a node's (SNAT)")
        elif etp is not None:
            rep.fail(where, "externalTrafficPolicy only with NodePort or LoadBalancer")
        ports = dig(s.doc, "spec", "ports")
        if not rep.check(isinstance(ports, list) and ports, where, "spec.ports: a non-empty list"):
            continue
        names = [p.get("name") for p in ports if isinstance(p, dict)]
        rep.check(len(ports) == 1 or (all(names) and len(set(names)) == len(names)), where,
                  "ports named, uniquely, when several")
        for p in ports:
            if not rep.check(isinstance(p, dict) and is_int(p.get("port")) and 0 < p["port"] < 65536,
                             where, "each port has a port number", repr(p)):
                continue
            tp = p.get("targetPort")
            if not rep.check(isinstance(tp, str), where, f"port {p['port']}: targetPort names a container port",
                             f"targetPort {tp!r}: name it (ports[].name) so that it follows the containers"):
                continue
            for f in chosen:
                rep.check(tp in f["ports"], where, f"targetPort {tp} is a port of {f['workload'].where()}",
                          f"declared: {', '.join(sorted(f['ports'])) or 'none'}")
                if tp in f["ports"]:
                    rep.check(f["ports"][tp] != f["admin_port"], where,
                              f"port {p['port']} does not expose the admin listener",
                              "/status and /metrics must not reach the load balancer")
    for d in (o for o in b if o.kind == "PodDisruptionBudget"):
        where = f"{d.where()} (build {kfile})"
        spec = d.doc.get("spec") or {}
        sel = dig(spec, "selector", "matchLabels")
        chosen = [p for p in pods if selector_matches(sel, p["labels"])]
        rep.check(chosen, where, "PodDisruptionBudget selector matches the pods of a workload",
                  f"{sel} matches no pod template of the build")
        rep.check(("minAvailable" in spec) != ("maxUnavailable" in spec), where,
                  "exactly one of minAvailable / maxUnavailable")
        if "maxUnavailable" in spec or "%" in str(spec.get("minAvailable", "")):
            rep.check(all(p["workload"].kind == "Deployment" for p in chosen), where,
                      "maxUnavailable / a percentage only for Deployment pods",
                      "a DaemonSet has no scale: the budget could not be computed")


# ---- Containerfile ---------------------------------------------------------


def check_containerfile(root, rep, ctx):
    path = os.path.join(root, "Containerfile")
    if not rep.check(os.path.isfile(path), "Containerfile", "exists"):
        return
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", f.read())
    instr = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instr.append((word.upper(), rest.strip()))
    args = {}
    for word, rest in instr:
        if word == "ARG" and "=" in rest:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()

    def subst(s):
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), s)

    w = "Containerfile"
    froms = [r for wd, r in instr if wd == "FROM"]
    rep.check(froms and re.search(r"(^|/)debian:(12|bookworm)\b", froms[-1].split()[0]), w,
              "FROM Debian 12", f"{froms}")
    runs = " ".join(r for wd, r in instr if wd == "RUN")
    rep.check(re.search(r"apt-get install\b[^&;]*\bfoyer_\*\.deb", runs), w, "installs the foyer .deb with apt-get")
    users = [subst(r) for wd, r in instr if wd == "USER"]
    uid = None
    if rep.check(users and re.match(r"^\d+(:\d+)?$", users[-1]), w, "USER is numeric", f"{users}"):
        uid = int(users[-1].split(":")[0])
        rep.check(uid != 0, w, "USER is not root")
    for u, where in sorted(ctx["uids"]):
        rep.check(uid == u, where, f"runAsUser {u} is the image's USER", f"Containerfile USER {users}")
    exposed = set()
    for wd, r in instr:
        if wd == "EXPOSE":
            exposed |= {int(p.split("/")[0]) for p in subst(r).split() if p.split("/")[0].isdigit()}
    for where, numbers in sorted(ctx["container_ports"].items()):
        rep.check(numbers <= exposed, w, f"EXPOSEs the ports of {where}",
                  f"missing {sorted(numbers - exposed)}")
    ep = " ".join(r for wd, r in instr if wd in ("ENTRYPOINT", "CMD"))
    rep.check("/usr/sbin/foyer" in ep and DEFAULT_CONFIG in ep, w,
              f"runs /usr/sbin/foyer -c {DEFAULT_CONFIG}", ep)


# ---- the whole directory ---------------------------------------------------


def validate(root, foyer, rep, foyer_cache):
    ctx = {"lua_users": {}, "probe_paths": {}, "uids": set(), "workloads_done": {},
           "container_ports": {}}
    files = load(root, rep)
    for objs in files.values():
        for o in objs:
            check_object(o, rep)
    for objs in files.values():
        for o in objs:
            if o.kind == "ConfigMap" and isinstance(o.doc.get("data"), dict) and "foyer.lua" in o.doc["data"]:
                data = {k: v for k, v in o.doc["data"].items() if isinstance(v, str)}
                foyer_check(foyer, data, rep, o.where(), foyer_cache)
    kfiles = [rel for rel in files if is_kustomization_file(rel)]
    rep.check(kfiles, root, "has a kustomization")
    kres = {k: check_kustomization(root, k, files[k], rep) for k in kfiles}
    included = {rel for lst in kres.values() for what, rel in lst if what == "dir"}
    roots = [k for k in kfiles if k not in included]
    rep.check(roots or not kfiles, root, "a kustomization no other includes (a build to apply)")
    covered = set()
    for k in sorted(roots):
        b, c = build(k, kres, files, rep)
        covered |= c
        check_build(k, b, rep, ctx)
    for rel in files:
        if not is_kustomization_file(rel):
            rep.check(rel in covered, rel, "listed by a kustomization build",
                      "not listed in any kustomization: nothing would apply or check it")
    for f in ctx["workloads_done"].values():
        if f:
            ctx["container_ports"][f["workload"].where()] = {n for n in f["numbers"] if is_int(n)}
    check_containerfile(root, rep, ctx)
    return ctx


# ---- running the configuration ---------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, host="foyer-k8s-test.invalid", timeout=2.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def wait_for(fn, seconds):
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.1)
    return None


def reloads_ok(admin_port):
    status, body = http_get(admin_port, "/metrics")
    if status != 200:
        return 0
    return sum(float(m) for m in re.findall(r'^foyer_reloads_total\{[^}]*result="ok"[^}]*\} (\S+)$', body, re.M))


def run_config(foyer, text, data, probe_paths, rep, where):
    lua = LuaConfig(text)
    if lua.admin_addr() is None or not lua.listens or any(a is None for _, a in lua.listen_addrs()):
        rep.fail(where, "run: foyer.lua's addresses could be read", "see the static checks")
        return
    admin_port = free_port()
    listen_ports = [free_port() for _ in lua.listens]
    closed = free_port()  # nothing listens there: endpoints never leave the machine
    with tempfile.TemporaryDirectory(prefix="foyer-k8s-run.") as d:
        for k, v in data.items():
            with open(os.path.join(d, k), "w", encoding="utf-8") as f:
                f.write(v)
        conf = os.path.join(d, "foyer.lua")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(lua.for_test_run(admin_port, listen_ports, closed))
        log = open(os.path.join(d, "foyer.log"), "w+", encoding="utf-8")
        proc = subprocess.Popen([foyer, "-c", conf], stdout=log, stderr=log, cwd=d)
        try:
            paths = sorted(probe_paths)
            ready = wait_for(lambda: all(http_get(admin_port, p)[0] == 200 for p in paths), 15)
            if not rep.check(ready, where, f"run: probe paths {', '.join(paths)} answer 200 on the admin listener"):
                return
            status, _ = http_get(listen_ports[0], "/")
            rep.check(status < 500, where, "run: the listener answers HTTP", f"status {status}")
            before = reloads_ok(admin_port)
            proc.send_signal(signal.SIGHUP)
            rep.check(wait_for(lambda: reloads_ok(admin_port) > before, 15), where,
                      "run: SIGHUP reloads it (foyer_reloads_total{result=\"ok\"} grows)")
            rep.check(proc.poll() is None, where, "run: still running after the reload")
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=lua.grace_period + 15)
            except subprocess.TimeoutExpired:
                rc = None
            rep.check(rc == 0, where, "run: SIGTERM stops it with exit 0", f"exit {rc}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.seek(0)
            out = log.read()
            log.close()
            if rep.failed and any(m.startswith(where + ": run:") for m in rep.failed):
                print(f"---- foyer's output ({where}) ----\n{out}---- end ----")


# ---- negative self-checks --------------------------------------------------


def edit_yaml(root, rel, fn):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    fn(docs)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def edit_text(root, rel, old, new):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if old not in text:
        raise AssertionError(f"{rel} does not contain {old!r}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


def edit_lua(root, old, new):
    def fn(docs):
        d = next(x for x in docs if x.get("kind") == "ConfigMap")
        if old not in d["data"]["foyer.lua"]:
            raise AssertionError(f"foyer.lua does not contain {old!r}")
        d["data"]["foyer.lua"] = d["data"]["foyer.lua"].replace(old, new, 1)
    edit_yaml(root, CONFIGMAP, fn)


def kind_of(docs, kind):
    return next(d for d in docs if d.get("kind") == kind)


def foyer_c(docs, kind="Deployment"):
    return kind_of(docs, kind)["spec"]["template"]["spec"]["containers"][0]


CONFIGMAP = "common/configmap.yaml"
DEPLOYMENT = "deployment.yaml"
SERVICE = "common/service.yaml"
PDB = "pdb.yaml"
SA = "common/serviceaccount.yaml"


def add_file(root, rel, text):
    with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
        f.write(text)


NEGATIVES = [
    ("Deployment selector does not match its pod labels", "match spec.template.metadata.labels",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: kind_of(d, "Deployment")["spec"]["selector"]["matchLabels"]
                         .update({"app.kubernetes.io/component": "other"}))),
    ("readiness probe on the http port instead of the admin port", "readinessProbe targets the admin port",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["readinessProbe"]["httpGet"].update({"port": "http"}))),
    ("liveness probe on a port name no container declares", "livenessProbe port metrics names a declared",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["livenessProbe"]["httpGet"].update({"port": "metrics"}))),
    ("admin listener moved in foyer.lua, probes left on 9901", "targets the admin port foyer.lua configures",
     lambda r: edit_lua(r, 'admin = "0.0.0.0:9901"', 'admin = "0.0.0.0:9902"')),
    ("admin listener on loopback", "not on loopback",
     lambda r: edit_lua(r, 'admin = "0.0.0.0:9901"', 'admin = "127.0.0.1:9901"')),
    ("liveness probe on the wrong path", "livenessProbe on /healthz",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["livenessProbe"]["httpGet"].update({"path": "/health"}))),
    ("listen port not declared as a container port", "listen port 8081 is a declared containerPort",
     lambda r: edit_lua(r, 'listen "0.0.0.0:8080"', 'listen "0.0.0.0:8081"')),
    ("Service targetPort names no container port", "targetPort htpp is a port of",
     lambda r: edit_yaml(r, SERVICE, lambda d: d[0]["spec"]["ports"][0].update({"targetPort": "htpp"}))),
    ("Service targetPort given as a number", "targetPort names a container port",
     lambda r: edit_yaml(r, SERVICE, lambda d: d[0]["spec"]["ports"][0].update({"targetPort": 8080}))),
    ("Service selector matches no pod", "selector matches the pods of a workload",
     lambda r: edit_yaml(r, SERVICE, lambda d: d[0]["spec"]["selector"].update({"app.kubernetes.io/component": "web"}))),
    ("Service exposing the admin port", "does not expose the admin listener",
     lambda r: edit_yaml(r, SERVICE, lambda d: d[0]["spec"]["ports"].append(
         {"name": "admin", "port": 9901, "targetPort": "admin"}))),
    ("Service with externalTrafficPolicy Cluster", "externalTrafficPolicy: Local",
     lambda r: edit_yaml(r, SERVICE, lambda d: d[0]["spec"].update({"externalTrafficPolicy": "Cluster"}))),
    ("PodDisruptionBudget selector matches no pod", "PodDisruptionBudget selector matches",
     lambda r: edit_yaml(r, PDB, lambda d: d[0]["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "nginx"}))),
    ("foyer.lua that foyer -t refuses", "passes `foyer -t -c FILE`",
     lambda r: edit_lua(r, "grace_period = 30,", "grace_period = 30, no_such_setting = 1,")),
    ("kustomization listing a missing file", "missing.yaml exists",
     lambda r: edit_yaml(r, "kustomization.yaml", lambda d: d[0]["resources"].append("missing.yaml"))),
    ("kustomization reaching a file outside its directory", "a manifest file at or below",
     lambda r: edit_yaml(r, "daemonset/kustomization.yaml", lambda d: d[0]["resources"].append("../pdb.yaml"))),
    ("PodDisruptionBudget with apiVersion policy/v1beta1", "apiVersion policy/v1 for PodDisruptionBudget",
     lambda r: edit_yaml(r, PDB, lambda d: d[0].update({"apiVersion": "policy/v1beta1"}))),
    ("unknown kind in the second document of a file", "known kind",
     lambda r: edit_text(r, SERVICE, "targetPort: http", "targetPort: http\n---\napiVersion: networking.k8s.io/v1\n"
                         "kind: Ingress\nmetadata:\n  name: foyer\n")),
    ("kustomization with a misspelt field", "only fields this test understands",
     lambda r: edit_yaml(r, "common/kustomization.yaml", lambda d: d[0].update({"resource": ["service.yaml"]}))),
    ("object without metadata.name", "metadata.name present",
     lambda r: edit_yaml(r, SA, lambda d: d[0]["metadata"].pop("name"))),
    ("container without an image", "has an image",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d).pop("image"))),
    ("terminationGracePeriodSeconds shorter than preStop + grace_period", "terminationGracePeriodSeconds covers",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: kind_of(d, "Deployment")["spec"]["template"]["spec"]
                         .update({"terminationGracePeriodSeconds": 30}))),
    ("no preStop hook", "preStop hook sleeps",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d).pop("lifecycle"))),
    ("writable root file system", "readOnlyRootFilesystem: true",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["securityContext"].update({"readOnlyRootFilesystem": False}))),
    ("capabilities not dropped", "capabilities.drop: [ALL]",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["securityContext"].pop("capabilities"))),
    ("no resource limits", "resources.limits.memory set",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["resources"].pop("limits"))),
    ("more workers than the CPU limit", "workers within the CPU limit",
     lambda r: edit_lua(r, "workers = 2,", "workers = 4,")),
    ("Deployment without anti-affinity", "pod anti-affinity",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: kind_of(d, "Deployment")["spec"]["template"]["spec"].pop("affinity"))),
    ("configuration mounted with subPath", "not with subPath",
     lambda r: edit_yaml(r, DEPLOYMENT, lambda d: foyer_c(d)["volumeMounts"][0].update(
         {"mountPath": "/etc/foyer/foyer.lua", "subPath": "foyer.lua"}))),
    ("DaemonSet without hostPort or hostNetwork", "hostPort or hostNetwork",
     lambda r: edit_yaml(r, "daemonset/daemonset.yaml", lambda d: foyer_c(d, "DaemonSet")["ports"][0].pop("hostPort"))),
    ("PodDisruptionBudget with maxUnavailable over DaemonSet pods", "only for Deployment pods",
     lambda r: (shutil.copy(os.path.join(r, PDB), os.path.join(r, "daemonset", "pdb.yaml")),
                edit_yaml(r, "daemonset/kustomization.yaml", lambda d: d[0]["resources"].append("pdb.yaml")))),
    ("multi-document file with a broken document", "parses as (multi-document) YAML",
     lambda r: edit_text(r, SERVICE, "targetPort: http", "targetPort: http\n---\nkind: [unclosed\n")),
    ("manifest listed by no kustomization", "listed by a kustomization build",
     lambda r: add_file(r, "extra.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: extra\n")),
    ("the same object twice in a build", "only once in the build",
     lambda r: (shutil.copy(os.path.join(r, SA), os.path.join(r, "sa2.yaml")),
                edit_yaml(r, "kustomization.yaml", lambda d: d[0]["resources"].append("sa2.yaml")))),
    ("Containerfile USER not the pods' runAsUser", "is the image's USER",
     lambda r: edit_text(r, "Containerfile", "ARG FOYER_UID=10001", "ARG FOYER_UID=10002")),
    ("Containerfile not exposing the admin port", "EXPOSEs the ports",
     lambda r: edit_text(r, "Containerfile", "EXPOSE 8080/tcp 9901/tcp", "EXPOSE 8080/tcp")),
]


def merge_into_one_file(r):
    """The ServiceAccount and the Service as extra documents of the
    ConfigMap's file (with an empty document between), their own files gone."""
    parts = []
    for rel in (CONFIGMAP, SA, SERVICE):
        with open(os.path.join(r, rel), encoding="utf-8") as f:
            parts.append(f.read())
    add_file(r, CONFIGMAP, parts[0] + "---\n" + parts[1] + "---\n---\n" + parts[2])
    os.remove(os.path.join(r, SA))
    os.remove(os.path.join(r, SERVICE))
    edit_yaml(r, "common/kustomization.yaml", lambda d: d[0].update({"resources": ["configmap.yaml"]}))


# Changes that keep the directory valid: accepted without a failure.
POSITIVES = [
    ("the common objects as one multi-document file", merge_into_one_file),
]


def run_negatives(root, foyer, cache):
    """Each broken copy must be refused with the expected message; each
    valid variant accepted."""
    results = []
    for desc, mutate in POSITIVES:
        with tempfile.TemporaryDirectory(prefix="foyer-k8s-pos.") as d:
            copy = os.path.join(d, "kubernetes")
            shutil.copytree(root, copy)
            mutate(copy)
            rep = Report()
            validate(copy, foyer, rep, cache)
            results.append((not rep.failed and len(rep.passed) > 100,
                            f"positive: {desc}: accepted ({len(rep.passed)} checks)"
                            + (f", but: {'; '.join(rep.failed[:3])}" if rep.failed else "")))
    for desc, expect, mutate in NEGATIVES:
        with tempfile.TemporaryDirectory(prefix="foyer-k8s-neg.") as d:
            copy = os.path.join(d, "kubernetes")
            shutil.copytree(root, copy)
            try:
                mutate(copy)
            except (AssertionError, KeyError, IndexError, StopIteration, OSError) as e:
                results.append((False, f"negative: {desc}: the broken copy could not be made ({e!r})"))
                continue
            rep = Report()
            validate(copy, foyer, rep, cache)
            hits = [m for m in rep.failed if expect.lower() in m.lower()]
            if hits:
                results.append((True, f"negative: {desc}: refused ({hits[0]})"))
            else:
                got = "; ".join(rep.failed[:3]) or "accepted"
                results.append((False, f"negative: {desc}: not refused with '{expect}' (got: {got})"))
    return results


# ---- main ------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="examples/kubernetes")
    ap.add_argument("--foyer", required=True, help="the foyer binary")
    ap.add_argument("--no-run", action="store_true", help="skip running foyer with the configuration")
    ap.add_argument("--no-negatives", action="store_true", help="skip the negative self-checks")
    ap.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    foyer = os.path.abspath(a.foyer)
    if not os.access(foyer, os.X_OK):
        print(f"FAIL: foyer binary {foyer} not found or not executable (FOYER_BIN)")
        return 1
    if not os.path.isdir(root):
        print(f"FAIL: {root} is not a directory")
        return 1
    cache = {}
    rep = Report()
    ctx = validate(root, foyer, rep, cache)
    if not a.no_run:
        for text, (data, w) in ctx["lua_users"].items():
            paths = ctx["probe_paths"].get(text) or {"/ready", "/healthz"}
            run_config(foyer, text, data, paths, rep, f"{w.where()} foyer.lua")
    negatives = [] if a.no_negatives else run_negatives(root, foyer, cache)
    for m in rep.passed:
        if not a.quiet:
            print(f"PASS: {m}")
    for ok, m in negatives:
        if not ok or not a.quiet:
            print(f"{'PASS' if ok else 'FAIL'}: {m}")
    for m in rep.failed:
        print(f"FAIL: {m}")
    npass = len(rep.passed) + sum(1 for ok, _ in negatives if ok)
    nfail = len(rep.failed) + sum(1 for ok, _ in negatives if not ok)
    print(f"test_k8s_manifests: {npass} passed, {nfail} failed")
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
