#!/usr/bin/env python3
"""Feed a WAF corpus (JSONL) to waf_eval on its standard output.

Usage: corpus_feed.py [CORPUS.jsonl] [--id SUBSTR] [--class NAME] | waf_eval [options]

Each request becomes a record of length-prefixed fields, each written as
"<decimal length>\\n<bytes>": id, label, class, subclass, method, target,
header count, then name and value of each header, then the body. The corpus
itself is not part of the repository (default: ../shared/corpus/waf/public.jsonl).
"""
import json
import sys


def field(out, b):
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    out.write(str(len(b)).encode() + b"\n")
    out.write(b)


def main(argv):
    path = "../shared/corpus/waf/public.jsonl"
    want_id = None
    want_class = None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--id":
            want_id = args.pop(0)
        elif a == "--class":
            want_class = args.pop(0)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            path = a
    out = sys.stdout.buffer
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if want_id and want_id not in r.get("id", ""):
                continue
            if want_class and r.get("class") != want_class:
                continue
            headers = r.get("headers") or {}
            if isinstance(headers, dict):
                headers = list(headers.items())
            body = r.get("body") or ""
            bbody = body.encode("utf-8", "surrogateescape")
            names = {str(k).lower() for k, _ in headers}
            # the replay client adds Content-Length unless raw_headers is set
            if bbody and not r.get("raw_headers") and "content-length" not in names:
                headers.append(("Content-Length", str(len(bbody))))
            field(out, r.get("id", ""))
            field(out, r.get("label", ""))
            field(out, r.get("class", ""))
            field(out, r.get("subclass", "") or "")
            field(out, r.get("method", "GET"))
            field(out, r.get("path", "/"))
            field(out, str(len(headers)))
            for k, v in headers:
                field(out, str(k))
                field(out, str(v))
            field(out, bbody)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
