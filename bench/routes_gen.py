#!/usr/bin/env python3
"""Route sets for bench/routes_e2e.sh (stdlib only).

    routes_gen.py HOSTS DIR [SERVICES]

Writes, for HOSTS host names h0.example.com .. h{HOSTS-1}.example.com, each
with the path prefixes /api, /static and /img, the route i/k going to service
s{(i+k) % SERVICES} (SERVICES: 4):

    DIR/routes-A.json, DIR/routes-B.json   foyer.router documents (the one-rule
        shorthand of lua/router.md: { hostnames, rules = { { path, service } } }),
        for router.new(router.load(FILE));
    DIR/routes-A.map, DIR/routes-B.map     the same mappings as an HAProxy map
        file for map_beg on "host + path": "hN.example.com/api/ sK"; the
        trailing slash makes the prefix element-wise for every path below the
        prefix (/api/x matches, /apix does not; the bare "/api" is not
        covered, and wrk never sends it).

A and B differ only in the reload probe: host reload-probe.example, path /,
service s0, and a response header X-Route-Gen: A (or B), so that a client can
tell which of the two route sets answered.  In the map files the probe goes to
the HAProxy backends probe_A / probe_B, which set that header.
"""
import os
import sys

PREFIXES = ("/api", "/static", "/img")
PROBE_HOST = "reload-probe.example"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    hosts = int(sys.argv[1])
    out = sys.argv[2]
    nsvc = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    routes, mapl = [], []
    for i in range(hosts):
        h = f"h{i}.example.com"
        rules = ",".join(
            f'{{"path":"{p}","service":"s{(i + k) % nsvc}"}}' for k, p in enumerate(PREFIXES))
        routes.append(f'{{"hostnames":["{h}"],"rules":[{rules}]}}')
        for k, p in enumerate(PREFIXES):
            mapl.append(f"{h}{p}/ s{(i + k) % nsvc}\n")
    body = ",\n".join(routes)
    mbody = "".join(mapl)
    for gen in ("A", "B"):
        probe = (f'{{"host":"{PROBE_HOST}","path":"/","service":"s0","filters":'
                 f'[{{"type":"ResponseHeaderModifier","set":{{"x-route-gen":"{gen}"}}}}]}}')
        with open(os.path.join(out, f"routes-{gen}.json"), "w") as f:
            f.write('{"semantics":"gateway","routes":[\n' + body + ",\n" + probe + "\n]}\n")
        with open(os.path.join(out, f"routes-{gen}.map"), "w") as f:
            f.write(mbody + f"{PROBE_HOST}/ probe_{gen}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
