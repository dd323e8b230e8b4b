#!/usr/bin/env bash
# deploy/kubernetes as far as this machine can check it without a cluster: yamllint (strict)
# on every manifest, then check_kubernetes.py on the fields that matter (Guaranteed QoS with
# whole cores, probe and scrape ports matching the config, Service target, grace period).
#
#   kubernetes_test.sh DEPLOY_DIR
# yamllint and python3-yaml come from deploy/bootstrap.sh; without them the test fails.
set -euo pipefail

command -v yamllint >/dev/null || {
  echo "FAIL: yamllint is not installed (Debian package: yamllint; deploy/bootstrap.sh installs it)" >&2
  exit 1
}
deploy="$1"
yamllint --strict -c "$deploy/.yamllint" "$deploy/kubernetes" "$deploy/prometheus"
python3 "$(dirname "$0")/check_kubernetes.py" "$deploy/kubernetes"
