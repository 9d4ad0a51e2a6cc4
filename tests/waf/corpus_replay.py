#!/usr/bin/env python3
"""Replays the labelled WAF corpus through the real foyer binary with waf.so.

Starts the test backend and foyer (one worker, plugin "waf" in block mode,
every request routed to the backend) on loopback ports, sends each corpus
request byte for byte over a fresh connection, and counts a request as
blocked when the answer is 403 (the corpus's rule). Prints detection per
attack class and false positives per benign subclass next to the anchor
(ModSecurity + OWASP CRS 3.3.4, paranoia 1, on the same file), and checks
that the backend saw exactly the requests foyer let through.

  corpus_replay.py --foyer BIN --waf PATH/waf.so --backend BIN
                   [--corpus ../shared/corpus/waf/public.jsonl]
                   [--min-detect 90] [--max-fp 2] [--json OUT] [-v]
  corpus_replay.py --target-port PORT [--corpus ...] [--json OUT] [-v]

--target-port replays against a proxy already listening on 127.0.0.1:PORT
(e.g. the nginx + ModSecurity anchor of bench/waf_anchor.sh) instead of
starting foyer: nothing is started and the backend count is not checked.
--cases-out FILE writes each request's id, label, class, subclass, source
and answer status, one JSON object a line, for comparisons case by case.

Exit status: 0 when the targets given hold, 1 when not, 77 when the corpus
is absent (a clone without ../shared: the test is skipped).
"""
import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ANCHOR = {"attack": 73.7, "benign": 10.6}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def raw_request(case):
    """The request bytes as the corpus says: headers in order, a
    Content-Length and Connection: close added unless raw_headers."""
    version = case.get("http_version") or "HTTP/1.1"
    body = (case.get("body") or "").encode("utf-8", "surrogateescape")
    lines = ["%s %s %s" % (case["method"], case["path"], version)]
    headers = case.get("headers") or {}
    items = headers.items() if isinstance(headers, dict) else headers
    names = set()
    for name, value in items:
        names.add(name.lower())
        lines.append("%s: %s" % (name, value))
    if not case.get("raw_headers"):
        if body and "content-length" not in names and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % len(body))
        if "connection" not in names:
            lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head + body


def send(port, data, timeout=5.0):
    """The status of the first response, 0 when none came."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return 0
    got = b""
    try:
        s.sendall(data)
        while b"\r\n" not in got and len(got) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    finally:
        s.close()
    parts = got.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return 0


def backend_requests(port):
    req = (b"GET /stats HTTP/1.1\r\nHost: stats\r\nX-Backend-Control: stats\r\n"
           b"Connection: close\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(req)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    body = data.split(b"\r\n\r\n", 1)[-1].decode()
    fields = dict(kv.split("=") for kv in body.split() if "=" in kv)
    return int(fields.get("requests", "-1"))


def start(args, tmp):
    backend = subprocess.Popen([args.backend, "--listen", "127.0.0.1:0", "--name", "waf"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bport = int(backend.stdout.readline())
    port = free_port()
    conf = os.path.join(tmp, "waf.lua")
    with open(conf, "w") as f:
        f.write('set { workers = 1, error_log = "%s" }\n' % os.path.join(tmp, "error.log"))
        f.write('listen "127.0.0.1:%d"\n' % port)
        f.write('plugin "waf" { path = "%s", mode = "block" }\n' % args.waf)
        f.write('service "app" { endpoints = { "127.0.0.1:%d" } }\n' % bport)
        f.write('route(function(req) return "app" end)\n')
    foyer = subprocess.Popen([args.foyer, "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    if not wait_port(port):
        foyer.kill()
        backend.kill()
        sys.exit("foyer did not start (see %s)" % os.path.join(tmp, "error.log"))
    return backend, bport, foyer, port


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def report(results, verbose):
    by_class = collections.defaultdict(lambda: [0, 0, 0])  # blocked, total, refused (4xx)
    by_sub = collections.defaultdict(lambda: [0, 0])
    for case, status in results:
        if case["label"] == "attack":
            c = by_class[case["class"]]
            c[0] += status == 403
            c[1] += 1
            c[2] += status in (400, 405, 411, 413, 414, 431, 501, 505)
        else:
            s = by_sub[case.get("subclass", "benign")]
            s[0] += status == 403
            s[1] += 1
    print("%-18s %8s %8s %8s" % ("attack class", "blocked", "total", "rate"))
    att_b = att_t = 0
    for name in sorted(by_class):
        b, t, refused = by_class[name]
        att_b += b
        att_t += t
        extra = "  (+%d refused by the core's parser)" % refused if refused else ""
        print("%-18s %8d %8d %7.1f%%%s" % (name, b, t, pct(b, t), extra))
    print("%-18s %8d %8d %7.1f%%   anchor %.1f%%" % ("ALL ATTACKS", att_b, att_t,
                                                    pct(att_b, att_t), ANCHOR["attack"]))
    print()
    print("%-18s %8s %8s %8s" % ("benign subclass", "blocked", "total", "rate"))
    ben_b = ben_t = 0
    for name in sorted(by_sub):
        b, t = by_sub[name]
        ben_b += b
        ben_t += t
        print("%-18s %8d %8d %7.1f%%" % (name, b, t, pct(b, t)))
    print("%-18s %8d %8d %7.1f%%   anchor %.1f%%" % ("ALL BENIGN", ben_b, ben_t,
                                                    pct(ben_b, ben_t), ANCHOR["benign"]))
    if verbose:
        for case, status in results:
            wrong = (case["label"] == "attack") != (status == 403)
            if wrong:
                print("MISS" if case["label"] == "attack" else "FP  ", status, case["id"],
                      case["class"], case["method"], case["path"][:120])
    return pct(att_b, att_t), pct(ben_b, ben_t), by_class, by_sub


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--foyer")
    ap.add_argument("--waf")
    ap.add_argument("--backend")
    ap.add_argument("--target-port", type=int, default=None)
    ap.add_argument("--cases-out", default=None)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "..", "shared", "corpus", "waf",
                                                     "public.jsonl"))
    ap.add_argument("--min-detect", type=float, default=None)
    ap.add_argument("--max-fp", type=float, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    missing = [o for o in ("foyer", "waf", "backend") if getattr(args, o) is None]
    if args.target_port is None and missing:
        ap.error("the following arguments are required: " +
                 ", ".join("--" + o for o in missing))
    if not os.path.exists(args.corpus):
        print("corpus %s absent: skipped" % args.corpus)
        return 77
    with open(args.corpus) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    if args.target_port is not None:
        # Someone else's proxy: no backend of ours to count at.
        results = [(case, send(args.target_port, raw_request(case))) for case in cases]
        blocked = sum(1 for _, st in results if st == 403)
        seen = None
    else:
        with tempfile.TemporaryDirectory(prefix="foyer-waf-") as tmp:
            backend, bport, foyer, port = start(args, tmp)
            try:
                results = [(case, send(port, raw_request(case))) for case in cases]
                blocked = sum(1 for _, st in results if st == 403)
                seen = backend_requests(bport)
            finally:
                foyer.terminate()
                foyer.wait(10)
                backend.terminate()
                backend.wait(10)
    det, fp, by_class, by_sub = report(results, args.v)
    if seen is None:
        print("\n127.0.0.1:%d blocked %d of the %d requests" % (args.target_port, blocked,
                                                               len(results)))
    else:
        print("\nbackend saw %d of the %d requests; foyer blocked %d" % (seen, len(results),
                                                                       blocked))
    if args.cases_out:
        with open(args.cases_out, "w") as f:
            for case, status in results:
                row = {k: case.get(k) for k in ("id", "label", "class", "subclass", "source")}
                row["status"] = status
                f.write(json.dumps(row, sort_keys=True) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"detect": det, "false_positive": fp,
                       "classes": {k: v[:2] for k, v in by_class.items()},
                       "benign": {k: v for k, v in by_sub.items()}}, f, indent=1)
    ok = seen is None or seen <= len(results) - blocked  # a blocked request never reaches it
    if not ok:
        print("FAIL: the backend saw a request foyer blocked")
    if args.min_detect is not None and det < args.min_detect:
        print("FAIL: detection %.1f%% < %.1f%%" % (det, args.min_detect))
        ok = False
    if args.max_fp is not None and fp > args.max_fp:
        print("FAIL: false positives %.1f%% > %.1f%%" % (fp, args.max_fp))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
