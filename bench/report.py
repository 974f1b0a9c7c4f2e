#!/usr/bin/env python3
"""What the forensic report costs on a large capture.

    bench/report.py BUILD [--calls N] [--out FILE]

As root. Traces N move_pages calls (default 1,000,000: mp_bench, two threads at
300k calls/s, --fair-rate 0 and a 256 MB ring so that every call is recorded)
into a capture, then times
`mptrace report` on it, HTML and JSON, three times each, and records the page's
size and the report's peak RSS. Goals (issue 28): a 1 M-event capture becomes a
page of at most 5 MB in at most 10 s.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def trace(build, calls, cap):
    bench = os.path.join(build, "bench", "mp_bench")
    p = subprocess.Popen([os.path.join(build, "mptrace"), "--comm", "mp_bench", "--fair-rate",
                          "0", "--ringbuf-mb", "256", "--capture", cap, "-o", "/dev/null"],
                         stderr=subprocess.PIPE, text=True)
    err = ""
    while "mptrace: tracing" not in err:
        line = p.stderr.readline()
        if not line:
            sys.exit("mptrace did not start: " + err)
        err += line
    # one page a call, two threads, at a rate the reader keeps up with on a busy day
    subprocess.run([bench, "mp", "1", str(calls), "300000", "2"], check=True,
                   capture_output=True)
    # until the reader has written what the ring holds: the capture stops growing
    size = -1
    while os.path.getsize(cap) != size:
        size = os.path.getsize(cap)
        time.sleep(2)
    p.send_signal(2)
    _, rest = p.communicate(timeout=300)
    return re.search(r"mptrace: \d+ events, \d+ dropped.*", rest).group(0)


def timed(cmd):
    """Seconds, peak RSS (KiB) of the report alone (GNU time), and what it said."""
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss %M"] + cmd, capture_output=True,
                       text=True)
    secs = time.monotonic() - t
    if r.returncode:
        sys.exit("%s: exit %d\n%s" % (cmd, r.returncode, r.stderr))
    rss = int(re.search(r"maxrss (\d+)", r.stderr).group(1))
    said = r.stderr.replace(re.search(r"maxrss \d+\n?", r.stderr).group(0), "")
    return secs, rss, said.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--calls", type=int, default=1000000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                  "results-report.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptrace-bench-report-")
    try:
        cap = os.path.join(tmp, "b.mpcap")
        traced = trace(a.build, a.calls, cap)
        mptrace = os.path.join(a.build, "mptrace")
        rows = []
        for fmt, ext in (("html", "html"), ("json", "json")):
            out = os.path.join(tmp, "r." + ext)
            runs = [timed([mptrace, "report", "-f", fmt, "-o", out, cap]) for _ in range(3)]
            rows.append((fmt, min(r[0] for r in runs), max(r[0] for r in runs),
                         os.path.getsize(out), runs[-1][1], runs[-1][2]))
        lines = ["# The forensic report on a large capture (bench/report.py)", "",
                 "Run %s on this VM (2 vCPUs); %d calls traced: `%s`; capture %.1f MB." %
                 (time.strftime("%Y-%m-%d"), a.calls, traced, os.path.getsize(cap) / 1e6), "",
                 "| output | best of 3 | worst | size | peak RSS | said |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for fmt, best, worst, size, rss, said in rows:
            lines.append("| %s | %.2f s | %.2f s | %.2f MB | %d MB | %s |" %
                         (fmt, best, worst, size / 1e6, rss // 1024, said))
        lines += ["", "Goals: at most 10 s and a page of at most 5 MB for 1 M events. The page's "
                  "size does not grow with the events: 256 bins a lane, 24 lanes, tables of "
                  "processes, targets and detections."]
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
