#!/usr/bin/env bash
# The one command to trace: install what is missing, build, run mptrace with
# the arguments given (e.g. scripts/run.sh --format json). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
scripts/deps.sh build
scripts/build.sh >/dev/null
exec "${MPTRACE_BUILD_DIR:-build}/mptrace" "$@"
