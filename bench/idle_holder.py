#!/usr/bin/env python3
"""Opens N idle TCP connections to HOST:PORT and holds them until told to close.

Used by the benchmark's idle-connection test. Nothing is ever sent on the
connections: through a layer-4 proxy each one still becomes a real proxied
connection, because the proxy connects upstream as soon as it accepts.

Protocol on stdin/stdout (one line each):
  after connecting:   prints  "CONNECTED ok=<n> failed=<m> seconds=<s>"
  "status" on stdin:  prints  "ALIVE <n>"  (connections the peer has not closed)
  "close" or EOF:     closes every connection, prints "CLOSED", exits 0
It also closes everything and exits by itself after --max-hold seconds.
"""

import argparse
import errno
import resource
import selectors
import socket
import sys
import time


def connect_all(host, port, count, inflight, deadline):
    """Connects `count` non-blocking sockets, at most `inflight` pending at once."""
    sel = selectors.DefaultSelector()
    established, failed, started = [], 0, 0
    pending = 0
    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and pending < inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            rc = s.connect_ex((host, port))
            if rc in (0, errno.EINPROGRESS):
                sel.register(s, selectors.EVENT_WRITE)
                pending += 1
            else:
                failed += 1
                s.close()
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                established.append(s)
            else:
                failed += 1
                s.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    sel.close()
    failed += count - started
    return established, failed


def alive(conns):
    """Counts connections whose peer has not closed them (nothing is readable)."""
    n = 0
    for s in conns:
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data:
                n += 1  # the peer sent something: still open
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--inflight", type=int, default=256,
                    help="connects pending at once (keeps the listen backlog from overflowing)")
    ap.add_argument("--connect-timeout", type=float, default=60.0)
    ap.add_argument("--max-hold", type=float, default=120.0)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count + 1024), hard))

    t0 = time.monotonic()
    conns, failed = connect_all(args.host, args.port, args.count, args.inflight,
                                t0 + args.connect_timeout)
    print(f"CONNECTED ok={len(conns)} failed={failed} seconds={time.monotonic() - t0:.3f}",
          flush=True)

    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    deadline = time.monotonic() + args.max_hold
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        line = sys.stdin.readline()
        if line.strip() == "status":
            print(f"ALIVE {alive(conns)}", flush=True)
            continue
        break  # "close", EOF or anything else
    for s in conns:
        s.close()
    print("CLOSED", flush=True)


if __name__ == "__main__":
    main()
