#!/usr/bin/env python3
"""The fleet's benchmark: how fast `mptrace ship` fills a JetStream stream.

    fleet.py --build BUILD [--events N] [--out FILE]

A capture of N real calls (traced here, like the tests) is shipped to a local
one-node R1 stream and to a three-node R3 cluster on loopback: events per
second, from start to the last acknowledgment. Then the lag under load: the
tracer and `ship --follow` run together while a load makes calls at a fixed
rate; the lag is how long after the tracer stops the last record is
acknowledged (the state file says so). Goal: at least 100k events/s to R3.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from harness import Env  # noqa: E402
from natscluster import Cluster  # noqa: E402


def trace(env, cap, calls, rate=None, follow_ship=None):
    t = env.start(["--capture", cap, "--capture-size", "64", "-o", "/dev/null"])
    ship = follow_ship() if follow_ship else None
    args = [env.worker, "mp", "1", str(calls)] + ([str(rate)] if rate else [])
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.3)
    t.send_signal(signal.SIGINT)
    t.communicate(timeout=60)
    return time.monotonic(), ship


def cpu_s(pid):
    """User + system CPU seconds of a running process and its children (timeout's server)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = [int(k) for k in f.read().split()]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + \
        sum(cpu_s(k) for k in kids)


def throughput(mptrace, d, cluster, files, replicas, events):
    """Events/s, seconds, and the CPU seconds the servers and the shipper spent."""
    state = os.path.join(d, "st%d.json" % replicas)
    servers = [p.pid for p in cluster.procs if p]
    before = sum(cpu_s(pid) for pid in servers)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run([mptrace, "ship", "--nats", cluster.urls(), "--stream",
                        "BENCH%d" % replicas, "--replicas", str(replicas), "--state", state] +
                       files, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    if r.returncode:
        sys.exit("ship failed: " + r.stderr)
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ship_cpu = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    return events / took, took, sum(cpu_s(pid) for pid in servers) - before, ship_cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--out")
    a = ap.parse_args()
    env = Env(a.build, "mptrace-bench-fleet-")
    mptrace, d = env.mptrace, env.dir
    lines = []
    try:
        cap = os.path.join(d, "b.mpcap")
        trace(env, cap, a.events)
        files = env.files("b.mpcap")
        for replicas in (1, 3):
            c = Cluster(d, n=replicas)
            c.start_all()
            try:
                eps, took, srv, shp = throughput(mptrace, d, c, files, replicas, a.events)
                lines.append("| ship to a local R%d stream | %d events in %.2f s; CPU: servers "
                             "%.1f s, shipper %.1f s (of %.1f s on 2 CPUs) | %.0f events/s |"
                             % (replicas, a.events, took, srv, shp, 2 * took, eps))
            finally:
                c.stop_all()
                for i in range(3):
                    shutil.rmtree(os.path.join(d, "js%d" % i), ignore_errors=True)
        # lag: tracing and shipping at once, R3
        c = Cluster(d, n=3)
        c.start_all()
        try:
            cap = os.path.join(d, "l.mpcap")
            state = os.path.join(d, "lag.json")
            calls = a.rate * 5

            def start_ship():
                time.sleep(1)
                return subprocess.Popen([mptrace, "ship", "--follow", "--nats", c.urls(),
                                         "--stream", "LAG", "--replicas", "3", "--state", state,
                                         cap + ".0"], stderr=subprocess.DEVNULL)
            stopped, ship = trace(env, cap, calls, rate=a.rate, follow_ship=start_ship)
            last = len(env.files("l.mpcap"))
            lag = None
            while time.monotonic() - stopped < 60:
                try:
                    if json.load(open(state))["fileSeq"] >= last:
                        lag = time.monotonic() - stopped
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            ship.send_signal(signal.SIGTERM)
            ship.wait(timeout=30)
            lines.append("| lag at %d calls/s (R3, ship --follow beside the tracer) | "
                         "last record acknowledged %s after the tracer stopped | |"
                         % (a.rate, "%.2f s" % lag if lag is not None else "not within 60 s"))
        finally:
            c.stop_all()
    finally:
        env.cleanup()
    report = "| measure | result | rate |\n| --- | --- | --- |\n" + "\n".join(lines) + "\n"
    print(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
