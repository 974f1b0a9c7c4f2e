#!/usr/bin/env python3
"""What fair shares cost and what they buy, in one interleaved run.

    bench/fair.py BUILD [--baseline OLD_BUILD] [--reps N] [--out FILE] [--smoke]

As root. Per traced call (move_pages(0, 1, ...) in a tight loop, the tracer
writing JSON to a file), interleaved repetitions of:
  - OLD_BUILD's mptrace (before fair shares), when given;
  - this build with --fair-rate 0 (no check at all);
  - this build with a share no process reaches (--fair-rate 1000000000): the
    check runs on every call and always admits;
  - this build at its defaults, where the loop is over its share: most calls
    are summed in the kernel, not recorded.
Then the flood at which a quiet caller (200 calls, 10 ms apart) first loses a
call: 1, 2, 4, ... flooding processes (two threads each, a tight loop) at the
defaults, and the same floods with --fair-rate 0.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def start(binary, args, out):
    p = subprocess.Popen([binary, "-f", "json", "-o", out] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = ""
    deadline = time.monotonic() + 60
    while "mptrace: tracing" not in err:
        line = p.stderr.readline()
        if not line or time.monotonic() > deadline:
            sys.exit("mptrace did not start: " + err)
        err += line
    return p


def stop(p):
    p.send_signal(2)
    _, err = p.communicate(timeout=60)
    return err


def per_call(bench, binary, args, calls, tmp):
    p = start(binary, ["--comm", "mp_bench"] + args, os.path.join(tmp, "pc.json"))
    out = subprocess.run([bench, "mp", "1", str(calls)], capture_output=True, text=True).stdout
    stop(p)
    return float(re.search(r"ns_per_call ([\d.]+)", out).group(1))


FLOOD_C = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double secs;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *flood(void *a) {
	char *m = mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); void *p[1] = {m}; int st[1];
	double end = now() + secs; m[0] = 1; (void)a;
	while (now() < end) for (int i = 0; i < 100; i++) syscall(SYS_move_pages, 0, 1, p, NULL, st, 0);
	return NULL;
}
int main(int c, char **v) {
	if (c == 3 && !strcmp(v[1], "flood")) {
		pthread_t t[2]; secs = atof(v[2]);
		for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, flood, 0);
		for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
		return 0;
	}
	char *m = mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); void *p[1] = {m}; int st[1];
	m[0] = 1;
	for (int i = 0; i < 200; i++) { syscall(SYS_move_pages, 0, 1, p, NULL, st, 0); usleep(10000); }
	return 0;
}
"""


def flood_round(binary, args, procs, secs, tmp, flood_bin):
    out = os.path.join(tmp, "flood.json")
    p = start(binary, ["--comm", "mpt_flood"] + args, out)
    floods = [subprocess.Popen([flood_bin, "flood", str(secs)]) for _ in range(procs)]
    time.sleep(0.2)
    quiet = subprocess.Popen([flood_bin, "quiet"])
    quiet.wait()
    for f in floods:
        f.wait()
    err = stop(p)
    seen = 0
    with open(out) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("eventName") == "move_pages" and ev.get("hostProcessId") == quiet.pid:
                seen += 1
    summary = re.search(r"mptrace: .*", err).group(0)
    return seen, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--baseline")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.reps, a.calls = 1, 2000
    mptrace = os.path.join(a.build, "mptrace")
    bench = os.path.join(a.build, "bench", "mp_bench")
    tmp = tempfile.mkdtemp(prefix="mptrace-fair-")
    flood_bin = os.path.join(tmp, "mpt_flood")
    subprocess.run(["cc", "-O2", "-pthread", "-x", "c", "-", "-o", flood_bin], input=FLOOD_C,
                   text=True, check=True)
    configs = [("no check (--fair-rate 0)", mptrace, ["--fair-rate", "0"]),
               ("check, always admits", mptrace, ["--fair-rate", "1000000000"]),
               ("defaults: over its share, summed", mptrace, [])]
    if a.baseline:
        configs.insert(0, ("baseline build", os.path.join(a.baseline, "mptrace"), []))
    runs = {c[0]: [] for c in configs}
    for r in range(a.reps):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for name, binary, args in order:
            runs[name].append(per_call(bench, binary, args, a.calls, tmp))
    lines = ["# Fair shares", "",
             "Per traced call, `move_pages(0, 1, ...)` in a tight loop, JSON to a file, "
             "median of %d interleaved runs of %d calls:" % (a.reps, a.calls), "",
             "| configuration | ns/call (median) | min |", "| --- | --- | --- |"]
    for name, _, _ in configs:
        lines.append("| %s | %.1f | %.1f |" % (name, statistics.median(runs[name]),
                                              min(runs[name])))
    lines += ["", "A quiet process (200 calls, 10 ms apart) beside N flooding processes "
              "(two threads each, a tight loop, 3 s):", "",
              "| flooders | fair shares (defaults) | --fair-rate 0 |", "| --- | --- | --- |"]
    for procs in ([1] if a.smoke else [1, 2, 4, 8, 16]):
        cells = []
        for args in ([], ["--fair-rate", "0"]):
            seen, summary = flood_round(mptrace, args, procs, 0.5 if a.smoke else 3, tmp,
                                        flood_bin)
            cells.append("%d of 200 (%s)" % (seen, summary.split(" ringbuf")[0]))
        lines.append("| %d | %s | %s |" % (procs, cells[0], cells[1]))
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
