#!/usr/bin/env bash
# The one command to test: install what is missing, build, run every test.
# The BPF tests run for real: MPTRACE_REQUIRE_BPF turns a would-be SKIP into a
# failure, so a machine that cannot load BPF cannot pass quietly. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
scripts/deps.sh test
scripts/build.sh
cd "${MPTRACE_BUILD_DIR:-build}"
rm -f vm-work/*/summary.txt
rc=0
MPTRACE_REQUIRE_BPF=1 ctest --output-on-failure -j"$(nproc)" "$@" || rc=$?
# What each guest kernel ran, in which attach mode, with what result.
cat vm-work/*/summary.txt 2>/dev/null || true
exit $rc
