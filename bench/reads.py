#!/usr/bin/env python3
"""What the reads at the return cost per call, against an older build, in one run.

    bench/reads.py BUILD --baseline OLD_BUILD [--reps N] [--calls N] [--out FILE]

As root. Each call kind in a tight loop (a compiled helper times its own loop),
with no tracer, the baseline build's mptrace and this build's, interleaved,
every call recorded (--fair-rate 0, JSON to a file):
  - move_pages(0, 1, ...) moving one page to the node it is on: pages[] and
    nodes[] copied at entry, read again and compared at the return;
  - the same with 64 pages;
  - migrate_pages(0, 65, {0}, {0}): its masks, since this build read again
    and compared at the return too.
The added cost per call is the traced time minus the untraced one; the ratio
of the two builds' added costs is what the new reads cost.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HELPER_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int c, char **v) {
	long calls = atol(v[2]), n = c > 3 ? atol(v[3]) : 1;
	char *m = mmap(0, n * 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p[64]; int nodes[64], st[64]; unsigned long mask = 1;
	for (long i = 0; i < n; i++) { m[i * 4096] = 1; p[i] = m + i * 4096; }
	/* where the pages are: the move asks for that node, so nothing migrates */
	syscall(SYS_move_pages, 0, n, p, NULL, st, 0);
	for (long i = 0; i < n; i++) nodes[i] = st[i] < 0 ? 0 : st[i];
	double t0 = now();
	for (long i = 0; i < calls; i++) {
		if (!strcmp(v[1], "mg"))
			syscall(SYS_migrate_pages, 0, 65, &mask, &mask);
		else
			syscall(SYS_move_pages, 0, n, p, nodes, st, 2);
	}
	printf("ns_per_call %.1f\n", (now() - t0) * 1e9 / calls);
	return 0;
}
"""

KINDS = [("move_pages, 1 page", ["mp", "1"]), ("move_pages, 64 pages", ["mp", "64"]),
         ("migrate_pages", ["mg"])]


def start(binary, comm, out):
    p = subprocess.Popen([binary, "--comm", comm, "--fair-rate", "0", "-f", "json", "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err, deadline = "", time.monotonic() + 60
    while "mptrace: tracing" not in err:
        line = p.stderr.readline()
        if not line or time.monotonic() > deadline:
            sys.exit("mptrace did not start: " + err)
        err += line
    return p


def one(helper, binary, kind, calls, tmp):
    p = start(binary, os.path.basename(helper), os.path.join(tmp, "r.json")) if binary else None
    args = [helper, kind[0], str(calls)] + kind[1:]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    if p:
        p.send_signal(2)
        p.communicate(timeout=60)
    return float(re.search(r"ns_per_call ([\d.]+)", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results-reads.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptrace-reads-")
    helper = os.path.join(tmp, "mpt_reads")
    subprocess.run(["cc", "-O2", "-x", "c", "-", "-o", helper], input=HELPER_C, text=True,
                   check=True)
    configs = [("no tracer", None), ("baseline", os.path.join(a.baseline, "mptrace")),
               ("this build", os.path.join(a.build, "mptrace"))]
    runs = {(k[0], c[0]): [] for k in KINDS for c in configs}
    for r in range(a.reps):
        for name, binary in configs[r % 3:] + configs[:r % 3]:
            for kind in KINDS:
                runs[(kind[0], name)].append(one(helper, binary, kind[1], a.calls, tmp))
    lines = ["# What the reads at the return cost (bench/reads.py)", "",
             "Run %s on this VM (2 vCPUs), %d interleaved repetitions of %d calls each, "
             "ns per call (median, min); baseline `%s`." %
             (time.strftime("%Y-%m-%d"), a.reps, a.calls, a.baseline), "",
             "| call | no tracer | baseline | this build | added: baseline | added: this build |",
             "| --- | --- | --- | --- | --- | --- |"]
    for kind, _ in KINDS:
        med = {c: statistics.median(runs[(kind, c)]) for c, _ in configs}
        low = {c: min(runs[(kind, c)]) for c, _ in configs}
        lines.append("| %s | %.0f (%.0f) | %.0f (%.0f) | %.0f (%.0f) | %.0f | %.0f |" % (
            kind, med["no tracer"], low["no tracer"], med["baseline"], low["baseline"],
            med["this build"], low["this build"], med["baseline"] - med["no tracer"],
            med["this build"] - med["no tracer"]))
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
