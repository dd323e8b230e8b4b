#!/usr/bin/env bash
# The systemd unit as shipped: `systemd-analyze verify` finds nothing to say about it (with the
# installed binary path replaced by the built one, since verify checks that it can be run), its
# ExecStartPre line really validates a config, the settings that make `systemctl stop`
# drain and the sandbox are there, and `systemctl reload` sends SIGHUP (which reloads).
#
#   systemd_unit_test.sh UNIT_FILE PINWHEEL_BINARY CONFIG
# Exits 77 (skipped) when systemd-analyze is not installed.
set -euo pipefail

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze is not installed (Debian package: systemd)"
  exit 77
fi

unit="$1"
binary="$(realpath "$2")"
config="$(realpath "$3")"
installed_binary=/opt/pinwheel/bin/pinwheel
installed_config=/etc/pinwheel/pinwheel.toml

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

grep -q "^ExecStart=$installed_binary " "$unit" || fail "ExecStart does not run $installed_binary"
for setting in Type=notify KillMode=mixed User=pinwheel NoNewPrivileges=yes ProtectSystem=strict \
  "AmbientCapabilities=CAP_NET_BIND_SERVICE" Restart=on-failure ProtectHome=yes PrivateTmp=yes \
  LimitNOFILE=65536 LogsDirectory=pinwheel 'ExecReload=/bin/kill -HUP $MAINPID' \
  RuntimeDirectory=pinwheel; do
  grep -qx "$setting" "$unit" || fail "$unit lacks $setting"
done


dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
sed "s#$installed_binary#$binary#g" "$unit" >"$dir/pinwheel.service"

# Any word from verify about this unit is a failure; lines about the host's own units (loaded
# as dependencies, e.g. network-online.target) are not this unit's business and only shown.
status=0
output="$(cd "$dir" && systemd-analyze verify --recursive-errors=no ./pinwheel.service 2>&1)" || status=$?
ours="$(printf '%s\n' "$output" | grep -Ev '^/(etc|run|usr/lib|lib)/systemd/' | grep -v '^$' || true)"
theirs="$(printf '%s\n' "$output" | grep -E '^/(etc|run|usr/lib|lib)/systemd/' || true)"
[ -n "$theirs" ] && printf 'note: about the host'"'"'s units, not ours:\n%s\n' "$theirs"
if [ -n "$ours" ] || [ "$status" -ne 0 ]; then
  fail "systemd-analyze verify (exit $status):
$ours"
fi

# ExecStartPre, as written, validates a config and exits 0.
pre="$(sed -n 's/^ExecStartPre=//p' "$unit")"
[ -n "$pre" ] || fail "no ExecStartPre line"
pre="${pre//$installed_binary/$binary}"
pre="${pre//$installed_config/$config}"
read -r -a pre_argv <<<"$pre"
printf '%s\n' "${pre_argv[@]}" | grep -qx -- --check || fail "ExecStartPre does not pass --check"
# The shipped config's fixed ports may be held right now (another test's balancer, a running
# Pinwheel): free ones, so this checks the config and not who listens where.
pre_argv+=(--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0)
"${pre_argv[@]}" >"$dir/check.out" 2>&1 || fail "ExecStartPre failed: $pre
$(cat "$dir/check.out")"

echo "ok: $unit verifies cleanly and ExecStartPre validates $config"
