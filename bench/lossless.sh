#!/bin/bash
# What a tight loop of one-page move_pages calls loses, against an older build, in one run.
#
#     bench/lossless.sh BUILD OLD_BUILD [CALLS [REPS]]
#
# As root. Each build's tracer, started at its defaults (JSON to a file in
# /dev/shm, every call recorded: --fair-rate 0), in turn (A B, A B, ...):
# CALLS (1,000,000) calls in a tight loop, then the events kept and dropped,
# the calls per second, and the tracer's peak RSS (VmHWM, KiB).
set -eu
build=$1 old=$2 calls=${3:-1000000} reps=${4:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /dev/shm/mptrace-lossless.json' EXIT
cp "$build/bench/mp_bench" "$tmp/mplossless"
for rep in $(seq "$reps"); do
	for b in "$build" "$old"; do
		out=/dev/shm/mptrace-lossless.json
		rm -f "$out"
		"$b/mptrace" --comm mplossless --event move_pages --fair-rate 0 -f json -o "$out" \
			2>"$tmp/err" &
		pid=$!
		for _ in $(seq 600); do
			grep -q "^mptrace: tracing" "$tmp/err" && break
			sleep 0.1
		done
		start=$(date +%s%N)
		"$tmp/mplossless" mp 1 "$calls" >/dev/null
		end=$(date +%s%N)
		hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
		sleep 1
		kill -INT "$pid"
		wait "$pid" || true
		echo "$b rep $rep: $(grep -o '[0-9]* events, [0-9]* dropped' "$tmp/err")," \
			"$((calls * 1000000000 / (end - start))) calls/s, peak RSS ${hwm} KiB"
	done
done
