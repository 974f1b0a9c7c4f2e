#!/usr/bin/env bash
# The one benchmark command: install what is missing (bpftrace too), build,
# and write bench/results.md. Any arguments go to bench/bench.py
# (--reps N, --calls N, --out FILE, --smoke). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
scripts/deps.sh bench
scripts/build.sh
exec /usr/bin/python3 bench/bench.py --build "${MPTRACE_BUILD_DIR:-build}" "$@"
