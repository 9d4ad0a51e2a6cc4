#!/usr/bin/env python3
"""Slow and idle clients against one proxy (bench/slow_clients.sh drives it).

  slow_clients.py run --scenario S --port P --backend-port B --timeout T
  slow_clients.py probe --port P --duration S          (the normal client, a process)
  slow_clients.py report FILE.json...                  (the table)

Scenarios (every abuser on its own connection to the proxy):
  slowloris   N connections sending a header byte every 200 ms, forever
  idle        N keep-alive connections idle after one request each
  trickle     N POST bodies: 10 bytes, then a byte a second for 3 s, then nothing
  nonreader   N GETs of a large response whose client never reads

While the abusers are in, a normal client (a separate process, so that the
abusers' loop does not disturb its timing) sends GET /size/100, 2 ms apart,
on a keep-alive connection (every 10th on a fresh one) and records latencies.
The result is one JSON object on stdout: the normal client's p50/p99, when
each abuser was closed (relative to its start, or to its last byte for the
trickle), what it was sent, and how many upstream connections the backend saw.
Standard library only.
"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time

HOST = "vincentpizza.com"


def now():
    return time.monotonic()


def pct(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


# ---- the normal client ------------------------------------------------------

def read_response(s, buf):
    """Reads one Content-Length response from s; returns (status, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise IOError("closed")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    cl = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v)
    while len(rest) < cl:
        d = s.recv(65536)
        if not d:
            raise IOError("closed mid-body")
        rest += d
    return status, rest[cl:]


def probe(port, duration):
    lat, fails = [], 0
    s, buf, i = None, b"", 0
    end = now() + duration
    req = ("GET /size/100 HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST).encode()
    while now() < end:
        t0 = now()
        try:
            if s is None or i % 10 == 0:
                if s is not None:
                    s.close()
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = b""
            s.sendall(req)
            st, buf = read_response(s, buf)
            if st != 200:
                raise IOError("status %d" % st)
            lat.append((now() - t0) * 1000)
        except (OSError, IOError, ValueError, IndexError):
            fails += 1
            if s is not None:
                s.close()
            s = None
            time.sleep(0.01)
        i += 1
        time.sleep(0.002)
    if s is not None:
        s.close()
    return {"n": len(lat), "failures": fails, "p50_ms": pct(lat, 0.5),
            "p99_ms": pct(lat, 0.99), "max_ms": max(lat) if lat else None}


def start_probe(port, duration):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "probe", "--port",
                             str(port), "--duration", str(duration)], stdout=subprocess.PIPE)


def finish_probe(p):
    out, _ = p.communicate(timeout=60)
    return json.loads(out)


# ---- helpers -----------------------------------------------------------------

def backend_stats(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /stats HTTP/1.1\r\nHost: stats\r\nX-Backend-Control: stats\r\n"
              b"Connection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    body = data.partition(b"\r\n\r\n")[2].decode()
    return dict(kv.split("=") for kv in body.split())


def proxy_side_conns(port):
    """Connections the proxy still holds on its listening port: sockets in
    /proc/net/tcp with that local port, not listening, still owned by a
    process (a socket the proxy closed with unsent data lingers as an orphan,
    inode 0, until the client reads; it no longer counts). Pooled upstream
    connections, which differ between proxies, are not counted."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fl = line.split()
            lport = int(fl[1].rpartition(":")[2], 16)
            if lport == port and fl[3] != "0A" and fl[9] != "0":
                n += 1
    return n


class Abuser:
    __slots__ = ("sock", "t_start", "t_last", "t_closed", "got")

    def __init__(self, sock):
        self.sock = sock
        self.t_start = self.t_last = now()
        self.t_closed = None
        self.got = b""


def connect(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def drive(abusers, deadline, tick=None, drip=b"", stop_sending_at=None):
    """Watches for closes until all are closed or the deadline; every tick
    seconds sends the next drip byte to each open abuser (before
    stop_sending_at)."""
    sel = selectors.DefaultSelector()
    for a in abusers:
        a.sock.setblocking(False)
        sel.register(a.sock, selectors.EVENT_READ, a)
    left = len(abusers)
    next_tick = now() + tick if tick else None
    k = 0
    while left and now() < deadline:
        wait = max(0.0, (next_tick - now()) if tick else 0.1)
        for key, _ in sel.select(min(wait, max(0.0, deadline - now()))):
            a = key.data
            try:
                d = a.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if d:
                if len(a.got) < 64:
                    a.got += d[:64 - len(a.got)]
                continue
            a.t_closed = now()
            sel.unregister(a.sock)
            a.sock.close()
            left -= 1
        if tick and now() >= next_tick:
            next_tick += tick
            if drip and (stop_sending_at is None or now() < stop_sending_at):
                ch = drip[k % len(drip):k % len(drip) + 1]
                k += 1
                t = now()
                for a in abusers:
                    if a.t_closed is None:
                        try:
                            a.sock.send(ch)
                            a.t_last = t
                        except OSError:
                            pass
    for a in abusers:
        if a.t_closed is None:
            try:
                sel.unregister(a.sock)
            except (KeyError, ValueError):
                pass
    sel.close()


def close_summary(abusers, from_last=False):
    el = [a.t_closed - (a.t_last if from_last else a.t_start)
          for a in abusers if a.t_closed is not None]
    answered = {}
    for a in abusers:
        if a.t_closed is not None:
            line = a.got.split(b"\r\n", 1)[0].decode("latin1")[:12] or "(nothing)"
            answered[line] = answered.get(line, 0) + 1
    return {"abusers": len(abusers), "closed": len(el),
            "close_min_s": min(el) if el else None, "close_p50_s": pct(el, 0.5),
            "close_max_s": max(el) if el else None, "sent_before_close": answered}


# ---- scenarios -------------------------------------------------------------------

def sc_slowloris(a):
    n = a.n or 200
    ab = []
    for _ in range(n):
        s = connect(a.port)
        s.sendall(("GET /slow HTTP/1.1\r\nHost: %s\r\nX-Slow: " % HOST).encode())
        ab.append(Abuser(s))
    p = start_probe(a.port, max(2.0, a.timeout - 1.5))
    drive(ab, now() + a.timeout + 4, tick=0.2, drip=b"abcdefghij")
    res = close_summary(ab)
    res["normal"] = finish_probe(p)
    return res, ab


def sc_idle(a):
    n = a.n or 2000
    ab = []
    req = ("GET /size/10 HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST).encode()
    for base in range(0, n, 100):
        batch = []
        for _ in range(min(100, n - base)):
            s = connect(a.port)
            s.sendall(req)
            batch.append(s)
        for s in batch:
            s.settimeout(5)
            st, _ = read_response(s, b"")
            if st != 200:
                raise SystemExit("idle: status %d" % st)
            ab.append(Abuser(s))
    p = start_probe(a.port, 3.0)
    drive(ab, now() + a.timeout + 4)
    res = close_summary(ab)
    res["normal"] = finish_probe(p)
    return res, ab


def sc_trickle(a):
    n = a.n or 50
    ab = []
    for _ in range(n):
        s = connect(a.port)
        s.sendall(("POST /sink HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n0123456789"
                   % HOST).encode())
        ab.append(Abuser(s))
    p = start_probe(a.port, 3.0)
    stop = now() + 3.0
    drive(ab, stop + a.timeout + 4, tick=1.0, drip=b"b", stop_sending_at=stop)
    res = close_summary(ab, from_last=True)
    res["cut_while_trickling"] = sum(1 for x in ab if x.t_closed is not None and
                                     x.t_closed < stop)
    res["normal"] = finish_probe(p)
    return res, ab


def sc_nonreader(a):
    n = a.n or 10
    base = proxy_side_conns(a.port)
    ab = []
    for _ in range(n):
        s = connect(a.port, rcvbuf=4096)
        s.sendall(("GET /size/%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (a.size, HOST)).encode())
        ab.append(Abuser(s))
    t0 = now()
    p = start_probe(a.port, 3.0)
    peak, t_cut, deadline = base, None, t0 + a.timeout + 8
    while now() < deadline:
        c = proxy_side_conns(a.port)
        peak = max(peak, c)
        if peak >= base + n and c <= base + 1:  # the normal client's connection
            t_cut = now() - t0
            break
        time.sleep(0.05)
    res = {"abusers": n, "conns_base": base, "conns_peak": peak,
           "cut_after_s": t_cut, "normal": finish_probe(p)}
    got, ended = [], 0
    for x in ab:
        x.sock.settimeout(0.5)
        total = 0
        try:
            while True:
                d = x.sock.recv(1 << 20)
                if not d:
                    ended += 1
                    break
                total += len(d)
        except OSError:
            pass
        got.append(total)
        x.sock.close()
    res["client_bytes_p50"] = pct(got, 0.5)
    res["ended"] = ended
    return res, ab


def run(a):
    st0 = backend_stats(a.backend_port)
    fn = {"slowloris": sc_slowloris, "idle": sc_idle, "trickle": sc_trickle,
          "nonreader": sc_nonreader}[a.scenario]
    res, ab = fn(a)
    for x in ab:
        try:
            x.sock.close()
        except OSError:
            pass
    time.sleep(0.2)
    st1 = backend_stats(a.backend_port)
    res["backend_conns"] = int(st1["conns"]) - int(st0["conns"]) - 1  # minus the stats one
    res["backend_requests"] = int(st1["requests"]) - int(st0["requests"])
    res["scenario"] = a.scenario
    res["proxy"] = a.proxy
    res["timeout_s"] = a.timeout
    json.dump(res, sys.stdout)
    print()


# ---- report ------------------------------------------------------------------------

def fmt(v, f="%.1f"):
    return "-" if v is None else f % v


def report(files):
    rows = []
    for fn in files:
        with open(fn) as f:
            r = json.load(f)
        rows.append(r)
    hdr = ("| scenario | proxy | normal p50 ms | normal p99 ms | failed | abusers | closed "
           "| closed after s (min/med/max) | sent before close | upstream conns |")
    out = [hdr, "|" + "---|" * 10]
    for r in rows:
        nm = r.get("normal", {})
        if r["scenario"] == "nonreader":
            closed = "all" if r.get("cut_after_s") is not None else "no"
            when = fmt(r.get("cut_after_s"), "%.1f")
            sent = "%s B buffered, %d ended" % (fmt(r.get("client_bytes_p50"), "%d"),
                                               r.get("ended", 0))
        else:
            closed = "%d" % r["closed"]
            when = "%s/%s/%s" % (fmt(r["close_min_s"]), fmt(r["close_p50_s"]),
                                 fmt(r["close_max_s"]))
            sent = ", ".join("%s×%d" % (k, v) for k, v in sorted(r["sent_before_close"].items()))
            if r["scenario"] == "trickle":
                when += " after the last byte; %d cut while trickling" % r["cut_while_trickling"]
        out.append("| %s | %s | %s | %s | %d | %d | %s | %s | %s | %d |" % (
            r["scenario"], r["proxy"], fmt(nm.get("p50_ms"), "%.2f"),
            fmt(nm.get("p99_ms"), "%.2f"), nm.get("failures", 0), r["abusers"], closed, when,
            sent or "-", r["backend_conns"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    r = sub.add_parser("run")
    r.add_argument("--scenario", required=True,
                   choices=["slowloris", "idle", "trickle", "nonreader"])
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--backend-port", type=int, required=True)
    r.add_argument("--timeout", type=float, required=True)
    r.add_argument("--proxy", default="?", help="its name, for the report")
    r.add_argument("-n", type=int, default=0)
    r.add_argument("--size", type=int, default=16 << 20)
    rp = sub.add_parser("report")
    rp.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.cmd == "probe":
        json.dump(probe(a.port, a.duration), sys.stdout)
    elif a.cmd == "run":
        run(a)
    else:
        print(report(a.files))


if __name__ == "__main__":
    main()
