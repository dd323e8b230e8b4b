#!/usr/bin/env python3
"""The Grafana dashboard and the Prometheus alert rules use only metrics Pinwheel exposes.

    check_metric_names.py METRIC_NAMES DASHBOARD_JSON RULES_YML

Checks that the dashboard is valid JSON with well-formed panels (unique ids, a grid position,
the datasource variable, at least one query each), that it shows what an operator needs
(connections per backend, per-backend CPU, state, restarts, connect latency quantiles, accept
rate), that every metric named in a panel, a variable or an alert is in METRIC_NAMES, and that
every dashboard query parses as PromQL (via `promtool check rules` on a generated rule file).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and",
    "or", "unless", "inf", "nan",
}
IDENTIFIER = re.compile(r"(?<![0-9A-Za-z_:.])[A-Za-z_:][A-Za-z0-9_:]*")  # not the unit of 5m


def known_names(path):
    names = {"up"}
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            names.add(words[0])
            if words[1:] == ["histogram"]:
                names.update(words[0] + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def metric_names(expr):
    """Metric names in a PromQL expression (selectors, not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, $__rate_interval
    # Label lists after a grouping keyword.
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in IDENTIFIER.finditer(text):
        word = m.group(0)
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS or text[m.start() - 1:m.start()] == "$":
            continue
        names.add(word)
    return names


def main():
    names_path, dashboard_path, rules_path = sys.argv[1:4]
    known = known_names(names_path)
    problems = []

    with open(dashboard_path) as f:
        try:
            dashboard = json.load(f)
        except json.JSONDecodeError as e:
            sys.exit(f"FAIL: {dashboard_path} is not valid JSON: {e}")

    exprs = []  # (where, expr)
    ids = set()
    for panel in dashboard.get("panels", []):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("id") in ids:
            problems.append(f"{where}: id used twice")
        ids.add(panel.get("id"))
        if not all(k in panel.get("gridPos", {}) for k in ("x", "y", "w", "h")):
            problems.append(f"{where}: no gridPos x/y/w/h")
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"{where}: datasource is not the ${{datasource}} variable")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{where}: no query")
        for t in targets:
            if not t.get("expr"):
                problems.append(f"{where}: a target without expr")
            exprs.append((where, t.get("expr", "")))
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        if var.get("type") == "query":
            inner = re.match(r"label_values\((.*),\s*\w+\)$", query or "")
            exprs.append((f"variable {var.get('name')}", inner.group(1) if inner else query))

    used = set()
    for where, expr in exprs:
        for name in metric_names(expr):
            used.add(name)
            if name not in known:
                problems.append(f"{where}: unknown metric {name!r} in {expr}")

    all_exprs = " ".join(e for _, e in exprs)
    for needed in ("pinwheel_backend_connections_active", "pinwheel_backend_cpu_seconds_total",
                   "pinwheel_backend_state", "pinwheel_backend_restarts_total",
                   "pinwheel_backend_connect_duration_seconds_bucket",
                   "pinwheel_connections_accepted_total"):
        if needed not in used:
            problems.append(f"the dashboard shows nothing of {needed}")
    if "histogram_quantile(" not in all_exprs:
        problems.append("the dashboard has no latency quantile (histogram_quantile)")

    with open(rules_path) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                if name not in known:
                    problems.append(f"alert {rule.get('alert')}: unknown metric {name!r}")

    # Every dashboard query parses: as recording rules, with Grafana's variables filled in.
    with tempfile.TemporaryDirectory() as tmp:
        generated = os.path.join(tmp, "dashboard.rules.yml")
        records = [{"record": f"dashboard:query_{i}",
                    "expr": expr.replace("$__rate_interval", "5m").replace("$instance", ".*")}
                   for i, (_, expr) in enumerate(exprs)]
        with open(generated, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}, f)
        check = subprocess.run(["promtool", "check", "rules", generated],
                               capture_output=True, text=True)
        if check.returncode != 0:
            problems.append("a dashboard query is not valid PromQL:\n" + check.stdout + check.stderr)

    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"ok: {len(exprs)} queries in {len(ids)} panels and "
          f"{sum(len(g['rules']) for g in rules['groups'])} alerts use only known metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
