#!/usr/bin/env bash
# deploy/prometheus as shipped: the scrape config and the alert rules pass promtool's checks,
# and the rules' own test file (series that make each alert fire, and some that must not)
# passes `promtool test rules`.
#
#   prometheus_rules_test.sh DEPLOY_PROMETHEUS_DIR
# promtool comes with Debian's `prometheus` package (deploy/bootstrap.sh installs it); without
# it the test fails rather than skips.
set -euo pipefail

command -v promtool >/dev/null || {
  echo "FAIL: promtool is not installed (Debian package: prometheus; deploy/bootstrap.sh installs it)" >&2
  exit 1
}
cd "$1"
promtool check config prometheus.yml
promtool check rules pinwheel.rules.yml
promtool test rules pinwheel.rules.test.yml
echo "ok: scrape config, rules and rule tests pass"
