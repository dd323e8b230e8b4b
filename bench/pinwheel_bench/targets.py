"""What the benchmark measures: each target is a server kind (how it starts) plus a config
template under bench/templates/ and the values of its variant. A new target is one entry in
TARGETS (and its template file, if it needs a new one)."""

import time
from dataclasses import dataclass, field

from .common import BenchError, http_get, render
from .processes import free_port

NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
# Pinwheel's relay buffer for a flow that turned bulk (kLargeBufferSize in
# balancer/balancer.cpp): the HAProxy variant with equal buffers uses it as tune.bufsize.
PINWHEEL_LARGE_BUFFER = 256 * 1024
# Servers with active health checks (nginx stream has them only in the commercial version).
CAN_CHECK_HEALTH = ("pinwheel", "haproxy")


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    server: str                    # "pinwheel", "haproxy", "nginx" or "direct": how it starts
    template: str = ""             # config under bench/templates/ ("" for direct)
    settings: dict = field(default_factory=dict)  # template values of this variant
    default: bool = False          # in the default --targets list
    tests: tuple = ()              # the only tests it runs in (empty: every test)
    colour: str = "#666666"        # its bars in plot.png
    # Its config spawns its own backends (the demo backend, --backend-bin): its CPU and RSS
    # are the balancer process's alone, and its spawned children count as the backends.
    spawns_backends: bool = False

    def runs(self, test):
        """Whether this target takes part in `test` (health checks need a server that has
        them; a variant may be limited to some tests)."""
        if self.tests and test.name not in self.tests:
            return False
        return not test.health or self.server in CAN_CHECK_HEALTH


TARGETS = [
    Target("pinwheel", "Pinwheel", "pinwheel", "pinwheel.toml", {"metrics": "true"},
           default=True, colour="#d95f02"),
    Target("haproxy", "HAProxy", "haproxy", "haproxy.cfg", {"global": "", "defaults": ""},
           default=True, colour="#1b9e77"),
    # The bulk tests again with HAProxy's buffers as large as Pinwheel's bulk buffers, so
    # CPU per GB compares the relays rather than the buffer sizes.
    Target("haproxy-256k", "HAProxy (tune.bufsize 256 KiB)", "haproxy", "haproxy.cfg",
           {"global": f"    tune.bufsize {PINWHEEL_LARGE_BUFFER}", "defaults": ""}, default=True,
           tests=("bulk", "bulk32"), colour="#66c2a5"),
    # And with HAProxy splicing, as Pinwheel's bulk path does, through pipes as large as
    # Pinwheel's: kernel work against kernel work. Forced both ways: HAProxy 2.6's
    # splice-auto did not engage on these flows (strace showed only recvfrom/sendto).
    Target("haproxy-splice", "HAProxy (splice, 256 KiB)", "haproxy", "haproxy.cfg",
           {"global": f"    tune.bufsize {PINWHEEL_LARGE_BUFFER}\n"
                      f"    tune.pipesize {PINWHEEL_LARGE_BUFFER}\n    maxpipes 64",
            "defaults": "    option splice-request\n    option splice-response"}, default=True,
           tests=("bulk", "bulk32"), colour="#b3e2cd"),
    Target("nginx", "nginx stream", "nginx", "nginx-stream.conf", default=True,
           colour="#7570b3"),
    Target("direct", "direct", "direct", default=True),
    # Opt-in (--targets): what the metrics cost (on in "pinwheel", the default), and the
    # access log's cost, a line per connection to a file.
    Target("pinwheel-nometrics", "Pinwheel (metrics off)", "pinwheel", "pinwheel.toml",
           {"metrics": "false"}, colour="#e6ab02"),
    Target("pinwheel-log", "Pinwheel + access log", "pinwheel", "pinwheel.toml",
           {"metrics": "true", "access_log": True}, colour="#e7298a"),
    # Direct mode: the kernel hands connections to the backends; Pinwheel only steers. Its
    # backends answer "/" like the nginx pool but are the demo backend, so compare its
    # requests/s and latency with "direct", and its own CPU (about nothing per request)
    # with the proxies'.
    Target("pinwheel-direct", "Pinwheel (direct mode)", "pinwheel", "pinwheel-direct.toml",
           {"metrics": "true"}, tests=("keepalive", "close", "rate", "idle", "syscalls"),
           colour="#a6761d", spawns_backends=True),
]
BY_NAME = {t.name: t for t in TARGETS}
HEALTH_INTERVAL_MS = 100


def label(name):
    return BY_NAME[name].label


def _health(server, on):
    """The health-check part of a config: off, or TCP connects every HEALTH_INTERVAL_MS."""
    if server == "pinwheel":
        if not on:
            return '[health]\nkind = "none"'
        return f'[health]\nkind = "tcp"\ninterval = "{HEALTH_INTERVAL_MS}ms"'
    return f" check inter {HEALTH_INTERVAL_MS}ms" if on else ""


def start(bench, target, kind, health=False):
    """Starts a fresh `target` in front of the `kind` pool ("http" or "bulk"), health checks
    on or off; returns (Popen or None for direct, the port the load should use)."""
    a = bench.args
    upstream = bench.pool(kind)
    if target.server == "direct":
        return None, upstream[0]
    port = free_port()
    d = bench.path(f"{target.name}-{kind}")
    d.mkdir()
    values = dict(port=port, cpu=a.proxy_cpu, prefix=d, module=NGINX_STREAM_MODULE,
                  backend=a.backend_bin, **target.settings)
    if target.server == "haproxy":
        check = _health("haproxy", health)
        values["servers"] = "\n".join(f"    server s{i} 127.0.0.1:{p}{check}"
                                      for i, p in enumerate(upstream))
        conf = d / "haproxy.cfg"
        conf.write_text(render(target.template, **values))
        logfile = d / "haproxy.log"
        proc = bench.procs.start(target.name, ["haproxy", "-db", "-f", str(conf)],
                                 cpu=a.proxy_cpu, log=logfile)
        bench.wait_listening(proc, port, target.name, logfile)
    elif target.server == "nginx":
        values["servers"] = " ".join(f"server 127.0.0.1:{p};" for p in upstream)
        proc = bench.start_nginx(d, render(target.template, **values), port, a.proxy_cpu,
                                 target.name)
    elif target.server == "pinwheel":
        values["servers"] = ", ".join(f'"127.0.0.1:{p}"' for p in upstream)
        values["health"] = _health("pinwheel", health)
        access_log = values.pop("access_log", False)
        text = render(target.template, **values)
        if access_log:
            text += render("pinwheel-access-log.toml", access_log=d / "access.log")
        conf = d / "pinwheel.toml"
        conf.write_text(text)
        logfile = d / "pinwheel.log"
        proc = bench.procs.start(target.name, [str(a.pinwheel), "--config", str(conf)],
                                 cpu=a.proxy_cpu, log=logfile)
        bench.wait_listening(proc, port, target.name, logfile, ready_line="pinwheel: ready")
    else:
        raise BenchError(f"unknown server kind {target.server!r} of target {target.name}")
    if kind == "http":
        # Proves the proxy forwards before anything is measured.
        deadline = time.monotonic() + 10
        while http_get(port) != 200:
            if time.monotonic() > deadline or proc.poll() is not None:
                bench.procs.stop(proc)
                raise BenchError(f"{target.name} on port {port} does not forward a GET")
            time.sleep(0.05)
    return proc, port
