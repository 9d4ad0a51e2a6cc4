#!/usr/bin/env python3
"""A deliberately slow HTTP/1.1 origin for bench/lb.sh: answers every request
after DELAY_MS milliseconds, keep-alive, like foyer-test-backend's /size/N
would (X-Backend: NAME, a small body). Standard library only.

    lb_slow_origin.py PORT DELAY_MS [NAME]

GET /__count answers at once with the number of requests served so far.

(foyer-test-backend can only be slow per path, /slow/MS, which would slow
every endpoint of a service alike; this one is slow whatever the path.)
"""
import asyncio
import sys


served = 0


def answer(name, body):
    return (b"HTTP/1.1 200 OK\r\nX-Backend: " + name.encode() +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


async def serve(reader, writer, delay, name):
    global served
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")  # GETs: no request body
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                break
            if head.startswith(b"GET /__count "):
                writer.write(answer(name, str(served).encode() + b"\n"))
                continue
            served += 1
            await asyncio.sleep(delay)
            writer.write(answer(name, b"x" * 100))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000
    name = sys.argv[3] if len(sys.argv) > 3 else "slow"
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, delay, name), "127.0.0.1", port, backlog=1024)
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
