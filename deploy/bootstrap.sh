#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running balancer or a green test suite.
#
#   deploy/bootstrap.sh run [pinwheel args...]   install what is missing, build Release, run
#                                                 with conf/pinwheel.toml (Ctrl-C stops it)
#   deploy/bootstrap.sh test                      install what is missing, check the C++
#                                                 formatting, build, and run the whole suite:
#                                                 plain, ASan+UBSan, and TSan
#
# Installing is idempotent: only packages that are missing are installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build_packages="cmake ninja-build g++ pkg-config libasio-dev libtomlplusplus-dev libcli11-dev libhttp-parser-dev prometheus-cpp-dev"
# systemd: systemd-analyze checks the unit in deploy/systemd/. prometheus: promtool checks
# deploy/prometheus/ and the dashboard's queries, and a real Prometheus scrapes Pinwheel.
# chromium renders the status page. yamllint, python3-yaml: deploy/kubernetes/.
# nodejs: the edge tests put a Node.js app that reads PROXY headers behind Pinwheel, and
# bench/compare runs the Node.js clustering articles' app (test compare_smoke) (nginx,
# HAProxy, curl and iproute2's ss come with the benchmark's list or just above).
test_packages="libgtest-dev curl systemd prometheus chromium yamllint python3-yaml nodejs redis-server python3 $(sed -n 's/^BENCH_PACKAGES="\(.*\)"$/\1/p' bench/run.sh)"
# The formatter is pinned: another clang-format version formats some lines differently.
clang_format=clang-format-14
format_packages="$clang_format git"

install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Packages such as nginx and haproxy start a system service on install; the benchmark
  # runs its own instances, so keep the system's from starting (policy-rc.d exit 101).
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ -n "$created_policy" ] && $sudo rm -f "$policy"
  return 0
}

# Fails, naming the files to fix, unless every tracked C++ file is formatted as .clang-format says.
check_format() {
  local listing files=() output unformatted=()
  if ! listing="$(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' 2>&1)" || [ -z "$listing" ]; then
    echo "bootstrap: cannot list the tracked C++ files to check their format: ${listing:-none found}" >&2
    exit 1
  fi
  mapfile -t files <<<"$listing"
  if output="$("$clang_format" --dry-run --Werror "${files[@]}" 2>&1)"; then
    echo "bootstrap: ${#files[@]} C++ files formatted ($("$clang_format" --version | grep -o 'version [0-9.]*'))"
    return 0
  fi
  mapfile -t unformatted < <(printf '%s\n' "$output" |
    sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
  if [ ${#unformatted[@]} -eq 0 ]; then
    echo "bootstrap: $clang_format failed:" >&2
    printf '%s\n' "$output" >&2
    exit 1
  fi
  echo "bootstrap: ${#unformatted[@]} file(s) not formatted as .clang-format says:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "fix them with: $clang_format -i ${unformatted[*]}" >&2
  exit 1
}

# configure_and_build DIR [cmake args...]
configure_and_build() {
  local dir="$1"
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" --parallel "$(nproc)"
}

run_suite() {
  local dir="$1"
  shift
  echo "bootstrap: testing $dir"
  ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" "$@"
}

case "${1:-}" in
  run)
    shift
    install_missing $build_packages curl
    configure_and_build build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
    exec build/balancer/pinwheel --config conf/pinwheel.toml "$@"
    ;;
  test)
    install_missing $format_packages
    check_format
    install_missing $build_packages $test_packages
    configure_and_build build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON
    run_suite build
    # The sanitizer builds check memory and undefined behaviour (ASan+UBSan) and data races
    # (TSan); the benchmarks' smoke tests (label "bench") measure speed, which they distort, so
    # those run above only.
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPINWHEEL_SANITIZE=address
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_suite build-asan -LE bench
    configure_and_build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPINWHEEL_SANITIZE=thread
    TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan -LE bench
    ;;
  *)
    echo "usage: deploy/bootstrap.sh run [pinwheel args...] | test" >&2
    exit 2
    ;;
esac
