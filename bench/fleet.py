#!/usr/bin/env python3
"""The fleet's benchmark: how fast `mptrace ship` fills a JetStream stream.

    fleet.py --build BUILD [--events N] [--batch N] [--out FILE]

A capture of N real calls (traced here, like the tests) is shipped to a local
one-node R1 stream and to a three-node R3 cluster on loopback, one record a
message and in compressed batches (--batch): events per second, from start
to the last acknowledgment. The batches ship stored in the R3 stream are then
read back and sent again by a minimal libnats publisher (bench/nats_pub.c) to
a stream of their own: the ceiling of this machine for those messages, which
ship is measured against. Both are timed the same way, from their start to
their exit, into a stream made beforehand. Then the lag under load: the tracer and `ship
--follow` run together while a load makes calls at a fixed rate; the lag is
how long after the tracer stops the last record is acknowledged (the state
file says so). Goals: 100k events/s to R3, 0.8x the minimal publisher.
"""
import argparse
import base64
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from harness import Env  # noqa: E402
from natscluster import Cluster, js_request, js_stream_create  # noqa: E402


def trace(env, cap, calls, rate=None, follow_ship=None):
    """Every call recorded (--fair-rate 0: a fair share would sum most of them)."""
    t = env.start(["--fair-rate", "0", "--ringbuf-mb", "64", "--capture", cap,
                   "--capture-size", "64", "-o", "/dev/null"])
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


def make_stream(cluster, name, subject):
    """A stream made before the clock starts, as the publisher's is: a cluster's first
    stream waits for its leader to be elected, which is not shipping."""
    r = js_stream_create(cluster.port(0), {"name": name, "subjects": [subject],
                                           "num_replicas": cluster.n, "storage": "file",
                                           "duplicate_window": 3600 * 10**9})
    if "error" in r:
        sys.exit("creating stream %s: %r" % (name, r))


def throughput(mptrace, d, cluster, files, replicas, events, stream, extra):
    """Events/s, seconds, and the CPU seconds the servers and the shipper spent."""
    state = os.path.join(d, "st%s.json" % stream)
    servers = [p.pid for p in cluster.procs if p]
    make_stream(cluster, stream, stream.lower() + ".x")
    before = sum(cpu_s(pid) for pid in servers)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run([mptrace, "ship", "--nats", cluster.urls(), "--stream", stream,
                        "--subject", stream.lower() + ".x", "--replicas", str(replicas),
                        "--state", state] + extra + files,
                       capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    if r.returncode:
        sys.exit("ship failed: " + r.stderr)
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ship_cpu = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    return events / took, took, sum(cpu_s(pid) for pid in servers) - before, ship_cpu


def dump_stream(port, stream, path):
    """Every message of @stream, headers and body, as bench/nats_pub.c reads them."""
    last = js_request(port, "$JS.API.STREAM.INFO." + stream, b"")["state"]["last_seq"]
    with open(path, "wb") as f:
        for seq in range(1, last + 1):
            m = js_request(port, "$JS.API.STREAM.MSG.GET." + stream,
                           json.dumps({"seq": seq}).encode())["message"]
            hdrs = base64.b64decode(m.get("hdrs", ""))
            data = base64.b64decode(m.get("data", ""))
            f.write(len(hdrs).to_bytes(4, "little") + hdrs + len(data).to_bytes(4, "little") +
                    data)
    return last


def minimal_publisher(build, d, cluster, stream, events):
    """The same messages from bench/nats_pub.c to a stream of their own: events/s."""
    pub = os.path.join(d, "nats_pub")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nats_pub.c")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libnats"], capture_output=True,
                           text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", pub, src] + flags, check=True)
    msgs = os.path.join(d, "msgs.bin")
    n = dump_stream(cluster.port(0), stream, msgs)
    make_stream(cluster, "PUB", "pub.>")
    t0 = time.monotonic()
    out = subprocess.run([pub, cluster.urls().split(",")[0], "pub.x", msgs], capture_output=True,
                         text=True, timeout=600)
    took = time.monotonic() - t0
    if out.returncode:
        sys.exit("nats_pub: " + out.stderr)
    inner = float(out.stdout.split(" in ")[1].split()[0])
    return events / took, took, n, inner, os.path.getsize(msgs)


def verify_cost(mptrace, files, reps=3):
    """Median wall and CPU seconds of `mptrace verify` alone: reading and checking the
    capture, which every record ship sends costs first."""
    runs = []
    for _ in range(reps):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([mptrace, "verify"] + files, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append((time.monotonic() - t0,
                     ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime))
    runs.sort()
    return runs[reps // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out")
    a = ap.parse_args()
    env = Env(a.build, "mptrace-bench-fleet-")
    mptrace, d = env.mptrace, env.dir
    lines = []
    try:
        cap = os.path.join(d, "b.mpcap")
        trace(env, cap, a.events)
        files = env.files("b.mpcap")
        info = subprocess.run([mptrace, "capture-info"] + files, capture_output=True,
                              text=True).stdout
        events = sum(int(x) for x in re.findall(r"^events\s+(\d+)", info, re.M))
        for replicas in (1, 3):
            c = Cluster(d, n=replicas)
            c.start_all()
            try:
                for name, extra in (("one record a message", []),
                                    ("--batch %d" % a.batch, ["--batch", str(a.batch)])):
                    stream = "B%d%s" % (replicas, "B" if extra else "E")
                    eps, took, srv, shp = throughput(mptrace, d, c, files, replicas, events,
                                                     stream, extra)
                    lines.append("| ship to a local R%d stream, %s | %d events in %.2f s; CPU: "
                                 "servers %.3f s, shipper %.3f s (of %.3f s on 2 CPUs) | %.0f "
                                 "events/s |" % (replicas, name, events, took, srv, shp,
                                                 2 * took, eps))
                if replicas == 3:
                    peps, ptook, n, inner, size = minimal_publisher(a.build, d, c, stream,
                                                                    events)
                    lines.append("| the same %d messages (%d bytes with headers) from a minimal "
                                 "publisher, R3 | %.3f s, %.3f s of it publishing; ship reached "
                                 "%.2fx its rate (%.2fx its publishing alone) | %.0f events/s |"
                                 % (n, size, ptook, inner, eps / peps, eps * inner / events,
                                    peps))
                    # the servers' CPU and the checking share 2 CPUs: no shipper that checks
                    # what it sends ends sooner than this
                    vwall, vcpu = verify_cost(mptrace, files)
                    floor = max(vwall, (vcpu + srv) / 2)
                    lines.append("| `mptrace verify` of the same capture alone | %.3f s, %.3f "
                                 "CPU s; with the servers' %.3f CPU s on 2 CPUs a shipper that "
                                 "checks what it sends takes at least %.3f s | at most %.2fx the "
                                 "publisher |" % (vwall, vcpu, srv, floor, ptook / floor))
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
                                         "--batch", str(a.batch), cap + ".0"],
                                        stderr=subprocess.DEVNULL)
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
            lines.append("| lag at %d calls/s (R3, ship --follow --batch beside the tracer) | "
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
