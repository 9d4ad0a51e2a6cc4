#!/usr/bin/env python3
"""Times one reload of a proxy (bench/routes_e2e.sh; stdlib only).

    reload_probe.py --port P --pid MASTER --signal HUP|USR2 --expect GEN
                    [--probe-host reload-probe.example] [--probe-path /]
                    [--log FILE --log-pattern TEXT [--log-pattern TEXT ...]]
                    [--ka-host H --ka-path PATH] [--rss-pid PID] [--timeout 20]

Sends the signal to MASTER at t = 0 (the route set must already have been
changed on disk), then:

  - opens a new connection after another, each sending GET PROBE_PATH with
    Host PROBE_HOST and reading the answer, until one answers with the header
    X-Route-Gen: GEN ("seen_s": when that answer arrived);
  - in a thread, watches FILE (the proxy's stderr) for new lines holding
    each TEXT and notes when each first appeared ("log_s": {TEXT: seconds});
    it polls the file every millisecond;
  - in a thread, sends back-to-back keep-alive requests (Host KA_HOST, KA_PATH)
    on one connection opened before the signal and records the slowest answer
    during the window ("ka_max_ms": how long the proxy stalled requests in
    flight), answers that were not 2xx and connections lost mid-request
    ("ka_errors");
  - in a thread, samples the resident memory of the RSS_PID tree's
    descendants every 2 ms ("rss_max_kib": the largest sum), and resets their
    peak (VmHWM, by writing 5 to /proc/PID/clear_refs) just before the signal
    and reads it at the end ("hwm_max_kib": the largest peak of one process:
    the exact peak of a worker during the reload).

Stops once GEN was seen and every log pattern found, or after --timeout
seconds.  Prints one JSON line.
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxycpu  # noqa: E402


def read_response(sock, buf=b""):
    """(status, headers dict lower-cased, body, rest, close) of one response."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed before the response head")
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "-1"))
    if n < 0:  # close-delimited
        while True:
            d = sock.recv(65536)
            if not d:
                break
            buf += d
        return status, hdrs, buf, b"", True
    while len(buf) < n:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed in the middle of the body")
        buf += d
    close = hdrs.get("connection", "").lower() == "close"
    return status, hdrs, buf[:n], buf[n:], close


def probe_once(port, host, path, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status, hdrs, _, _, _ = read_response(s)
        return status, hdrs.get("x-route-gen")
    finally:
        s.close()


class KeepAlive(threading.Thread):
    def __init__(self, port, host, path):
        super().__init__(daemon=True)
        self.port, self.host, self.path = port, host, path
        self.stop = threading.Event()
        self.max_ms = 0.0
        self.requests = 0
        self.errors = []
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def run(self):
        req = f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                self.sock.sendall(req)
                status, _, _, _, close = read_response(self.sock)
            except OSError as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                try:
                    self.connect()
                except OSError:
                    time.sleep(0.01)
                continue
            self.max_ms = max(self.max_ms, (time.monotonic() - t) * 1000)
            self.requests += 1
            if status // 100 != 2:
                self.errors.append(f"status {status}")
            if close:
                self.connect()
        self.sock.close()


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max = 0
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            if n % 50 == 0:  # the process tree, re-read every 0.1 s or so
                kids = children(self.pid)
            n += 1
            self.max = max(self.max, sum(status_kib(p, "VmRSS:") for p in kids))
            time.sleep(0.002)


def children(pid):
    return [p for p in proxycpu.tree(pid) if p != pid]


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(pid):
    for p in children(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


class LogWatch(threading.Thread):
    def __init__(self, path, patterns, t0_holder):
        super().__init__(daemon=True)
        self.path, self.patterns = path, patterns
        self.off = os.path.getsize(path)
        self.found = {}
        self.t0 = t0_holder
        self.stop = threading.Event()

    def run(self):
        buf = b""
        while not self.stop.is_set() and len(self.found) < len(self.patterns):
            with open(self.path, "rb") as f:
                f.seek(self.off)
                d = f.read()
            now = time.monotonic()
            if d:
                self.off += len(d)
                buf += d
                text = buf.decode("utf-8", "replace")
                for p in self.patterns:
                    if p not in self.found and p in text and self.t0:
                        self.found[p] = round(now - self.t0[0], 4)
            time.sleep(0.001)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--signal", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--probe-host", default="reload-probe.example")
    ap.add_argument("--probe-path", default="/")
    ap.add_argument("--log")
    ap.add_argument("--log-pattern", action="append", default=[])
    ap.add_argument("--ka-host")
    ap.add_argument("--ka-path", default="/")
    ap.add_argument("--rss-pid", type=int)
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()

    t0_holder = []
    logw = LogWatch(a.log, a.log_pattern, t0_holder) if a.log and a.log_pattern else None
    ka = KeepAlive(a.port, a.ka_host, a.ka_path) if a.ka_host else None
    if ka:
        ka.start()
        time.sleep(0.05)
    rss0 = proxycpu.rss_kib(a.rss_pid, True) if a.rss_pid else None
    sampler = RssSampler(a.rss_pid) if a.rss_pid else None
    if sampler:
        reset_hwm(a.rss_pid)
        sampler.start()
    sig = getattr(signal, "SIG" + a.signal)
    probes = 0
    probe_errors = []
    old_answers = 0
    seen = None
    if logw:
        logw.start()
    t0 = time.monotonic()
    t0_holder.append(t0)
    os.kill(a.pid, sig)
    while True:
        now = time.monotonic() - t0
        if now > a.timeout:
            break
        if seen is None:
            try:
                status, gen = probe_once(a.port, a.probe_host, a.probe_path, a.timeout)
                probes += 1
                if status == 200 and gen == a.expect:
                    seen = round(time.monotonic() - t0, 4)
                elif status == 200:
                    old_answers += 1
                else:
                    probe_errors.append(f"status {status}")
            except OSError as e:
                probe_errors.append(f"{type(e).__name__}: {e}")
                time.sleep(0.002)
        else:
            time.sleep(0.002)
        if seen is not None and (logw is None or len(logw.found) == len(a.log_pattern)):
            break
    if ka:
        time.sleep(0.05)
        ka.stop.set()
        ka.join(5)
    if logw:
        logw.stop.set()
        logw.join(5)
    out = {"seen_s": seen, "log_s": dict(logw.found) if logw else {}, "probes": probes, "old_answers": old_answers,
           "probe_errors": probe_errors[:10], "n_probe_errors": len(probe_errors)}
    if ka:
        out.update(ka_max_ms=round(ka.max_ms, 2), ka_requests=ka.requests,
                   ka_errors=ka.errors[:10], n_ka_errors=len(ka.errors))
    if sampler:
        sampler.stop.set()
        sampler.join(5)
        out.update(rss_before_kib=rss0, rss_max_kib=sampler.max,
                   hwm_max_kib=max([status_kib(p, "VmHWM:") for p in children(a.rss_pid)], default=0))
    print(json.dumps(out, sort_keys=True))
    return 0 if seen is not None else 1


if __name__ == "__main__":
    sys.exit(main())
