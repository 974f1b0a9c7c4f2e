#!/bin/bash
# What a tight loop of one-page move_pages calls loses, against an older build, in one run.
#
#     bench/lossless.sh BUILD OLD_BUILD [CALLS [REPS [json|capture]]]
#
# As root. Each build's tracer, started at its defaults (every call recorded:
# --fair-rate 0), in turn (A B, A B, ...): CALLS (1,000,000) calls in a tight
# loop, then the events kept and dropped, the calls per second, and the
# tracer's peak RSS (VmHWM, KiB). json: JSON lines to a file in /dev/shm.
# capture: a capture in /dev/shm and no line (-f none; a build without it
# formats table lines to /dev/null).
set -eu
build=$1 old=$2 calls=${3:-1000000} reps=${4:-3} mode=${5:-json}
tmp=$(mktemp -d)
out=/dev/shm/mptrace-lossless
trap 'rm -rf "$tmp" "$out".*' EXIT
cp "$build/bench/mp_bench" "$tmp/mplossless"
run=0

# The tracer's output options for @1 (a build) in this mode.
outputs() {
	case $mode in
	json) echo "-f json -o $out.json" ;;
	capture)
		if "$1/mptrace" -f none --capture "$out.probe" --help >/dev/null 2>&1; then
			echo "-f none --capture $out.mpcap"
		else
			echo "--capture $out.mpcap -o /dev/null"
		fi
		;;
	*) echo "mode json or capture, not $mode" >&2; exit 2 ;;
	esac
}

for rep in $(seq "$reps"); do
	for b in "$build" "$old"; do
		rm -f "$out".*
		# each run's own file: the last run's ready line must not start this one's calls
		err=$tmp/err.$rep.$((++run))
		# shellcheck disable=SC2046 # the options are words
		"$b/mptrace" --comm mplossless --event move_pages --fair-rate 0 $(outputs "$b") \
			2>"$err" &
		pid=$!
		for _ in $(seq 600); do
			grep -q "^mptrace: tracing" "$err" 2>/dev/null && break
			sleep 0.1
		done
		start=$(date +%s%N)
		"$tmp/mplossless" mp 1 "$calls" >/dev/null
		end=$(date +%s%N)
		hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
		sleep 1
		kill -INT "$pid"
		wait "$pid" || true
		kept=$(grep -o '[0-9]* events, [0-9]* dropped' "$err")
		if [ "$mode" = capture ]; then
			kept="$kept (the capture holds $("$b/mptrace" capture-info "$out.mpcap" |
				awk '/^events/ {print $2}'))"
		fi
		echo "$b rep $rep ($mode): $kept," \
			"$((calls * 1000000000 / (end - start))) calls/s, peak RSS ${hwm} KiB"
	done
done
