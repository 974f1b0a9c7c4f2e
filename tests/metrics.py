#!/usr/bin/env python3
"""Prometheus metrics, scraped by a real Prometheus server (Debian's).

    metrics.py BUILD_DIR

A tracer (--metrics) and a shipper (--metrics, to a NATS server started here)
are scraped every second by a Prometheus server on loopback. Known calls are
made; what Prometheus stored must equal what the tracer wrote, event by event
and rule by rule, and the shipper's acknowledged count what the stream holds.
The NATS server is stopped and restarted: the shipper's `up` goes to 0 and
back. Also: promtool accepts the text; the server thread holds no capability
the tracer dropped; systemd's STATUS= carries live counts; a metrics port in
use or a malformed address is one line and exit 2 with nothing started; the
socket systemd passes (mptrace.socket) is used instead of binding.
Every server is bounded in time and stopped by its pid.
"""
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from harness import Env, Notify, fail, stop, wait_ready
from natscluster import Cluster, js_request

ENV = Env(sys.argv[1], "mptrace-metrics-")
MPTRACE, D = ENV.mptrace, ENV.dir
BASE = 29000 + os.getpid() % 1000 * 4
TRACE_PORT, PROM_PORT, SHIP_PORT, SPARE_PORT = BASE, BASE + 1, BASE + 2, BASE + 3
SERVERS = []  # stopped by SIGTERM, which timeout(1) passes on
# move_pages(pid 1, page 0x1000 (not mapped there) to node 0): another process's pages, MPT-1
OTHER = ("import ctypes; s = (ctypes.c_int * 1)(); p = (ctypes.c_void_p * 1)(4096); "
         "n = (ctypes.c_int * 1)(0); "
         "ctypes.CDLL(None, use_errno=True).syscall(279, 1, 1, p, n, s, 0)")


def http(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def query(expr):
    """Prometheus' instant query: {label-set: value}."""
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (PROM_PORT, urllib.parse.quote(expr))
    try:
        res = json.loads(http(url)[1])["data"]["result"]
    except OSError:
        return {}
    return {tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("instance", "job"))):
            float(r["value"][1]) for r in res}


def wait_query(expr, want, what, timeout=60):
    """Until Prometheus says @expr is @want (a number for one series, or a dict)."""
    end, got = time.monotonic() + timeout, None
    while time.monotonic() < end:
        got = query(expr)
        val = got if isinstance(want, dict) else (list(got.values()) or [None])[0]
        if val == want:
            return
        time.sleep(0.5)
    fail("%s: Prometheus has %s = %s, expected %s" % (what, expr, got, want))


def start_prometheus():
    conf = os.path.join(D, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
                "  - job_name: mptrace\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n"
                "  - job_name: ship\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % (TRACE_PORT, SHIP_PORT))
    log = open(os.path.join(D, "prometheus.log"), "wb")
    p = subprocess.Popen(["timeout", "300", "prometheus", "--config.file", conf,
                          "--storage.tsdb.path", os.path.join(D, "tsdb"),
                          "--web.listen-address", "127.0.0.1:%d" % PROM_PORT],
                         stdout=log, stderr=log)
    SERVERS.append(p)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if http("http://127.0.0.1:%d/-/ready" % PROM_PORT)[0] == 200:
                return p
        except OSError:
            time.sleep(0.3)
    fail("prometheus did not come up: %s" % open(os.path.join(D, "prometheus.log")).read())


def bad_settings():
    """A port in use, a malformed address: one line, exit 2, no file made, nothing loaded."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", SPARE_PORT))
    taken.listen(1)
    for addr, why in (("127.0.0.1:%d" % SPARE_PORT, "Address already in use"),
                      ("localhost", "expected ADDR:PORT"), ("127.0.0.1:70000", "ADDR:PORT"),
                      ("999.1.1.1:80", "numeric address")):
        out = os.path.join(D, "never.json")
        r = subprocess.run([MPTRACE, "--metrics", addr, "-o", out, "--capture",
                            os.path.join(D, "never.mpcap"), "-d", "5"], capture_output=True,
                           text=True, timeout=30)
        lines = r.stderr.splitlines()
        if r.returncode != 2 or len(lines) != 1 or why not in lines[0]:
            fail("--metrics %s: exit %d, %r" % (addr, r.returncode, r.stderr))
        if os.path.exists(out) or os.listdir(D).count("never.mpcap"):
            fail("--metrics %s: files were made before the error" % addr)
    taken.close()
    print("bad settings: one line and exit 2 each, nothing made")


def journal_priorities():
    """Under journald (JOURNAL_STREAM names stderr) every line carries its priority."""
    def run(*args):
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        p = subprocess.Popen([MPTRACE] + list(args), stderr=w, env=env)
        os.close(w)
        p.wait(60)
        with os.fdopen(r) as f:
            return f.read().splitlines()

    lines = run("--comm", ENV.comm, "-d", "1", "-o", "/dev/null", "--no-compat")
    if (len(lines) != 2 or not lines[0].startswith("<4>mptrace: tracing ") or
            not lines[1].startswith("<5>mptrace: 0 events, 0 dropped")):
        fail("journal priorities of a run: %s" % lines)
    lines = run("--metrics", "nonsense")
    if len(lines) != 1 or not lines[0].startswith("<3>mptrace: invalid --metrics"):
        fail("journal priority of an error: %s" % lines)
    print("journald: warning <4>, notice <5>, error <3>")


def socket_activated():
    """The socket systemd passes for the address is the one served (mptrace.socket)."""
    p = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % SPARE_PORT,
                          MPTRACE, "--metrics", "127.0.0.1:%d" % SPARE_PORT, "-o", "/dev/null",
                          "--comm", ENV.comm], stderr=subprocess.PIPE)
    ENV.procs.append(p)
    # the activator execs mptrace at the first connection; the answer waits for the ready line
    status = None
    end = time.monotonic() + 60
    while time.monotonic() < end and status != 200:
        try:
            status, text = http("http://127.0.0.1:%d/metrics" % SPARE_PORT, timeout=10)
        except urllib.error.HTTPError as e:
            status = e.code  # 503 until it traces
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    if status != 200 or "mptrace_build_info" not in text:
        fail("the passed socket was not served: %s" % status)
    p.send_signal(signal.SIGTERM)
    if p.wait(30) != 0:
        fail("socket-activated mptrace exited %d: %s" % (p.returncode, p.stderr.read()))
    print("socket activation: the passed socket served the metrics")


def check_caps(pid):
    """Every thread has the tracer's reduced set: the server thread came after the drop."""
    eff = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            eff[tid] = [ln.split()[1] for ln in f if ln.startswith("CapEff:")][0]
    if len(eff) < 2 or len(set(eff.values())) != 1 or int(list(eff.values())[0], 16) & (1 << 38):
        fail("threads' effective capabilities: %s" % eff)


def written(path):
    """What the tracer wrote: events by name, detections by rule."""
    ev, det = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["eventName"] == "detection":
                det[r["detection"]["id"]] += 1
            elif r["eventName"] in ("move_pages", "migrate_pages"):
                ev[r["eventName"]] += 1
    return ev, det


def maps_http(pid):
    """Whether process @pid has the HTTP server's library (and GnuTLS with it) mapped."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return "libmicrohttpd" in maps, "libgnutls" in maps


def http_not_loaded():
    """A tracer without --metrics has neither libmicrohttpd nor GnuTLS mapped."""
    plain = subprocess.Popen([MPTRACE, "--comm", ENV.comm, "-o", "/dev/null"],
                             stderr=subprocess.PIPE)
    ENV.procs.append(plain)
    wait_ready(plain)
    if maps_http(plain.pid) != (False, False):
        fail("a tracer without --metrics maps libmicrohttpd, GnuTLS: %s" % (maps_http(plain.pid),))
    plain.send_signal(signal.SIGTERM)
    if plain.wait(30) != 0:
        fail("the tracer without --metrics exited %d" % plain.returncode)


def http_loaded(tracer):
    """... and one with it has both: the library is loaded when asked for."""
    if maps_http(tracer.pid) != (True, True):
        fail("a tracer with --metrics maps libmicrohttpd, GnuTLS: %s" % (maps_http(tracer.pid),))
    print("libmicrohttpd and GnuTLS: mapped with --metrics, not without")


def trace_checks(tracer, out, notify):
    for run in range(2):
        subprocess.run([ENV.worker, "mp", "1", "300"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run([os.path.join(ENV.build, "tests", "mp_workload")],
                       stdout=subprocess.DEVNULL, check=True)
        subprocess.run([sys.executable, "-c", OTHER], check=True)
    want_ev = {"move_pages": 2 * (300 + 2 + 1), "migrate_pages": 2}
    end = time.monotonic() + 30
    while written(out)[0] != want_ev and time.monotonic() < end:
        time.sleep(0.2)
    ev, det = written(out)
    if ev != want_ev or det.get("MPT-1") != 2:
        fail("the tracer wrote %s and detections %s" % (dict(ev), dict(det)))
    for name, n in ev.items():
        wait_query('mptrace_events_total{event="%s"}' % name, n, name)
    wait_query('mptrace_detections_total{rule="MPT-1"}', 2, "detections")
    wait_query("sum(mptrace_detections_total)", sum(det.values()), "detections")
    wait_query("sum(mptrace_lost_total)", 0, "losses")
    # what is queued now, not what the programs saw at their last write (never 0 then)
    wait_query("mptrace_ring_buffer_queued_bytes", 0, "ring fill once read")
    wait_query('up{job="mptrace"}', 1, "the tracer's target")
    wait_query('count(mptrace_build_info{attach_mode="tracepoint"})', 1, "build info")
    status, text = http("http://127.0.0.1:%d/metrics" % TRACE_PORT)
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    if r.returncode or r.stdout.strip() or r.stderr.strip():
        fail("promtool check metrics: %s%s" % (r.stdout, r.stderr))
    check_caps(tracer.pid)
    want = "%d events, 0 lost, %d detections" % (sum(ev.values()), sum(det.values()))
    # STATUS= is sent on a timer: waited for, however busy the host
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(want in m for m in list(notify.msgs)):
        time.sleep(0.2)
    msgs = list(notify.msgs)
    if "READY=1" not in "".join(msgs) or not any(want in m for m in msgs):
        fail("systemd's STATUS= does not say %r: %s" % (want, msgs[-3:]))
    print("tracer: Prometheus holds %s, %s; promtool clean; STATUS= %r" %
          (dict(ev), dict(det), want))


def msgs_or_none(cluster):
    """Messages in the stream; None when there is no stream."""
    r = js_request(cluster.port(0), "$JS.API.STREAM.INFO.MPTRACE", b"")
    return r["state"]["messages"] if "state" in r else None


def ship_checks(cluster):
    cap = [os.path.join(D, "t.mpcap")]
    taken = socket.socket()
    taken.bind(("127.0.0.1", SHIP_PORT))
    taken.listen(1)
    r = subprocess.run([MPTRACE, "ship", "--metrics", "127.0.0.1:%d" % SHIP_PORT, "--nats",
                        cluster.urls(), cap[0]], capture_output=True, text=True, timeout=30)
    taken.close()
    if r.returncode != 2 or "Address already in use" not in r.stderr or msgs_or_none(cluster):
        fail("ship with its metrics port in use: exit %d, %r" % (r.returncode, r.stderr))
    ship = subprocess.Popen([MPTRACE, "ship", "--follow", "--metrics", "127.0.0.1:%d" % SHIP_PORT,
                             "--nats", cluster.urls(), "--state", os.path.join(D, "ship.state"),
                             cap[0]], stderr=subprocess.PIPE)
    ENV.procs.append(ship)
    msgs = lambda: msgs_or_none(cluster) or 0
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if query('mptrace_ship_pending_messages') and msgs() > 0:
                break
        except (OSError, KeyError):
            pass
        time.sleep(0.5)
    wait_query("mptrace_ship_pending_messages", 0, "ship pending")
    held = msgs()
    wait_query("mptrace_ship_acked_total", held, "ship acknowledged")
    wait_query("mptrace_ship_lag_seconds", 0, "ship lag")
    wait_query("mptrace_ship_up", 1, "ship up")
    # the server goes away while there is more to ship: said in the metrics, then over
    cluster.stop(0)
    subprocess.run([ENV.worker, "mp", "1", "50"], stdout=subprocess.DEVNULL, check=True)
    wait_query("mptrace_ship_up", 0, "ship up during the outage")
    wait_query("mptrace_ship_outages_total", 1, "ship outages")
    cluster.start(0)
    cluster.wait_ready()
    wait_query("mptrace_ship_up", 1, "ship up after the outage")
    wait_query("mptrace_ship_pending_messages", 0, "ship pending after the outage")
    wait_query("mptrace_ship_acked_total", held + 50, "ship acknowledged after the outage")
    ship.send_signal(signal.SIGTERM)
    ship.wait(30)
    print("ship: %d then %d records acknowledged in Prometheus; up 1, 0 in the outage, 1" %
          (held, held + 50))


def main():
    http_not_loaded()
    bad_settings()
    journal_priorities()
    socket_activated()
    start_prometheus()
    cluster = Cluster(D, n=1)
    SERVERS.append(cluster)
    cluster.start_all()
    notify = Notify(os.path.join(D, "notify"))
    out = os.path.join(D, "events.json")
    tracer = subprocess.Popen(
        [MPTRACE, "--descendant-of", str(os.getpid()), "--detect", "-f", "json", "-o", out,
         "--capture", os.path.join(D, "t.mpcap"), "--metrics", "127.0.0.1:%d" % TRACE_PORT],
        stderr=subprocess.PIPE, env=dict(os.environ, NOTIFY_SOCKET=os.path.join(D, "notify")))
    ENV.procs.append(tracer)
    wait_ready(tracer)
    http_loaded(tracer)
    trace_checks(tracer, out, notify)
    ship_checks(cluster)
    tracer.send_signal(signal.SIGTERM)
    if tracer.wait(30) != 0:
        fail("the tracer exited %d" % tracer.returncode)



if __name__ == "__main__":
    try:
        main()
    finally:
        for srv in SERVERS:
            if isinstance(srv, Cluster):
                srv.stop_all()
            else:
                stop(srv)
        ENV.cleanup()
