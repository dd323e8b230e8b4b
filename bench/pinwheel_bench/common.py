"""Paths, errors and small helpers shared by every module."""

import re
import socket
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
TEMPLATES_DIR = BENCH_DIR / "templates"


class BenchError(Exception):
    """A measurement or set-up step failed; the message says which and why."""


class StartError(BenchError):
    """A server exited while starting (e.g. its port was taken meanwhile): worth a retry
    on a fresh port."""


class Aborted(BaseException):
    """Raised from a signal handler or the wall-clock guard: stop and clean up."""


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def one_line(text, limit=300):
    """A multi-line message (error plus log tail) as one line for tables and CSV."""
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def tail(path, lines=15):
    text = read_text(path) or ""
    return "\n".join(text.splitlines()[-lines:])


def render(template, **values):
    """bench/templates/TEMPLATE with every @KEY@ replaced by values["key"]."""
    text = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise BenchError(f"template {template}: no value for {', '.join(sorted(set(left)))}")
    return text


def http_get(port, path="/", timeout=2.0):
    """One HTTP/1.0 GET; returns the status code, or None if the exchange failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode())
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def num(v):
    if v in ("", None):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, decimals):
    if v is None:
        return "—"
    return f"{v:,.{decimals}f}"
