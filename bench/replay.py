#!/usr/bin/env python3
"""How fast the reader formats, and how much memory a tracer holds, against an older build.

    bench/replay.py BUILD --baseline OLD_BUILD [--events N] [--reps N] [--out FILE]

As root. The baseline's tracer records N one-page move_pages calls into a
capture (every call: --fair-rate 0): a reader reads older captures, not
always newer ones. Both builds then replay it, interleaved
(A B, B A, ...), as JSON with the default chain and with --ancestors 0, to
/dev/null and to a file in /dev/shm, and verify it (reading and checking
alone): events per second of wall time and the
CPU per event, medians. Replay runs the pipeline live tracing runs, without
the ring: it is the reader's formatting ceiling. Last, each build's tracer is
started idle at its defaults and its peak RSS read from /proc (VmHWM) after a
few seconds (a build before 2026-12-04 maps its ring buffer twice: 2 x --ringbuf-mb).
"""
import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from harness import stop, wait_ready  # noqa: E402


def make_capture(tracer_build, build, tmp, events):
    worker = os.path.join(tmp, "mpreplay")
    shutil.copy(os.path.join(build, "bench", "mp_bench"), worker)
    cap = os.path.join(tmp, "r.mpcap")
    t = subprocess.Popen([os.path.join(tracer_build, "mptrace"), "--comm", "mpreplay", "--event",
                          "move_pages", "--fair-rate", "0", "--capture", cap, "-o", "/dev/null"],
                         stderr=subprocess.PIPE)
    try:
        wait_ready(t)
        subprocess.run([worker, "mp", "1", str(events)], stdout=subprocess.DEVNULL, check=True)
        time.sleep(1)
    finally:
        stop(t)
    return cap


def replay_once(build, cap, extra, out):
    """Wall seconds and CPU seconds of one replay (@extra None: of `mptrace verify`)."""
    cmd = ["verify"] if extra is None else ["replay", "-f", "json"] + extra
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(out, "wb") as f:
        subprocess.run([os.path.join(build, "mptrace")] + cmd + [cap],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peak_rss_mb(build):
    t = subprocess.Popen([os.path.join(build, "mptrace"), "-o", "/dev/null"],
                         stderr=subprocess.PIPE)
    try:
        wait_ready(t)
        time.sleep(3)
        with open("/proc/%d/status" % t.pid) as f:
            hwm = [ln for ln in f if ln.startswith("VmHWM:")][0]
    finally:
        stop(t)
    return int(hwm.split()[1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--events", type=int, default=300000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                  "results-replay.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptrace-replay-")
    shm = tempfile.mkdtemp(prefix="mptrace-replay-", dir="/dev/shm")
    try:
        cap = make_capture(a.baseline, a.build, tmp, a.events)
        builds = [("this build", a.build), ("baseline", a.baseline)]
        cases = [("JSON, default", []), ("JSON, --ancestors 0", ["--ancestors", "0"]),
                 ("verify: read and check only", None)]
        sinks = [("/dev/null", "/dev/null"), ("a file", os.path.join(shm, "out.json"))]
        res = {}
        for rep in range(a.reps):
            order = builds if rep % 2 == 0 else builds[::-1]
            for cname, extra in cases:
                for sname, out in sinks[:1] if extra is None else sinks:
                    for bname, build in order:
                        r = replay_once(build, cap, extra, out)
                        res.setdefault((cname, sname, bname), []).append(r)
        rss = {bname: peak_rss_mb(build) for bname, build in builds}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    lines = ["# Replay speed and tracer memory (bench/replay.py)", "",
             "Run %s: %d events replayed, %d interleaved repetitions, medians; baseline `%s`."
             % (time.strftime("%Y-%m-%d"), a.events, a.reps, a.baseline), "",
             "| case | output | build | events/s | CPU ns per event | ratio to baseline |",
             "| --- | --- | --- | ---: | ---: | ---: |"]
    for cname, extra in cases:
        for sname, _ in sinks[:1] if extra is None else sinks:
            base = statistics.median(w for w, _ in res[(cname, sname, "baseline")])
            for bname, _ in builds:
                walls = [w for w, _ in res[(cname, sname, bname)]]
                cpus = [c for _, c in res[(cname, sname, bname)]]
                wall = statistics.median(walls)
                lines.append("| %s | %s | %s | %.0f | %.0f | %.2f |" % (
                    cname, sname, bname, a.events / wall,
                    statistics.median(cpus) / a.events * 1e9, base / wall))
    lines += ["", "| build | peak RSS, idle at defaults (MB) |", "| --- | ---: |"]
    for bname, _ in builds:
        lines.append("| %s | %.1f |" % (bname, rss[bname]))
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("bench/replay.py: needs root (it traces to make its capture)")
        sys.exit(1)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
