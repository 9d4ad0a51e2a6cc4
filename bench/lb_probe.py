#!/usr/bin/env python3
"""Latency as one client sees it, for bench/lb.sh: sequential GETs on one
keep-alive connection for SECONDS (while wrk loads the proxy on others),
each timed on its own; prints "p50 p90 p99 max count" in milliseconds.

    lb_probe.py PORT SECONDS

wrk's percentiles include wrk's own scheduling delays on a busy CPU; this
client's do too, but it sends one request at a time, so each figure is one
request's time through the proxy and the origin it was sent to.
"""
import http.client
import sys
import time


def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        conn.request("GET", "/size/100", headers={"Host": "app"})
        conn.getresponse().read()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("%.2f %.2f %.2f %.2f %d" % (pick(0.5), pick(0.9), pick(0.99), lat[-1], len(lat)))


if __name__ == "__main__":
    main()
