#!/usr/bin/env python3
"""What the scripted tests and benchmarks share: a work directory with a
private copy of the workload (so a --comm filter catches it and nothing else),
one-line failures, and an mptrace started and waited for until it traces."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading


def fail(msg):
    sys.exit("FAIL: " + msg)


# The ready line, "mptrace: tracing EVENTS via MODE[; ...]": which events it names
# changes as events are added, so that part is not matched.
READY = re.compile(rb"^mptrace: tracing .+ via \w+.*\n", re.M)


def join_callers(recs, what="output"):
    """What a consumer does with JSON's lean lines (--ancestors 0, the default): each
    event (a finding's triggeredBy too) that names its caller by entityId alone gets the
    caller's start, executable and command line from the caller's process record, which
    must come before it. @recs: decoded lines, changed in place and returned."""
    procs = {}
    for r in recs:
        if r.get("eventName") == "process":
            procs[r["entityId"]] = r
            continue
        for ev in (r, r.get("triggeredBy")):
            if not isinstance(ev, dict) or "args" not in ev or "commandLine" in ev:
                continue
            rec = procs.get(ev.get("entityId"))
            if rec is None:
                fail("%s: a %s line names caller %s, whose record is not before it:\n%s" %
                     (what, ev.get("eventName"), ev.get("entityId"), json.dumps(ev)[:300]))
            ev.setdefault("executable", rec["executable"])
            ev["processStartTime"] = rec["startTime"]
            ev["commandLine"] = rec["commandLine"]
            ev["commandLineTruncated"] = rec["commandLineTruncated"]
    return recs


def not_process_records(lines):
    """JSON lines (str or bytes) without the process records before them: the events and
    what else the output says. The records are what a line whose chain is cut names its
    ancestors by (--ancestors, 0 for JSON by default)."""
    return [ln for ln in lines if ('"eventName":"process"' if isinstance(ln, str)
                                   else b'"eventName":"process"') not in ln]


def parent_records_kept(lines, what):
    """Every event line whose chain is cut names a parent whose process record came before
    it, and so does every record but the eldest's: the records rebuild each chain. A lean
    line (no commandLine) finds its caller's own record before it too."""
    evs = [json.loads(line) for line in lines]
    recorded = set(ev["entityId"] for ev in evs if ev.get("eventName") == "process")
    seen, cut = set(), 0
    for ev in evs:
        name, parent = ev.get("eventName"), ev.get("parentEntityId")
        event = name != "process" and "args" in ev
        if event and ev.get("ancestorsTruncated") or name == "process" and parent in recorded:
            cut += event
            if parent not in seen:
                fail("%s: a %s line names parent %s, whose record is not before it:\n%s" %
                     (what, name, parent, json.dumps(ev)[:300]))
        if event and "commandLine" not in ev and ev.get("entityId") not in seen:
            fail("%s: a lean %s line, and no record of its caller %s before it:\n%s" %
                 (what, name, ev.get("entityId"), json.dumps(ev)[:300]))
        if name == "process":
            seen.add(ev["entityId"])
    return cut


def wait_ready(t, what="mptrace"):
    """Read @t's stderr until its ready line; what it read."""
    err = b""
    while not READY.search(err):
        chunk = os.read(t.stderr.fileno(), 4096)
        if not chunk:
            fail("%s did not start: %s" % (what, err.decode()))
        err += chunk
    return err


def stop(p, timeout=30):
    """SIGTERM, as systemctl stop and timeout(1) pass it on; SIGKILL past @timeout."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


class Notify(threading.Thread):
    """systemd's side of NOTIFY_SOCKET: read all along, as systemd does (a full queue
    blocks the sender); msgs holds every line received."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []
        self.start()

    def run(self):
        while True:
            self.msgs.extend(self.sock.recv(4096).decode().split("\n"))


class Env:
    """BUILD's mptrace, a fresh directory, and a workload named for this run."""

    def __init__(self, build, prefix):
        self.build = build
        self.mptrace = os.path.join(build, "mptrace")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.worker = os.path.join(self.dir, "flt%d" % os.getpid())
        self.comm = os.path.basename(self.worker)[:15]
        shutil.copy(os.path.join(build, "bench", "mp_bench"), self.worker)
        self.procs = []

    def start(self, args, **kw):
        """mptrace --comm WORKER @args, once it says it traces (early stderr kept). The
        worker calls move_pages alone: the other events' hooks would only slow each start."""
        kw.setdefault("stderr", subprocess.PIPE)
        t = subprocess.Popen([self.mptrace, "--comm", self.comm, "--event", "move_pages"] + args,
                             **kw)
        self.procs.append(t)
        t.early_err = wait_ready(t)
        return t

    def files(self, name):
        """The files of rotated capture @name in the directory, in order."""
        return sorted((os.path.join(self.dir, f) for f in os.listdir(self.dir)
                       if f.startswith(name + ".") and f.rsplit(".", 1)[1].isdigit()),
                      key=lambda f: int(f.rsplit(".", 1)[1]))

    def cleanup(self):
        # a failed check leaves no tracer behind to hold the test's pipes open
        for t in self.procs:
            if t.poll() is None:
                t.kill()
                t.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
