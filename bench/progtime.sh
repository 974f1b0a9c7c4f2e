#!/usr/bin/env bash
# What each traced call costs inside the kernel's BPF programs, two builds in one run.
#   bench/progtime.sh BUILD BASELINE_BUILD [PAIRS [EVENT]]
# As root. With kernel.bpf_stats_enabled, the kernel times every run of every program
# (run_time_ns / run_cnt): the cost of the programs alone, without the syscall and the
# reader around them, so the spread between runs is far smaller than a timed loop's.
# Each pair traces 200,000 calls of EVENT (bench/mp_bench: move_pages of one page, the
# default, or migrate_pages of one-node masks) with the baseline's mptrace, then this
# build's, and prints the entry and exit programs' ns per run; the medians of both and of the pairs' ratios close the output.
set -euo pipefail
build=$(cd "${1:?usage: progtime.sh BUILD BASELINE_BUILD [PAIRS [EVENT]]}" && pwd)
base=$(cd "${2:?usage: progtime.sh BUILD BASELINE_BUILD [PAIRS [EVENT]]}" && pwd)
pairs=${3:-8}
event=${4:-move_pages}
case $event in
move_pages) load=(mp 1 200000) ;;
migrate_pages) load=(mg 200000) ;;
*)
	echo "progtime.sh: EVENT is move_pages or migrate_pages, not $event" >&2
	exit 2
	;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"; sysctl -q kernel.bpf_stats_enabled="$was"' EXIT
was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
cp "$build/bench/mp_bench" "$work/ptw"

one() { # MPTRACE LABEL
	# gone first: the last tracer's ready line must not start this one's calls
	rm -f "$work/err"
	"$1" --comm ptw --fair-rate 0 --event "$event" -o /dev/null 2>"$work/err" &
	local pid=$! i=0
	until grep -q "^mptrace: tracing" "$work/err" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] && kill -0 $pid 2>/dev/null || { cat "$work/err" >&2; exit 1; }
		sleep 0.1
	done
	"$work/ptw" "${load[@]}" >/dev/null
	bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    n = p.get("name", "")
    if p.get("run_cnt", 0) >= 200000 and n.endswith("_" + sys.argv[2]):
        print(sys.argv[1], n, round(p["run_time_ns"] / p["run_cnt"], 1))
' "$2" "$event"
	kill -INT $pid
	wait $pid
}

for _ in $(seq "$pairs"); do
	one "$base/mptrace" baseline
	one "$build/mptrace" this
done | tee "$work/runs"
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, prog, ns = line.split()
    runs.setdefault(prog, {}).setdefault(who, []).append(float(ns))
for prog, r in sorted(runs.items()):
    ratios = [t / b for t, b in zip(r["this"], r["baseline"])]
    print("%s: baseline %.0f ns, this build %.0f ns (medians of %d); pair ratio median %.2f"
          % (prog, statistics.median(r["baseline"]), statistics.median(r["this"]),
             len(ratios), statistics.median(ratios)))
PY
