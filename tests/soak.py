#!/usr/bin/env python3
"""Soak test: the daemon's setup under a steady load, bounded to about a minute.

Several processes (two threads each) make move_pages calls while mptrace writes
a rotated JSON log and a rotated capture, gets SIGHUP and SIGUSR1, and runs its
detections. Then: every call is accounted for (written, or counted as lost with
a drop record), every kept file is whole (JSON lines parse; captures verify),
and mptrace's memory stayed flat.

    soak.py BUILD_DIR [SECONDS]
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import wait_ready


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    build = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40
    mptrace = os.path.join(build, "mptrace")
    bench = os.path.join(build, "bench", "mp_bench")
    d = tempfile.mkdtemp(prefix="mptrace-soak-")
    # a name of its own: the comm filter must not catch anyone else's mp_bench
    worker = os.path.join(d, "soak%d" % os.getpid())
    subprocess.run(["cp", bench, worker], check=True)
    comm = os.path.basename(worker)[:15]
    log, cap = os.path.join(d, "events.json"), os.path.join(d, "trace.mpcap")
    # 64 files of 96 MB: room for 1.2M events of up to 5 KB (one is ~2 KB, most of it the
    # ancestors, whose number is however deep the test runner's process tree is), so
    # rotation happens but never rotates a file away
    t = subprocess.Popen([mptrace, "-f", "json", "-o", log, "--log-size", "96", "--log-files",
                          "64", "--capture", cap, "--capture-size", "4", "--capture-files", "4",
                          "--stats-interval", "1", "--detect", "--comm", comm,
                          # every call recorded: the load is what the soak is about
                          "--fair-rate", "0"],
                         stderr=subprocess.PIPE)
    err = wait_ready(t, "soak: mptrace")
    procs, rate, nproc = [], 10000, 3
    calls_each = int(rate * seconds)
    for _ in range(nproc):
        procs.append(subprocess.Popen([worker, "mp", "1", str(calls_each), str(rate), "2"],
                                      stdout=subprocess.DEVNULL))
    samples, start = [], time.monotonic()
    while any(p.poll() is None for p in procs):
        time.sleep(1)
        samples.append(rss_kb(t.pid))
        t.send_signal(signal.SIGHUP if len(samples) % 2 else signal.SIGUSR1)
    made = sum(calls_each // 2 * 2 for _ in procs)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    _, rest = t.communicate(timeout=60)
    err += rest
    if t.returncode != 0:
        sys.exit("soak: mptrace exited %d: %s" % (t.returncode, err.decode()))

    # every call: written, or lost and counted (and marked by a drop record)
    final, drops = None, 0
    for path in sorted(glob.glob(log + "*")):
        with open(path, "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):
            sys.exit("soak: %s ends with a torn line" % path)
        for n, line in enumerate(data.splitlines()):
            ev = json.loads(line)  # raises on a corrupt line
            if ev.get("eventName") == "stats" and ev.get("final"):
                final = ev
            if ev.get("eventName") == "drop":
                drops += ev["count"]
    if not final:
        sys.exit("soak: no final stats record")
    # the capture's losses are events the log still has
    lost = sum(v for k, v in final["dropped"].items() if k != "capture")
    if final["eventsEmitted"] + lost != made:
        sys.exit("soak: %d calls made, %d written + %d lost" %
                 (made, final["eventsEmitted"], lost))
    # every loss has its drop record: no log file rotated away (64 kept), so both ways
    logs = glob.glob(log + "*")
    if len(logs) >= 64:
        sys.exit("soak: log files rotated away (%d bytes an event): drop records cannot be "
                 "counted" % (sum(os.path.getsize(p) for p in logs) // max(made, 1)))
    if drops != lost - final["dropped"]["output"]:
        sys.exit("soak: drop records say %d lost, the counters %d" % (drops, lost))

    # every capture file kept is intact
    caps = sorted(glob.glob(cap + ".*"))
    v = subprocess.run([mptrace, "verify"] + caps, capture_output=True, text=True)
    if v.returncode != 0:
        sys.exit("soak: captures not intact:\n" + v.stdout + v.stderr)

    # memory stays flat once warmed up
    warm = samples[len(samples) // 4:] or samples
    if max(warm) > min(warm) * 1.15 + 2048:
        sys.exit("soak: RSS grew: %s KB" % samples)
    print("soak: %d calls in %.0f s, %d written, %d lost (%s), %d log files, %d captures, "
          "RSS %d-%d KB" % (made, time.monotonic() - start, final["eventsEmitted"], lost,
                            ", ".join("%s=%d" % kv for kv in final["dropped"].items() if kv[1]),
                            len(glob.glob(log + "*")), len(caps), min(warm), max(warm)))
    subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
