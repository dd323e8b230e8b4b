#!/usr/bin/env python3
"""deploy/kubernetes holds what makes a Guaranteed-QoS pod with exclusive cores, wired right.

    check_kubernetes.py DEPLOY_KUBERNETES_DIR

- Every container's CPU and memory requests equal its limits, and its CPU is a whole number of
  cores (so the static CPU manager gives exclusive cores);
- the readiness probe asks GET /metrics on the port [metrics] listen names in the ConfigMap's
  pinwheel.toml, and the scrape annotations and the PodMonitor point at that same port;
- the Service's target port is the container port [balancer] listen names;
- terminationGracePeriodSeconds leaves room for drain_timeout + stop_timeout.
"""
import glob
import os
import re
import sys
import tomllib

import yaml


def seconds(text):
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def main():
    folder = sys.argv[1]
    docs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        with open(path) as f:
            docs += [(os.path.basename(path), d) for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for name, doc in docs:
        by_kind.setdefault(doc["kind"], []).append((name, doc))
    problems = []

    def need(condition, message):
        if not condition:
            problems.append(message)

    for kind in ("ConfigMap", "Deployment", "Service", "PodMonitor"):
        need(len(by_kind.get(kind, [])) == 1, f"expected one {kind}, found {len(by_kind.get(kind, []))}")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1

    config = tomllib.loads(by_kind["ConfigMap"][0][1]["data"]["pinwheel.toml"])
    metrics_port = int(config["metrics"]["listen"].rsplit(":", 1)[1])
    traffic_port = int(config["balancer"]["listen"].rsplit(":", 1)[1])
    need(not config["metrics"]["listen"].startswith("127."),
         "[metrics] listen is loopback: the kubelet's probe and Prometheus cannot reach it")
    need("cpus" not in config["backends"] and "cpu" not in config["balancer"],
         "the config pins cores itself; it must use the cpuset the pod gets")

    deployment = by_kind["Deployment"][0][1]
    pod = deployment["spec"]["template"]
    containers = pod["spec"]["containers"]
    for c in containers:
        res = c.get("resources", {})
        requests, limits = res.get("requests", {}), res.get("limits", {})
        for resource in ("cpu", "memory"):
            need(resource in requests and str(requests.get(resource)) == str(limits.get(resource)),
                 f"container {c['name']}: {resource} request {requests.get(resource)} != limit "
                 f"{limits.get(resource)} (not Guaranteed QoS)")
        need(re.fullmatch(r"[1-9]\d*", str(requests.get("cpu", ""))) is not None,
             f"container {c['name']}: cpu {requests.get('cpu')!r} is not a whole number of cores")

    pinwheel = next(c for c in containers if c["name"] == "pinwheel")
    ports = {p["name"]: p["containerPort"] for p in pinwheel["ports"]}
    probe = pinwheel.get("readinessProbe", {}).get("httpGet", {})
    need(probe.get("path") == "/metrics", f"readiness probe path is {probe.get('path')!r}, not /metrics")
    probe_port = ports.get(probe.get("port"), probe.get("port"))
    need(probe_port == metrics_port,
         f"readiness probe port {probe_port} is not [metrics] listen's {metrics_port}")
    need(ports.get("traffic") == traffic_port,
         f"container port traffic {ports.get('traffic')} is not [balancer] listen's {traffic_port}")

    annotations = pod["metadata"].get("annotations", {})
    need(annotations.get("prometheus.io/scrape") == "true", "no prometheus.io/scrape annotation")
    need(annotations.get("prometheus.io/port") == str(metrics_port),
         f"prometheus.io/port {annotations.get('prometheus.io/port')} is not {metrics_port}")
    need(annotations.get("prometheus.io/path") == "/metrics", "prometheus.io/path is not /metrics")

    endpoints = by_kind["PodMonitor"][0][1]["spec"]["podMetricsEndpoints"]
    need(all(ports.get(e.get("port")) == metrics_port for e in endpoints),
         "a PodMonitor endpoint does not name the metrics port")

    service = by_kind["Service"][0][1]
    for p in service["spec"]["ports"]:
        target = ports.get(p["targetPort"], p["targetPort"])
        need(target == traffic_port, f"Service port {p['name']} targets {target}, not {traffic_port}")
    need(service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(),
         "the Service's selector does not match the pod's labels")

    drain = seconds(config["balancer"].get("drain_timeout", "10s"))
    stop = seconds(config.get("backends", {}).get("stop_timeout", "5s"))
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    need(grace > drain + stop,
         f"terminationGracePeriodSeconds {grace} leaves no room for drain {drain}s + stop {stop}s")

    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"ok: {len(docs)} objects; Guaranteed QoS with {pinwheel['resources']['requests']['cpu']} "
          f"whole cores; probe and scraping on {metrics_port}, traffic on {traffic_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
