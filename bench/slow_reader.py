#!/usr/bin/env python3
"""Opens N connections to HOST:PORT, asks each for PATH (HTTP/1.0) and reads the answers
slowly, RATE bytes per second per connection, with a small receive buffer: a proxy in
between must hold back (and may buffer) what the server sends faster.

Used by the benchmark's slow-reader test. Protocol on stdin/stdout (one line each):
  once every request is sent:  prints "STARTED ok=<n> failed=<m>"
  after --duration seconds:    prints "READ bytes=<b> alive=<a>" and keeps the connections
                               open, no longer reading
  "close" or EOF on stdin:     closes every connection, prints "CLOSED", exits 0
It also closes everything and exits by itself after --max-hold seconds.
"""

import argparse
import select
import socket
import sys
import time

TICK_S = 0.05


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--path", default="/big")
    ap.add_argument("--rate", type=int, default=65536, help="bytes/s read per connection")
    ap.add_argument("--rcvbuf", type=int, default=16384, help="SO_RCVBUF of each connection")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--max-hold", type=float, default=120.0)
    a = ap.parse_args()

    conns, failed = [], 0
    request = f"GET {a.path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode()
    for _ in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connect, so the window the peer sees is small from the start.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.settimeout(5)
        try:
            s.connect((a.host, a.port))
            s.sendall(request)
            s.setblocking(False)
            conns.append(s)
        except OSError:
            failed += 1
            s.close()
    print(f"STARTED ok={len(conns)} failed={failed}", flush=True)

    per_tick = max(1, int(a.rate * TICK_S))
    total, closed = 0, set()
    start = time.monotonic()
    next_tick = start
    while time.monotonic() - start < a.duration:
        for s in conns:
            if s in closed:
                continue
            try:
                data = s.recv(per_tick)
                if not data:
                    closed.add(s)
                total += len(data)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(s)
        next_tick += TICK_S
        time.sleep(max(0.0, next_tick - time.monotonic()))
    print(f"READ bytes={total} alive={len(conns) - len(closed)}", flush=True)

    deadline = start + a.max_hold
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        line = sys.stdin.readline()
        if not line or line.strip() == "close":
            break
    for s in conns:
        s.close()
    print("CLOSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
