#!/usr/bin/env python3
"""Load across reloads for bench/reload.sh (python3 asyncio, stdlib only).

    reload_load.py --port P --out FILE.json
                   (--signal HUP --pid MASTER | --cmd "nginx -p D/ -c F -s reload")
                   --live FILE --set-a FILE --set-b FILE
                   [--backend-a A] [--backend-b B] [--host app.example]
                   [--reloads 50] [--interval 0.6] [--warmup 3] [--tail 1]
                   [--ka 8] [--newconn 4] [--upload 2] [--ws 1]
                   [--ka-think-ms 10] [--size 1024] [--upload-bytes 1048576]
                   [--rss-pid MASTER] [--deadline 300]

Runs these clients against 127.0.0.1:P, all at once, on one event loop:

  ka       keep-alive: GET /size/SIZE again and again on one connection, a
           random pause of 0..KA_THINK_MS between requests (the moment a
           draining server closes idle connections is when this one reuses it);
  newconn  a new connection per request (GET /size/SIZE, Connection: close);
  upload   keep-alive: POST /sink with an UPLOAD_BYTES body; the origin
           answers "bytes=N sha=X", N is checked;
  ws       GET /ws with Upgrade: websocket; after the 101 the origin echoes raw
           bytes: a 32-byte message every 20 ms, each echo checked.

and, in a process of its own (so that the clients' event loop cannot delay
it), after WARMUP seconds, RELOADS reloads INTERVAL seconds apart: reload i
copies SET-B (odd i) or SET-A (even i) over LIVE, then sends the signal (or
runs the command), and from then on a probe opens new connections
(GET /probe, Connection: close) one after the other until one is answered by
the backend of the new set (the X-Backend header of foyer-test-backend: A for
set A, B for set B): "seen" is that time after the reload started.

A request **fails** when, once written, it does not get a complete 2xx answer:
the connection was closed or reset before the end of the answer
("closed_mid_request" / "reset_mid_request"), a non-2xx status, a body shorter
than announced or a wrong /sink count ("short_body", "bad_sink"), no answer
within 10 s ("timeout"), or the connection could not be opened ("connect_*").
Not failures, counted apart: a keep-alive connection the server closed
gracefully (Connection: close on an answer) or that the client found closed
while idle, before reusing it ("idle_closed"). A WebSocket **cut** is the
tunnel closed, reset or echoing wrong bytes while in use.

"stale": an answer from the other set's backend to a request sent after the
probe saw the current set, and answered before the next reload began.

Each client stops at the end (after TAIL seconds past the last reload) once
its request in flight is answered; DEADLINE bounds the whole run.  The report
(one JSON object) goes to --out; a summary line to stdout.
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

OP_TIMEOUT = 10.0


class Stats:
    def __init__(self):
        self.kinds = {}
        self.failures = []  # detailed records of the first failures

    def kind(self, k):
        return self.kinds.setdefault(k, {"ok": 0, "failed": 0, "reasons": {}, "by_backend": {},
                                         "stale": 0, "idle_closed": 0, "graceful_closed": 0,
                                         "connections": 0})


class State:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.stopping = False
        self.reloads = []
        # the set in force once confirmed: (set name, confirmed at, next reload start)
        self.current = "A"
        self.confirmed_at = 0.0
        self.reload_seq = 0
        self.last_reload_start = None
        self.stats = Stats()

    def now(self):
        return time.monotonic() - self.t0

    def fail(self, kind, reason, **detail):
        k = self.stats.kind(kind)
        k["failed"] += 1
        k["reasons"][reason] = k["reasons"].get(reason, 0) + 1
        if len(self.stats.failures) < 200:
            t = self.now()
            rec = {"kind": kind, "reason": reason, "t": round(t, 4), "reload_seq": self.reload_seq}
            if self.last_reload_start is not None:
                rec["since_reload_start_ms"] = round((t - self.last_reload_start) * 1000, 1)
            rec.update(detail)
            self.stats.failures.append(rec)

    def ok(self, kind, backend, t_sent, seq_sent):
        k = self.stats.kind(kind)
        k["ok"] += 1
        k["by_backend"][backend] = k["by_backend"].get(backend, 0) + 1
        # stale: sent after the current set was confirmed, answered before the next reload
        if (seq_sent == self.reload_seq and self.confirmed_at is not None
                and t_sent >= self.confirmed_at and backend != self.expected(self.current)):
            k["stale"] += 1

    def expected(self, setname):
        return self.a.backend_a if setname == "A" else self.a.backend_b


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        if ln:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


async def read_response(reader):
    """(status, headers, body); raises on a short or cut answer."""
    status, hdrs = await read_head(reader)
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        body = await reader.readexactly(n)
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    else:
        body = await reader.read()
    return status, hdrs, body


def classify(e):
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    if isinstance(e, ConnectionResetError):
        return "reset_mid_request"
    if isinstance(e, (asyncio.IncompleteReadError, EOFError)):
        if isinstance(e, asyncio.IncompleteReadError) and e.partial:
            return "short_body"
        return "closed_mid_request"
    if isinstance(e, BrokenPipeError):
        return "reset_mid_request"
    if isinstance(e, asyncio.LimitOverrunError):
        return "bad_answer"
    return type(e).__name__


async def open_conn(st, kind):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", st.a.port, limit=1 << 20),
                                      OP_TIMEOUT)
        st.stats.kind(kind)["connections"] += 1
        return r, w
    except asyncio.TimeoutError:
        st.fail(kind, "connect_timeout")
    except ConnectionRefusedError:
        st.fail(kind, "connect_refused")
    except OSError as e:
        st.fail(kind, "connect_" + type(e).__name__)
    return None, None


def close(w):
    if w is not None:
        try:
            w.close()
        except Exception:
            pass


def idle_closed(reader):
    """The server closed the connection while it was idle (seen before reuse)."""
    return reader.at_eof() or reader.exception() is not None


async def http_client(st, kind, request_fn, check_fn, think, keepalive):
    """One client: keep-alive (keepalive=True) or a connection per request."""
    r = w = None
    nreq = 0
    opened = 0.0
    while not st.stopping:
        if w is None:
            r, w = await open_conn(st, kind)
            if w is None:
                await asyncio.sleep(0.01)
                continue
            nreq = 0
            opened = st.now()
        elif idle_closed(r):
            st.stats.kind(kind)["idle_closed"] += 1
            close(w)
            w = None
            continue
        t_sent, seq = st.now(), st.reload_seq
        try:
            w.write(request_fn())
            await asyncio.wait_for(w.drain(), OP_TIMEOUT)
            status, hdrs, body = await asyncio.wait_for(read_response(r), OP_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            st.fail(kind, classify(e), conn_requests_before=nreq,
                    conn_age_ms=round((st.now() - opened) * 1000, 1),
                    sent_at=round(t_sent, 4), error=f"{type(e).__name__}: {e}"[:160])
            close(w)
            w = None
            await asyncio.sleep(0.005)
            continue
        nreq += 1
        if status // 100 != 2:
            st.fail(kind, f"status_{status}", conn_requests_before=nreq - 1,
                    body=body[:120].decode("latin-1"))
        else:
            err = check_fn(hdrs, body)
            if err:
                st.fail(kind, err)
            else:
                st.ok(kind, hdrs.get("x-backend", "?"), t_sent, seq)
        if not keepalive or hdrs.get("connection", "").lower() == "close":
            if keepalive:
                st.stats.kind(kind)["graceful_closed"] += 1
            close(w)
            w = None
        if think:
            await asyncio.sleep(random.uniform(0, think))
    close(w)


async def ws_client(st, idx):
    cuts = st.stats.kind("ws")
    cuts.setdefault("cuts", 0)
    cuts.setdefault("messages", 0)
    cuts.setdefault("cut_records", [])
    n = 0
    while not st.stopping:
        r, w = await open_conn(st, "ws")
        if w is None:
            await asyncio.sleep(0.05)
            continue
        try:
            w.write(b"GET /ws HTTP/1.1\r\nHost: " + st.a.host.encode() +
                    b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            status, hdrs = await asyncio.wait_for(read_head(r), OP_TIMEOUT)
        except Exception as e:  # noqa: BLE001
            st.fail("ws", "upgrade_" + classify(e), error=str(e)[:160])
            close(w)
            await asyncio.sleep(0.05)
            continue
        if status != 101:
            st.fail("ws", f"upgrade_status_{status}")
            close(w)
            await asyncio.sleep(0.05)
            continue
        st.ok("ws", hdrs.get("x-backend", "?"), -1, -1)
        opened = st.now()
        msgs_here = 0
        while not st.stopping:
            msg = f"ws{idx:02d}-{n:024d}\n".encode()[:32].ljust(32, b".")
            n += 1
            try:
                w.write(msg)
                await asyncio.wait_for(w.drain(), OP_TIMEOUT)
                echo = await asyncio.wait_for(r.readexactly(len(msg)), OP_TIMEOUT)
            except Exception as e:  # noqa: BLE001
                cuts["cuts"] += 1
                if len(cuts["cut_records"]) < 20:
                    cuts["cut_records"].append({"t": round(st.now(), 4), "reason": classify(e),
                                                "open_ms": round((st.now() - opened) * 1000),
                                                "messages": msgs_here, "reload_seq": st.reload_seq})
                break
            if echo != msg:
                cuts["cuts"] += 1
                cuts["cut_records"].append({"t": round(st.now(), 4), "reason": "wrong_echo"})
                break
            cuts["messages"] += 1
            msgs_here += 1
            await asyncio.sleep(0.02)
        close(w)


def probe_once(a, fails):
    """The backend answering a new connection's GET /probe, or None (blocking)."""
    try:
        sock = socket.create_connection(("127.0.0.1", a.port), timeout=OP_TIMEOUT)
    except OSError as e:
        fails.append("connect_" + type(e).__name__)
        return None
    try:
        sock.sendall(b"GET /probe HTTP/1.1\r\nHost: " + a.host.encode() + b"\r\nConnection: close\r\n\r\n")
        buf = b""
        while True:
            d = sock.recv(65536)
            if not d:
                break
            buf += d
    except OSError as e:
        fails.append(("reset" if isinstance(e, ConnectionResetError) else type(e).__name__))
        return None
    finally:
        sock.close()
    head, sep, _ = buf.partition(b"\r\n\r\n")
    if not sep:
        fails.append("closed_mid_request")
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status != 200:
        fails.append(f"status_{status}")
        return None
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "x-backend":
            return v.strip()
    return "?"


def do_reload(a):
    if a.signal:
        os.kill(a.pid, getattr(signal, "SIG" + a.signal))
        return 0.0, 0
    t = time.monotonic()
    try:
        p = subprocess.run(shlex.split(a.cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=30)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t, -1
    if p.returncode != 0:
        sys.stderr.write(f"reload_load: reload command failed: {p.stderr.decode(errors='replace')[:300]}\n")
    return time.monotonic() - t, p.returncode


def reloader_proc(a, conn, t0):
    """In a process of its own (so that the clients' event loop does not delay
    the probe): the reloads, each followed by probes until the new set answers.
    Events to the parent: ("start", i, set, t), ("seen", i, t), ("done", records, fails)."""
    expected = {"A": a.backend_a, "B": a.backend_b}
    fails = []
    recs = []
    nok = 0
    try:
        time.sleep(max(0.0, t0 + a.warmup - time.monotonic()))
        for i in range(1, a.reloads + 1):
            new = "B" if i % 2 else "A"
            shutil.copyfile(a.set_b if new == "B" else a.set_a, a.live + ".tmp")
            os.replace(a.live + ".tmp", a.live)
            start = time.monotonic()
            conn.send(("start", i, new, start - t0))
            if a.signal:
                cmd_s, rc = do_reload(a)
                cmd_thread = None
            else:  # the command runs while the probe already polls
                res = {}
                cmd_thread = threading.Thread(target=lambda: res.update(r=do_reload(a)), daemon=True)
                cmd_thread.start()
            seen = None
            old = 0
            nf = len(fails)
            trace = []  # (ms after the reload began when sent, ms it took, backend)
            want = expected[new]
            while time.monotonic() - start < 20:
                ps = time.monotonic()
                b = probe_once(a, fails)
                nok += b is not None
                trace.append((round((ps - start) * 1000, 2), round((time.monotonic() - ps) * 1000, 2), b))
                if b == want:
                    seen = time.monotonic() - start
                    break
                if b is not None:
                    old += 1
                else:
                    time.sleep(0.002)
            if cmd_thread is not None:
                cmd_thread.join(40)
                cmd_s, rc = res.get("r", (None, None))
            conn.send(("seen", i, (time.monotonic() - t0) if seen is not None else None))
            recs.append({"i": i, "set": new, "t": round(start - t0, 4),
                         "seen_ms": None if seen is None else round(seen * 1000, 2),
                         "old_answers": old, "probe_failures": fails[nf:],
                         "cmd_ms": None if cmd_s is None else round(cmd_s * 1000, 1), "cmd_rc": rc,
                         "probe_trace": trace[:3] + (["..."] if len(trace) > 6 else []) +
                         trace[max(3, len(trace) - 3):]})
            rest = a.interval - (time.monotonic() - start)
            if rest > 0:
                time.sleep(rest)
        time.sleep(a.tail)
    finally:
        conn.send(("done", recs, fails, nok))
        conn.close()


async def reloader(st):
    """Follows the reloader process's events; sets st.stopping at the end."""
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=reloader_proc, args=(st.a, child, st.t0), daemon=True)
    proc.start()
    child.close()
    loop = asyncio.get_running_loop()
    try:
        while True:
            ev = await loop.run_in_executor(None, parent.recv)
            if ev[0] == "start":
                _, i, new, t = ev
                st.reload_seq = i
                st.last_reload_start = t
                st.confirmed_at = None
                st.current = new
            elif ev[0] == "seen":
                st.confirmed_at = ev[2]
            elif ev[0] == "done":
                st.reloads = ev[1]
                pk = st.stats.kind("probe")
                pk["ok"] = ev[3]
                for f in ev[2]:
                    pk["failed"] += 1
                    pk["reasons"][f] = pk["reasons"].get(f, 0) + 1
                break
    except EOFError:
        pass
    finally:
        st.stopping = True
        await loop.run_in_executor(None, proc.join, 10)
        if proc.is_alive():
            proc.kill()


async def rss_sampler(st, pid, samples):
    def kids():
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    s = f.read()
                if int(s[s.rindex(")") + 2:].split()[1]) == pid:
                    out.append(int(name))
            except (OSError, ValueError):
                pass
        return out

    def rss(pids):
        tot = 0
        for p in pids:
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            tot += int(line.split()[1])
            except OSError:
                pass
        return tot

    n = 0
    ks = []
    while not st.stopping:
        if n % 10 == 0:
            ks = kids()
        n += 1
        samples.append((round(st.now(), 3), rss(ks), len(ks)))
        await asyncio.sleep(0.02)


async def main_async(a):
    st = State(a)
    size = a.size
    upload_body = b"u" * a.upload_bytes
    host = a.host.encode()

    def get_req():
        return b"GET /size/%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (size, host)

    def get_close_req():
        return b"GET /size/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (size, host)

    def post_req():
        return (b"POST /sink HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: %d\r\n\r\n" % (host, len(upload_body))) + upload_body

    def check_size(hdrs, body):
        return None if len(body) == size else "short_body"

    def check_sink(hdrs, body):
        return None if body.startswith(b"bytes=%d " % len(upload_body)) else "bad_sink"

    tasks = []
    for _ in range(a.ka):
        tasks.append(http_client(st, "ka", get_req, check_size, a.ka_think_ms / 1000, True))
    for _ in range(a.newconn):
        tasks.append(http_client(st, "newconn", get_close_req, check_size, 0.005, False))
    for _ in range(a.upload):
        tasks.append(http_client(st, "upload", post_req, check_sink, 0.02, True))
    for i in range(a.ws):
        tasks.append(ws_client(st, i))
    samples = []
    if a.rss_pid:
        tasks.append(rss_sampler(st, a.rss_pid, samples))
    tasks.append(reloader(st))
    # The clients stop by themselves once st.stopping is set; the deadline
    # bounds everything.
    gathered = asyncio.gather(*[asyncio.ensure_future(t) for t in tasks])
    try:
        await asyncio.wait_for(gathered, a.deadline)
        finished = True
    except asyncio.TimeoutError:
        finished = False
    return st, samples, finished


def summarize(a, st, samples, finished):
    rel = st.reloads
    seen = sorted(r["seen_ms"] for r in rel if r["seen_ms"] is not None)
    out = {"finished": finished, "duration_s": round(st.now(), 2), "kinds": st.stats.kinds,
           "failures": st.stats.failures, "reloads": rel,
           "reloads_done": len(rel), "reloads_not_seen": sum(1 for r in rel if r["seen_ms"] is None)}
    if seen:
        out["seen_ms_median"] = seen[len(seen) // 2] if len(seen) % 2 else \
            (seen[len(seen) // 2 - 1] + seen[len(seen) // 2]) / 2
        out["seen_ms_max"] = seen[-1]
    out["failed_requests"] = sum(v["failed"] for k, v in st.stats.kinds.items() if k not in ("ws",))
    out["failed_by_kind"] = {k: v["failed"] for k, v in st.stats.kinds.items()}
    out["ws_cuts"] = st.stats.kinds.get("ws", {}).get("cuts", 0)
    out["stale"] = sum(v.get("stale", 0) for v in st.stats.kinds.values())
    if samples:
        first_reload = rel[0]["t"] if rel else None
        steady = [s[1] for s in samples if first_reload is None or s[0] < first_reload]
        steady = steady[len(steady) // 2:] or steady  # the second half of the warm-up
        during = [s[1] for s in samples if first_reload is not None and s[0] >= first_reload]
        steady_med = sorted(steady)[len(steady) // 2] if steady else None
        out["rss"] = {"steady_kib": steady_med, "during_reloads_max_kib": max(during) if during else None,
                      "during_reloads_median_kib": sorted(during)[len(during) // 2] if during else None,
                      "end_kib": samples[-1][1], "max_processes": max(s[2] for s in samples),
                      "samples": len(samples)}
        if steady_med and during:
            out["rss"]["ratio_max_over_steady"] = round(max(during) / steady_med, 3)
        if len(rel) >= 2:
            # between the 1st and 2nd reload: the step of the first reload alone
            first = [x[1] for x in samples if rel[0]["t"] + 0.1 <= x[0] < rel[1]["t"]]
            if first:
                out["rss"]["after_first_reload_kib"] = sorted(first)[len(first) // 2]
        step = max(1, len(samples) // 300)
        out["rss"]["timeline"] = [list(x[:2]) for x in samples[::step]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--signal")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--cmd")
    ap.add_argument("--live", required=True)
    ap.add_argument("--set-a", required=True)
    ap.add_argument("--set-b", required=True)
    ap.add_argument("--backend-a", default="A")
    ap.add_argument("--backend-b", default="B")
    ap.add_argument("--host", default="app.example")
    ap.add_argument("--reloads", type=int, default=50)
    ap.add_argument("--interval", type=float, default=0.6)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--tail", type=float, default=1)
    ap.add_argument("--ka", type=int, default=8)
    ap.add_argument("--newconn", type=int, default=4)
    ap.add_argument("--upload", type=int, default=2)
    ap.add_argument("--ws", type=int, default=1)
    ap.add_argument("--ka-think-ms", type=float, default=10)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--upload-bytes", type=int, default=1 << 20)
    ap.add_argument("--rss-pid", type=int)
    ap.add_argument("--deadline", type=float, default=300)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    if not a.cmd and not (a.signal and a.pid):
        ap.error("--signal and --pid, or --cmd")
    st, samples, finished = asyncio.run(main_async(a))
    out = summarize(a, st, samples, finished)
    out["label"] = a.label
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    k = out["kinds"]
    print(f"  {a.label:8} failed {out['failed_requests']:4d} "
          f"({', '.join(f'{n} {v}' for n, v in out['failed_by_kind'].items() if v)}) "
          f"ws cuts {out['ws_cuts']}  ok: " + " ".join(f"{n} {v['ok']}" for n, v in k.items()) +
          f"  reloads {out['reloads_done']} seen median {out.get('seen_ms_median', 0):.1f} ms "
          f"max {out.get('seen_ms_max', 0):.1f} ms  stale {out['stale']}"
          + ("" if finished else "  ** DEADLINE HIT **"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
