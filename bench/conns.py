#!/usr/bin/env python3
"""Open N client connections to a server and hold them (bench/memory.sh).

    conns.py --port PORT [--host 127.0.0.1] [-n 10000] --mode idle|half
             [--path /size/100] [--host-header vincentpizza.com]
             [--window 100] [--step-timeout 60] [--hold 120] [--release-file F]

Modes:
  idle  each connection sends one complete GET, reads the whole response
        (Content-Length or chunked) and then stays open: an idle keep-alive
        connection.
  half  each connection sends half a request header,
        "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: ", and stops there.

At most --window connections are connecting / in their step at a time, so the
server's accept queue never overflows.  When every connection has done its step
(or --step-timeout passed) it prints one line

    ready n=N ok=K failed=F elapsed=S

and then holds the connections, watching for the server closing any, until the
file --release-file exists, SIGTERM/SIGINT arrives, or --hold seconds pass.
It then prints

    done alive=A closed_by_peer=C unexpected_data=D

and closes everything.  Exit status 0, or 1 if no connection got through.
"""

import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import sys
import time

HALF = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: "


class Conn:
    __slots__ = ("sock", "state", "out", "buf")

    def __init__(self, sock, out):
        self.sock = sock
        self.state = "connect"
        self.out = out
        self.buf = b""


def response_complete(buf):
    """True once buf holds one whole response (Content-Length or chunked)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buf[:end].decode("latin-1").split("\r\n")
    body = buf[end + 4:]
    length, chunked = None, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        return body.endswith(b"0\r\n\r\n")
    if length is None:
        # 1xx/204/304 have no body; anything else without a length is read to
        # EOF, which an idle-keep-alive test cannot use: treat as complete.
        return True
    return len(body) >= length


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--mode", choices=("idle", "half"), required=True)
    ap.add_argument("--path", default="/size/100")
    ap.add_argument("--host-header", default="vincentpizza.com")
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--step-timeout", type=float, default=60.0)
    ap.add_argument("--hold", type=float, default=120.0)
    ap.add_argument("--release-file")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.n + 50 > hard:
        sys.exit(f"conns.py: -n {a.n} needs more than the {hard} open files allowed")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    if a.mode == "idle":
        request = (f"GET {a.path} HTTP/1.1\r\nHost: {a.host_header}\r\n"
                   "User-Agent: foyer-bench-conns\r\n\r\n").encode()
    else:
        request = HALF

    sel = selectors.DefaultSelector()
    held = []          # connections that finished their step
    in_step = 0
    started = failed = closed = unexpected = 0
    t0 = time.monotonic()
    deadline = t0 + a.step_timeout

    def fail(c):
        nonlocal failed, in_step
        failed += 1
        in_step -= 1
        sel.unregister(c.sock)
        c.sock.close()

    def finish(c):
        nonlocal in_step
        in_step -= 1
        c.state = "held"
        c.buf = b""
        sel.modify(c.sock, selectors.EVENT_READ, c)
        held.append(c)

    def on_held(c):
        """A held connection became readable: the server spoke or closed."""
        nonlocal closed, unexpected
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            if not c.buf:
                unexpected += 1
                c.buf = b"!"
            return
        closed += 1
        c.state = "closed"
        sel.unregister(c.sock)
        c.sock.close()

    while (started < a.n or in_step) and time.monotonic() < deadline and not stop:
        while started < a.n and in_step < a.window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            err = s.connect_ex((a.host, a.port))
            if err not in (0, errno.EINPROGRESS):
                failed += 1
                s.close()
                continue
            c = Conn(s, request)
            in_step += 1
            sel.register(s, selectors.EVENT_WRITE, c)
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            if c.state == "held":
                on_held(c)
                continue
            if c.state == "connect":
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    fail(c)
                    continue
                c.state = "send"
            if c.state == "send":
                try:
                    n = c.sock.send(c.out)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    fail(c)
                    continue
                c.out = c.out[n:]
                if c.out:
                    continue
                if a.mode == "half":
                    finish(c)
                else:
                    c.state = "recv"
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            if c.state == "recv":
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    fail(c)
                    continue
                c.buf += data
                if response_complete(c.buf):
                    finish(c)

    ok = len(held) - closed
    print(f"ready n={a.n} ok={ok} failed={failed + in_step + (a.n - started)} "
          f"elapsed={time.monotonic() - t0:.1f}", flush=True)

    hold_end = time.monotonic() + a.hold
    while not stop and time.monotonic() < hold_end:
        if a.release_file and os.path.exists(a.release_file):
            break
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            if c.state == "held":
                on_held(c)
    # A last look for connections the server closed.
    for key, _ in sel.select(timeout=0):
        if key.data.state == "held":
            on_held(key.data)

    alive = sum(1 for c in held if c.state == "held")
    print(f"done alive={alive} closed_by_peer={closed} unexpected_data={unexpected}", flush=True)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
