#!/usr/bin/env python3
"""The fleet against a real NATS JetStream cluster, started here.

    fleet.py BUILD_DIR SCENARIO

Three nats-server processes (Debian's, JetStream on) on loopback ports form a
cluster with an R3 stream; a capture made by real tracing of a real load is
shipped through one fault per scenario. Each ends with the stream holding
every record exactly once: `replay --nats` prints byte for byte what a replay
of the capture prints (a duplicate would print twice, a gap not at all).
Every server is bounded in time and stopped by its pid.
"""
import base64
import ctypes
import ctypes.util
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from harness import Env, fail, not_process_records, stop, wait_ready
from natscluster import Cluster, js_republish, js_request, js_stream_create

ENV = Env(sys.argv[1], "mptrace-fleet-")
MPTRACE, D, WORKER, COMM = ENV.mptrace, ENV.dir, ENV.worker, ENV.comm


def make_capture(name, calls=20000, n=4, size_mb=1):
    """A rotated capture of real calls: its files, in order."""
    t = ENV.start(["--fair-rate", "0", "--capture", os.path.join(D, name), "--capture-size",
                   str(size_mb), "--capture-group-read", "-o", "/dev/null"])
    subprocess.run([WORKER, "mp", str(n), str(calls)], stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    t.communicate(timeout=30)
    return ENV.files(name)


def replay_json(files):
    """What a replay of capture @files prints as JSON lines."""
    return subprocess.run([MPTRACE, "replay", "-f", "json"] + files, capture_output=True,
                          timeout=60).stdout


def check_stream_holds(cluster, want, what):
    """replay --nats prints @want's events, byte for byte (@want may join several replays,
    each with its own process records)."""
    got = subprocess.run([MPTRACE, "replay", "--nats", cluster.urls(), "-f", "json"],
                         capture_output=True, timeout=60).stdout
    got, want = not_process_records(got.splitlines()), not_process_records(want.splitlines())
    if got != want:
        fail("%s: the stream holds %d lines, the captures %d" % (what, len(got), len(want)))


def ship(cluster, files, *extra, wait=True, **kw):
    args = [MPTRACE, "ship", "--nats", cluster.urls(), "--replicas", str(cluster.n),
            "--state", os.path.join(D, "ship.state")] + list(extra) + files
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if wait:
        out, err = p.communicate(timeout=120)
        if p.returncode != 0:
            fail("ship exited %d: %s" % (p.returncode, err))
        p.err = err
    return p


def stream_state(cluster, name="MPTRACE"):
    """The stream's state as its leader tells it, for a failure's message."""
    try:
        r = js_request(cluster.port(0), "$JS.API.STREAM.INFO." + name, b"")
        return json.dumps(r.get("state", r))
    except OSError as e:
        return "unknown (%s)" % e


def check_exactly_once(cluster, files, what, damaged=False, in_order=True):
    # JSON shows a duplicate or a gap; table, OCSF and detections show the rest is the same
    for fmt in (["-f", "json"], ["-f", "table"], ["-f", "ocsf", "--detect"]):
        want = subprocess.run([MPTRACE, "replay"] + fmt + files, capture_output=True)
        got = subprocess.run([MPTRACE, "replay", "--nats", cluster.urls()] + fmt,
                             capture_output=True)
        if got.returncode != 0:
            fail("replay --nats: %s" % got.stderr.decode())
        if got.stdout != want.stdout:
            w, g = want.stdout.splitlines(), got.stdout.splitlines()
            fail("%s %s: the stream holds %d lines, the capture %d (%d distinct in the "
                 "stream)\nreplay --nats said: %s\nthe stream: %s" %
                 (what, fmt, len(g), len(w), len(set(g)), got.stderr.decode()[-2000:],
                  stream_state(cluster)))
    want = subprocess.run([MPTRACE, "replay", "-f", "json"] + files, capture_output=True)
    # --since and --until select by the events' own times
    # (three times: leaving a stream that still delivers must end cleanly each time)
    for _ in range(3):
        past = subprocess.run([MPTRACE, "replay", "--nats", cluster.urls(), "--until",
                               "2001-09-09T01:46:40Z"], capture_output=True, text=True)
        if past.returncode:
            break
    # ... and stops at the first event past it, stored later than the clocks' slack: the
    # rest of the stream is not read (unless records wait for ones stored after them)
    if past.returncode or past.stdout or "replayed 0 of" not in past.stderr or \
            (in_order and "replayed 0 of 1 events" not in past.stderr):
        fail("--until before every event: exit %d, %d bytes out: %r" %
             (past.returncode, len(past.stdout), past.stderr))
    first = json.loads(want.stdout.splitlines()[0])["timestamp"]
    since = subprocess.run([MPTRACE, "replay", "--nats", cluster.urls(), "-f", "json",
                            "--since", "%.3f" % (first // 1000000 / 1e3)], capture_output=True)
    if since.stdout.splitlines()[0] != want.stdout.splitlines()[0]:
        fail("--since the first event's time does not start with it")
    # the stream's events run the same pipeline as a file's: -n stops both at the same line
    first3 = subprocess.run([MPTRACE, "replay", "--nats", cluster.urls(), "-f", "json", "-n",
                             "3"], capture_output=True)
    if first3.returncode or not_process_records(first3.stdout.splitlines()) != \
            not_process_records(want.stdout.splitlines())[:3] or \
            b"replayed 3 of" not in first3.stderr:
        fail("replay --nats -n 3: exit %d, %d lines: %r" %
             (first3.returncode, len(first3.stdout.splitlines()), first3.stderr))
    # the report of the stream is the report of the capture, but for where it came from
    rep = []
    for src in (files, ["--nats", cluster.urls()]):
        r = subprocess.run([MPTRACE, "report", "-f", "json"] + src, capture_output=True)
        # a file a killed writer left unclosed is reported, and said (exit 5)
        if r.returncode not in ((0, 5) if damaged and src is files else (0,)):
            fail("report %s: exit %d: %s" % (src[0], r.returncode, r.stderr.decode()))
        rep.append(json.loads(r.stdout))
    if damaged:
        # the capture's verdict names the unclosed file; the stream holds its records whole
        if rep[0].pop("whole") is not False:
            fail("%s: the capture's report calls an unclosed file whole" % what)
        rep[1].pop("whole")
    for r in rep:
        for k in ("sources", "madeWith"):
            r.pop(k)
        for loss in r["losses"]:  # the stream's drop messages do not name the process
            loss.pop("hostProcessId")
    if rep[0] != rep[1]:
        fail("%s: report --nats differs from the capture's report: %s" %
             (what, [k for k in rep[0] if rep[0][k] != rep[1].get(k)]))
    info = js_request(cluster.port(0), "$JS.API.STREAM.INFO.MPTRACE", b"")
    events = len(want.stdout.splitlines())
    print("%s: %d events in the stream exactly once (%d messages, R%d), replay equal" %
          (what, events, info["state"]["messages"], info["config"]["num_replicas"]))


def node_restart():
    """A node stopped and restarted while the shipper follows a trace in progress."""
    c = Cluster(D)
    c.start_all()
    try:
        cap = os.path.join(D, "live.mpcap")
        # at its fair share the load is recorded in part and summed in part: a trace in
        # progress either way, with half the records to read back (every call recorded,
        # the stream's read-back timed out in 2 of 4 runs here)
        t = subprocess.Popen([MPTRACE, "--comm", COMM, "--capture", cap, "--capture-size", "1",
                              "-o", "/dev/null"], stderr=subprocess.PIPE)
        wait_ready(t)
        load = subprocess.Popen([WORKER, "mp", "4", "30000", "8000"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        s = ship(c, [cap + ".0"], "--follow", wait=False)
        time.sleep(1)
        c.stop(1)  # a follower or the leader: either way the stream goes on
        time.sleep(2)
        c.start(1)
        load.wait(timeout=120)
        time.sleep(0.5)
        t.send_signal(signal.SIGINT)
        t.communicate(timeout=30)
        files = sorted((os.path.join(D, f) for f in os.listdir(D)
                        if f.startswith("live.mpcap.")), key=lambda f: int(f.rsplit(".", 1)[1]))
        last = len(files)
        state = os.path.join(D, "ship.state")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                st = json.load(open(state))
                if st["fileSeq"] >= last:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        s.send_signal(signal.SIGTERM)
        s.communicate(timeout=30)
        check_exactly_once(c, files, "node-restart")
    finally:
        c.stop_all()


def two_outages(*form):
    """The only server stopped twice while the shipper follows a trace: each outage is
    said when it begins and when it ends, and the second is waited out as the first.
    With @form (--batch N), the batch a failed publish took is read and sent again."""
    c = Cluster(D, n=1)
    c.start_all()
    try:
        cap = os.path.join(D, "o.mpcap")
        t = subprocess.Popen([MPTRACE, "--comm", COMM, "--capture", cap, "--capture-size", "1",
                              "-o", "/dev/null"], stderr=subprocess.PIPE)
        wait_ready(t)
        load = subprocess.Popen([WORKER, "mp", "1", "1000000", "2000"],
                                stdout=subprocess.DEVNULL)
        s = ship(c, [cap + ".0"], "--follow", *form, wait=False)
        ENV.procs += [t, load, s]  # none left behind by a failed check
        err = ""
        for outage in (1, 2):
            time.sleep(2)
            c.stop(0)
            err += wait_stderr(s, "publishing to NATS failed", 30)
            c.start(0)
            c.wait_ready()
            err += wait_stderr(s, "publishing works again", 30)
        load.terminate()
        load.wait()
        t.send_signal(signal.SIGINT)
        t.communicate(timeout=30)
        files = ENV.files("o.mpcap")
        wait_state(lambda st: st["fileSeq"] >= len(files))
        s.send_signal(signal.SIGTERM)
        err += s.communicate(timeout=30)[1]
        # each outage said as it begins and as it ends, in turn; a server coming back may
        # refuse once more before JetStream is up, which is an outage of its own
        said = re.findall(r"publishing (to NATS failed|works again)", err)
        if (len(said) < 4 or said[::2] != ["to NATS failed"] * (len(said) // 2) or
                said[1::2] != ["works again"] * (len(said) // 2) or len(said) % 2):
            fail("two outages not each said as they began and ended: %s" % err)
        check_exactly_once(c, files, "two-outages" + (" in batches" if form else ""),
                           in_order=not form)
    finally:
        c.stop_all()


def tracer_killed():
    """The tracer SIGKILLed under a following shipper and started again: the file it left
    unclosed is shipped up to its last whole block, said once, and the shipper goes on
    with the files the new tracer writes."""
    c = Cluster(D, n=1)
    c.start_all()
    try:
        cap = os.path.join(D, "tk.mpcap")
        tracer = [MPTRACE, "--comm", COMM, "--fair-rate", "0", "--capture", cap,
                  "--capture-size", "1", "-o", "/dev/null"]
        t = subprocess.Popen(tracer, stderr=subprocess.PIPE)
        ENV.procs.append(t)
        wait_ready(t)
        s = ship(c, [cap + ".0"], "--follow", wait=False)
        ENV.procs.append(s)
        subprocess.run([WORKER, "mp", "1", "12000"], stdout=subprocess.DEVNULL, check=True)
        time.sleep(0.5)
        t.kill()
        t.wait()
        t = subprocess.Popen(tracer, stderr=subprocess.PIPE)
        ENV.procs.append(t)
        wait_ready(t)
        subprocess.run([WORKER, "mp", "1", "12000"], stdout=subprocess.DEVNULL, check=True)
        time.sleep(0.5)
        t.send_signal(signal.SIGINT)
        t.communicate(timeout=30)
        files = ENV.files("tk.mpcap")
        wait_state(lambda st: st["fileSeq"] >= len(files))  # past the killed tracer's file
        s.send_signal(signal.SIGTERM)
        err = s.communicate(timeout=30)[1]
        if err.count("was not closed") != 1 or "going on with the next file" not in err:
            fail("the unclosed file was not said once: %s" % err)
        check_exactly_once(c, files, "tracer-killed", damaged=True)
    finally:
        c.stop_all()


def stream_damage():
    """A stream holding messages twice (resent past its duplicate window) and missing one
    (deleted): replay --nats puts each record out once, and says both."""
    files = make_capture("g.mpcap", calls=3000)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        cfg = {"name": "MPTRACE", "subjects": ["mptrace.>"], "duplicate_window": 120 * 10**9}
        js_stream_create(c.port(0), cfg)
        ship(c, files)
        # the window shortened afterwards, so that copies of messages 5 and 6 are kept
        cfg["duplicate_window"] = 10**9
        r = js_request(c.port(0), "$JS.API.STREAM.UPDATE.MPTRACE", json.dumps(cfg).encode())
        if "error" in r:
            fail("stream update: %r" % r)
        time.sleep(1.5)
        for seq in (5, 6):
            ack = js_republish(c.port(0), "MPTRACE", seq)
            if ack.get("duplicate") or "error" in ack:
                fail("message %d was not stored again: %r" % (seq, ack))
        r = js_request(c.port(0), "$JS.API.STREAM.MSG.DELETE.MPTRACE", b'{"seq": 10}')
        if not r.get("success"):
            fail("deleting message 10: %r" % r)
        want = subprocess.run([MPTRACE, "replay", "-f", "json"] + files,
                              capture_output=True).stdout.splitlines()
        got = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "-f", "json"],
                             capture_output=True, text=True, timeout=60)
        lines = got.stdout.encode().splitlines()
        if (len(lines) != len(want) - 1 or len(set(lines)) != len(lines) or
                not set(lines) <= set(want)):
            fail("replay of a damaged stream: %d lines (%d distinct) for %d records, one "
                 "deleted" % (len(lines), len(set(lines)), len(want)))
        for said in ("2 records stored twice, put out once", "; 1 gaps: messages the stream"):
            if said not in got.stderr:
                fail("replay --nats did not say %r: %s" % (said, got.stderr))
        print("stream-damage: 2 records stored twice put out once, 1 deleted said as a gap")
    finally:
        c.stop_all()


def new_set():
    """The daemon begins a new capture set (its files removed) under a shipper with a
    state: a restarted ship ships the new set from its start, and says so, instead of
    failing at every restart."""
    first = make_capture("s.mpcap", calls=2000)
    want = replay_json(first)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        ship(c, first)
        for f in first:
            os.unlink(f)
        second = make_capture("s.mpcap", calls=3000)
        want += replay_json(second)
        p = ship(c, [second[0]])
        if "a new one: shipping it from its oldest file" not in p.err:
            fail("the new set was not said: %s" % p.err)
        check_stream_holds(c, want, "new-set")
        print("new-set: both capture sets in the stream, the second said and shipped whole")
    finally:
        c.stop_all()


def state_disk_full():
    """The state's file system full under a following ship: said once when writing it
    begins to fail and once when it works again, the records shipped all the while."""
    files = make_capture("st.mpcap", calls=30000, size_mb=64)
    statedir = os.path.join(D, "statefs")
    os.makedirs(statedir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", statedir],
                   check=True)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        filler = os.path.join(statedir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"x" * 4096):
                pass
        except OSError:  # full
            pass
        os.close(fd)
        state = os.path.join(statedir, "ship.state")
        s = subprocess.Popen([MPTRACE, "ship", "--nats", c.urls(), "--state", state,
                              "--follow"] + files, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        ENV.procs.append(s)
        err = wait_stderr(s, "writing the state %s failed" % state, 60)
        os.unlink(filler)
        err += wait_stderr(s, "writing the state %s works again" % state, 60)
        wait_state(lambda st: st["fileSeq"] >= len(files), path=state)
        s.send_signal(signal.SIGTERM)
        err += s.communicate(timeout=30)[1].decode()
        if err.count("failed: No space left on device") != 1:
            fail("a full disk under the state said %d times: %s" %
                 (err.count("failed: No space left on device"), err))
        check_stream_holds(c, replay_json(files), "state-disk-full")
        print("state-disk-full: said once as it failed, once as it worked again; all shipped")
    finally:
        c.stop_all()
        subprocess.run(["umount", "-l", statedir])


def wait_state(pred, timeout=60, path=None, proc=None):
    """Until the shipper's state file (@path, or the scenarios' usual one) satisfies @pred;
    the state. A shipper @proc that exits first fails it at once, with what it said; one
    still running at the timeout is killed, and what it said told."""
    path = path or os.path.join(D, "ship.state")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        exited = proc is not None and proc.poll() is not None
        try:
            st = json.load(open(path))
            if pred(st):
                return st
        except (OSError, ValueError):
            pass
        if exited:
            fail("ship exited %d before its state got there: %s"
                 % (proc.returncode, proc.communicate()[1]))
        time.sleep(0.2)
    try:
        st = open(path).read()
    except OSError as e:
        st = "none (%s)" % e
    said = ""
    if proc is not None:
        proc.kill()
        said = "; ship said: %s" % proc.communicate()[1]
    fail("the state never got there in %d s: %s%s" % (timeout, st, said))


def new_set_followed():
    """The daemon begins a new capture set under a running ship --follow: the old set is
    shipped to its end, the new one from its start, and the switch is said."""
    first = make_capture("f.mpcap", calls=2000)
    want = replay_json(first)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        s = ship(c, [first[0]], "--follow", wait=False)
        ENV.procs.append(s)
        wait_state(lambda st: st["fileSeq"] >= len(first))
        for f in first:
            os.unlink(f)
        second = make_capture("f.mpcap", calls=3000)
        info = subprocess.run([MPTRACE, "capture-info", second[0]], capture_output=True,
                              text=True).stdout
        new_id = re.search(r"^set\s+(\S+)", info, re.M).group(1)
        want += replay_json(second)
        wait_state(lambda st: st["setId"] == new_id and st["fileSeq"] >= len(second))
        s.send_signal(signal.SIGTERM)
        err = s.communicate(timeout=30)[1]
        if "shipping set %s, begun since" % new_id not in err:
            fail("the switch to the new set was not said: %s" % err)
        check_stream_holds(c, want, "new-set-followed")
        print("new-set-followed: the old set to its end, then the new one whole")
    finally:
        c.stop_all()


def wait_stderr(p, text, timeout):
    """Read @p's stderr until it holds @text; what was read (its text wrapper is not used,
    so that select() sees every byte)."""
    got, end = b"", time.monotonic() + timeout
    while text.encode() not in got:
        r, _, _ = select.select([p.stderr], [], [], max(0, end - time.monotonic()))
        if not r:
            fail("no %r within %d s: %s" % (text, timeout, got.decode()))
        chunk = os.read(p.stderr.fileno(), 4096)
        if not chunk:
            fail("ship exited: %s" % got.decode())
        got += chunk
    return got.decode()


def shipper_killed():
    """The shipper SIGKILLed at random points and restarted."""
    files = make_capture("k.mpcap", calls=30000, size_mb=64)  # one file: 30,000 records
    c = Cluster(D)
    c.start_all()
    rnd = random.Random(7)
    state = os.path.join(D, "ship.state")
    try:
        last = 0
        for _ in range(4):
            p = ship(c, files, wait=False)
            # the state moves within the file (a restart resends what followed it, not all):
            # killed once it has moved past where the last run left it
            wait_state(lambda st: st["fileSeq"] == 0 and st["offset"] > last)
            time.sleep(rnd.uniform(0, 0.3))
            p.kill()
            p.wait()
            at = json.load(open(state))
            if at["fileSeq"] == 0 and at["offset"] < last:
                fail("the state went back: %d after %d" % (at["offset"], last))
            last = at["offset"] if at["fileSeq"] == 0 else last
        ship(c, files)
        check_exactly_once(c, files, "shipper-killed")
    finally:
        c.stop_all()


def servers_down():
    """The shipper starts before any server; it waits, then ships."""
    files = make_capture("d.mpcap", calls=5000)
    c = Cluster(D)
    p = ship(c, files, wait=False)
    time.sleep(2)
    if p.poll() is not None:
        fail("ship gave up while the servers were down: %s" % p.communicate()[1])
    c.start_all()
    try:
        out, err = p.communicate(timeout=120)
        if p.returncode != 0 or "waiting for NATS" not in err:
            fail("ship: %d %s" % (p.returncode, err))
        check_exactly_once(c, files, "servers-down")
    finally:
        c.stop_all()


def ship_into_full_stream(c, files, cfg):
    """Ship @files into a stream created with @cfg that fills: ship, waiting, and what it
    said by then. The wait is for ship's own line (a busy cluster may take seconds to answer
    its first request), not a fixed time."""
    r = js_stream_create(c.port(0), cfg)
    if "error" in r:
        fail("creating the stream: %s" % r)
    p = ship(c, files, wait=False)
    early, deadline = "", time.monotonic() + 120
    while "publishing to NATS failed" not in early and time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            fail("ship ended on a full stream: %s" % early)
        early += line
    if "publishing to NATS failed" not in early:
        fail("ship never said the stream refused it:\n%s" % early)
    return p, early


def raise_limit(c, cfg):
    cfg["max_msgs"] = -1
    r = js_request(c.port(0), "$JS.API.STREAM.UPDATE." + cfg["name"], json.dumps(cfg).encode())
    if "error" in r:
        fail("raising the limit: %s" % r)


def stream_full():
    """A stream that refuses writes (max_msgs, discard new): ship waits, says so once, and
    goes on when the limit is raised. (max_bytes is not used: nats-server before 2.10.5 can
    take a message over it and delete the oldest instead; stream-deletes covers that.)"""
    files = make_capture("f.mpcap", calls=8000)
    c = Cluster(D)
    c.start_all()
    try:
        cfg = {"name": "MPTRACE", "subjects": ["mptrace.>"], "num_replicas": 3,
               "max_msgs": 64, "discard": "new", "duplicate_window": 3600 * 10**9,
               "storage": "file"}
        p, early = ship_into_full_stream(c, files, cfg)
        time.sleep(1)  # still waiting, and saying nothing more
        if p.poll() is not None:
            fail("ship ended on a full stream: %s" % (early + p.communicate()[1]))
        raise_limit(c, cfg)
        out, err = p.communicate(timeout=120)
        err = early + err
        if p.returncode != 0 or err.count("publishing to NATS failed") != 1:
            fail("ship on a full stream: %d, not one message per outage:\n%s" %
                 (p.returncode, err))
        if "deleted messages" in err:
            fail("ship says the stream deleted what it kept:\n%s" % err)
        check_exactly_once(c, files, "stream-full")
    finally:
        c.stop_all()


def stream_deletes():
    """A stream that deletes messages it acknowledged, as one at max_bytes with discard new
    does on nats-server before 2.10.5 (its oldest, to make room): ship says so, names
    them, and counts them; replay --nats prints every other record and says the gap."""
    files = make_capture("d.mpcap", calls=2000)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        cfg = {"name": "MPTRACE", "subjects": ["mptrace.>"], "max_msgs": 32,
               "discard": "new", "duplicate_window": 3600 * 10**9, "storage": "file"}
        p, early = ship_into_full_stream(c, files, cfg)
        r = js_request(c.port(0), "$JS.API.STREAM.MSG.DELETE.MPTRACE", b'{"seq": 1}')
        if not r.get("success"):
            fail("deleting message 1: %r" % r)
        raise_limit(c, cfg)
        out, err = p.communicate(timeout=120)
        err = early + err
        said = "stream MPTRACE deleted messages 1 to 1 after acknowledging them"
        if p.returncode != 0 or said not in err:
            fail("ship over a stream that deleted its first message: exit %d, not %r:\n%s"
                 % (p.returncode, said, err))
        want = replay_json(files).splitlines()
        got = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "-f", "json"],
                             capture_output=True, timeout=60)
        if not_process_records(got.stdout.splitlines()) != not_process_records(want)[1:] or \
                b"; 1 gaps: messages the stream" not in got.stderr:
            fail("replay --nats of a stream missing its first record: %d lines for %d, %r"
                 % (len(got.stdout.splitlines()), len(want), got.stderr.decode()))
        # its last message deleted too (the set's summary): the stream's last sequence stays,
        # and the read is not to wait for it
        last = js_request(c.port(0), "$JS.API.STREAM.INFO.MPTRACE", b"")["state"]["last_seq"]
        r = js_request(c.port(0), "$JS.API.STREAM.MSG.DELETE.MPTRACE",
                       json.dumps({"seq": last}).encode())
        if not r.get("success"):
            fail("deleting the last message: %r" % r)
        again = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "-f", "json"],
                               capture_output=True, timeout=60)
        if again.returncode or again.stdout != got.stdout or b"the read ended" in again.stderr:
            fail("replay --nats of a stream whose last message was deleted: exit %d, %r"
                 % (again.returncode, again.stderr.decode()))
        print("stream-deletes: ship said the deletion, replay the gap")
    finally:
        c.stop_all()


def rotated_away():
    """Files a ring rotated away before they were shipped: a loss, said in the stream.
    The tracer records every call (--fair-rate 0): the load is one process, which a fair
    share would sum instead of filling the files."""
    cap = os.path.join(D, "r.mpcap")
    t = subprocess.Popen([MPTRACE, "--comm", COMM, "--fair-rate", "0", "--capture", cap,
                          "--capture-size", "1",
                          "--capture-files", "2", "-o", "/dev/null"], stderr=subprocess.PIPE)
    # traced from its ready line: a start slower than a fixed wait missed the load
    wait_ready(t)
    subprocess.run([WORKER, "mp", "4", "20000"], stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    t.communicate(timeout=30)
    files = [os.path.join(D, f) for f in sorted(os.listdir(D)) if f.startswith("r.mpcap.")]
    info = subprocess.run([MPTRACE, "capture-info"] + files, capture_output=True, text=True)
    set_id = re.search(r"^set\s+(\S+)", info.stdout, re.M).group(1)
    first = min(int(x) for x in re.findall(r"^file in set\s+(\d+)", info.stdout, re.M))
    if first < 2:
        fail("the ring did not rotate: %s" % info.stdout)
    # a shipper that had shipped nothing when the ring went round
    with open(os.path.join(D, "ship.state"), "w") as f:
        json.dump({"setId": set_id, "fileSeq": 0, "offset": 0}, f)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        s = subprocess.run([MPTRACE, "ship", "--nats", c.urls(), "--state",
                            os.path.join(D, "ship.state")] + files,
                           capture_output=True, text=True, timeout=120)
        want = "capture files 0 to %d of the set were removed before they were shipped" % (
            first - 1)
        if s.returncode != 0 or want not in s.stderr:
            fail("ship over a rotated ring: %d %s" % (s.returncode, s.stderr))
        r = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "-f", "json"],
                           capture_output=True, text=True, timeout=60)
        if '"cause":"unshipped"' not in r.stderr or '"fileSeqTo":%d' % (first - 1) not in r.stderr:
            fail("the stream does not say what was lost: %s" % r.stderr)
        check_exactly_once(c, files, "rotated-away")
        # no state, as the unit starts on a new host, given the name that holds the ring's
        # newest file (FILE.0 once the ring has gone round): the older file goes first
        seqs = {}
        for f in files:
            out = subprocess.run([MPTRACE, "capture-info", f], capture_output=True,
                                 text=True).stdout
            seqs[f] = int(re.search(r"^file in set\s+(\d+)", out, re.M).group(1))
        newest = max(files, key=seqs.get)
        older = sorted((f for f in files if f != newest), key=seqs.get)
        s = subprocess.run([MPTRACE, "ship", "--nats", c.urls(), "--stream", "FRESH",
                            "--subject", "fresh.x", newest],
                           capture_output=True, text=True, timeout=120)
        got = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "--stream", "FRESH",
                              "--subject", "fresh.x", "-f", "json"], capture_output=True,
                             timeout=60)
        want = subprocess.run([MPTRACE, "replay", "-f", "json"] + older + [newest],
                              capture_output=True, timeout=60)
        if s.returncode or got.stdout != want.stdout or not want.stdout:
            fail("ship the newest file without state: %d lines of %d: %s" %
                 (len(got.stdout.splitlines()), len(want.stdout.splitlines()), s.stderr))
    finally:
        c.stop_all()


def unprivileged():
    """ship needs no privilege: user nobody, in the captures' group, ships them."""
    files = make_capture("u.mpcap", calls=2000)
    os.chmod(D, 0o755)
    binary = os.path.join(D, "mptrace")
    shutil.copy(MPTRACE, binary)
    os.chmod(binary, 0o755)
    for f in files:
        os.chown(f, 0, 65534)
        if os.stat(f).st_mode & 0o777 != 0o640:
            fail("--capture-group-read made %o, not 640" % (os.stat(f).st_mode & 0o777))
    state = os.path.join(D, "nobody")
    os.mkdir(state)
    os.chown(state, 65534, 65534)
    c = Cluster(D, n=1)
    c.start_all()

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    try:
        r = subprocess.run([binary, "ship", "--nats", c.urls(), "--state",
                            os.path.join(state, "st.json")] + files, capture_output=True,
                           text=True, timeout=120, preexec_fn=drop)
        if r.returncode != 0:
            fail("ship as nobody: %d %s" % (r.returncode, r.stderr))
        check_exactly_once(c, files, "unprivileged")
    finally:
        c.stop_all()


def listening(port, proc, timeout=60):
    """Until a server @proc started listens on @port: a bound, not a guess at its start-up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            fail("the server on port %d exited %d" % (port, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    fail("nothing listens on port %d after %d s" % (port, timeout))


def tls():
    """TLS with a CA of the test's own: shipped with --tls-ca, refused without it."""
    files = make_capture("t.mpcap", calls=1000)
    ca, key = os.path.join(D, "ca.pem"), os.path.join(D, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", ca], check=True, capture_output=True)
    port = 24000 + os.getpid() % 2000 * 8 + 7
    srv = subprocess.Popen(["timeout", "120", "nats-server", "-js", "-a", "127.0.0.1", "-p",
                            str(port), "-sd", os.path.join(D, "jstls"), "--tls", "--tlscert",
                            ca, "--tlskey", key], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        listening(port, srv)
        url = "tls://127.0.0.1:%d" % port
        r = subprocess.run([MPTRACE, "ship", "--nats", url] + files, capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 0 or "cannot connect" not in r.stderr:
            fail("a server certificate nobody trusts was accepted: %d %r" %
                 (r.returncode, r.stderr))
        r = subprocess.run([MPTRACE, "ship", "--nats", url, "--tls-ca", ca] + files,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail("ship over TLS: exit %d: %s" % (r.returncode, r.stderr))
        got = subprocess.run([MPTRACE, "replay", "--nats", url, "--tls-ca", ca, "-f", "json"],
                             capture_output=True)
        want = subprocess.run([MPTRACE, "replay", "-f", "json"] + files, capture_output=True)
        if got.returncode != 0 or got.stdout != want.stdout:
            fail("replay over TLS differs: %s" % got.stderr.decode())
    finally:
        srv.terminate()
        srv.wait()
    # tls:// to a server that speaks only plaintext: refused, nothing sent in the clear
    plain = subprocess.Popen(["timeout", "120", "nats-server", "-js", "-a", "127.0.0.1", "-p",
                              str(port), "-sd", os.path.join(D, "jsplain"), "-m",
                              str(port + 1)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        listening(port, plain)
        r = subprocess.run([MPTRACE, "ship", "--nats", "tls://127.0.0.1:%d" % port] + files,
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0 or "cannot connect" not in r.stderr:
            fail("tls:// shipped to a plaintext server: %d %r" % (r.returncode, r.stderr))
        with urllib.request.urlopen("http://127.0.0.1:%d/jsz" % (port + 1), timeout=10) as f:
            jsz = json.load(f)
        if jsz.get("messages", 0) != 0:
            fail("tls:// sent %d messages in plaintext" % jsz["messages"])
    finally:
        plain.terminate()
        plain.wait()
    print("tls: refused without the CA, %d events shipped and replayed over TLS with it, "
          "tls:// to a plaintext server refused with nothing sent" % len(want.stdout.splitlines()))


def event_offsets(path):
    """Offsets of a capture's EVENT records (docs/capture-format.md: 16-byte preamble, then
    12-byte record headers: type u16, flags u16, length u32, CRC u32)."""
    import struct
    data, off, out = open(path, "rb").read(), 16, []
    while off + 12 <= len(data):
        rtype, _, length, _ = struct.unpack_from("<HHII", data, off)
        if rtype == 2:
            out.append(off)
        off += 12 + length
    return out


def reordered():
    """Records stored out of the capture's order (later ones first, as after a failure
    with later publishes already stored): replay --nats puts them back in order."""
    files = make_capture("o.mpcap", calls=3000, n=1)
    first = files[0]
    offs = event_offsets(first)
    info = subprocess.run([MPTRACE, "capture-info", first], capture_output=True, text=True)
    set_id = re.search(r"^set\s+(\S+)", info.stdout, re.M).group(1)
    seq = int(re.search(r"^file in set\s+(\d+)", info.stdout, re.M).group(1))
    state = os.path.join(D, "ship.state")
    c = Cluster(D, n=1)
    c.start_all()
    try:
        # the second half of the first file (and the rest) first...
        with open(state, "w") as f:
            json.dump({"setId": set_id, "fileSeq": seq, "offset": offs[len(offs) // 2]}, f)
        ship(c, files)
        # ...then everything: the first half lands after it, the rest is dropped as known
        os.unlink(state)
        second = ship(c, files)
        if "already there" not in second.err:
            fail("no duplicates dropped: %s" % second.err)
        check_exactly_once(c, files, "reordered", in_order=False)
    finally:
        c.stop_all()


def bad_setup():
    """What cannot work: one line, a non-zero exit, no wait."""
    files = make_capture("b.mpcap", calls=10)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        cases = [(["--nats", "http://127.0.0.1:1"], "bad NATS URL"),
                 (["--nats", "nats://127.0.0.1:%d" % c.port(0), "--subject", "other.x"],
                  "does not take subject")]
        # a stream of that name already there for other subjects: a conflict
        r = js_stream_create(c.port(0), {"name": "MPTRACE", "subjects": ["mptrace.>"]})
        # streams that would lose or double what they acknowledge
        url = "nats://127.0.0.1:%d" % c.port(0)
        for name, cfg, why in (("OLD", {"discard": "old", "max_msgs": 1000}, "discards old"),
                               ("DUP", {"duplicate_window": 10 * 10**9}, "duplicates for 10 s"),
                               ("SMALL", {"max_msg_size": 1000}, "over 1000 bytes")):
            js_stream_create(c.port(0), dict(cfg, name=name, subjects=[name.lower() + ".>"]))
            cases.append((["--nats", url, "--stream", name, "--subject", name.lower() + ".x"],
                          why))
        for extra, why in cases:
            r = subprocess.run([MPTRACE, "ship"] + extra + files, capture_output=True,
                               text=True, timeout=30)
            if r.returncode == 0 or why not in r.stderr:
                fail("%s: %d %r" % (extra, r.returncode, r.stderr))
        r = subprocess.run([MPTRACE, "replay", "--nats", "nats://127.0.0.1:1"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 or "cannot connect" not in r.stderr:
            fail("replay --nats with no server: %d %r" % (r.returncode, r.stderr))
        # credentials the server refuses: one line, no endless retry
        port = c.port(0) + 6
        auth = subprocess.Popen(["timeout", "60", "nats-server", "-a", "127.0.0.1", "-p",
                                 str(port), "--user", "u", "--pass", "p"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listening(port, auth)
        try:
            r = subprocess.run([MPTRACE, "ship", "--nats", "nats://127.0.0.1:%d" % port] +
                               files, capture_output=True, text=True, timeout=30)
            # a password in the URL is not said back: stderr goes to a journal
            w = subprocess.run([MPTRACE, "ship", "--nats",
                                "nats://u:Sekr1t@127.0.0.1:%d" % port] + files,
                               capture_output=True, text=True, timeout=30)
        finally:
            auth.terminate()
            auth.wait()
        if r.returncode == 0 or "Authorization Violation" not in r.stderr:
            fail("refused credentials: %d %r" % (r.returncode, r.stderr))
        if (w.returncode == 0 or "Sekr1t" in w.stderr or
                "nats://u:***@127.0.0.1:%d" % port not in w.stderr):
            fail("a wrong password: %d %r" % (w.returncode, w.stderr))
        print("bad-setup: a bad URL, a subject conflict, streams that discard old, keep "
              "duplicates 10 s or take small messages, no server and refused credentials each "
              "refused in a line")
    finally:
        c.stop_all()


def too_large():
    """Records over the server's max_payload: each said and counted, passed over, never
    retried; the stream holds the rest and says where they were."""
    cap = os.path.join(D, "big.mpcap")
    t = ENV.start(["--fair-rate", "0", "--array-cap", "1024", "--capture", cap,
                   "--capture-group-read", "-o", "/dev/null"])
    for n, calls in ((4, 5), (1024, 2), (4, 5)):
        subprocess.run([WORKER, "mp", str(n), str(calls)], stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    t.communicate(timeout=30)
    port = 24000 + os.getpid() % 2000 * 8 + 7
    conf = os.path.join(D, "small.conf")
    with open(conf, "w") as f:
        f.write("listen: 127.0.0.1:%d\nmax_payload: 16384\njetstream { store_dir: %s }\n"
                % (port, os.path.join(D, "js-small")))
    srv = subprocess.Popen(["timeout", "120", "nats-server", "-c", conf],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "nats://127.0.0.1:%d" % port
    try:
        listening(port, srv)
        # one record a message, then in batches (which the large ones cannot join)
        for i, form in enumerate(([], ["--batch", "64"])):
            where = ["--stream", "SMALL%d" % i, "--subject", "small%d.x" % i]
            r = subprocess.run([MPTRACE, "ship", "--nats", url] + where + form + [cap],
                               capture_output=True, text=True, timeout=60)
            said = r.stderr.count("over the server's max_payload (16384 bytes): not shipped")
            if r.returncode or said != 2 or "too large for the server" not in r.stderr:
                fail("ship %s of 2 records too large: exit %d, said %d times: %s" %
                     (form, r.returncode, said, r.stderr[-1500:]))
            want = [ln for ln in not_process_records(replay_json([cap]).splitlines())
                    if len(json.loads(ln)["args"][2].get("data", [])) != 1024]
            got = subprocess.run([MPTRACE, "replay", "--nats", url, "-f", "json"] + where,
                                 capture_output=True, text=True, timeout=60)
            if not_process_records(got.stdout.encode().splitlines()) != want or \
                    len(want) != 10:
                fail("%s: the stream holds %d lines, not the %d small records" %
                     (form, len(got.stdout.splitlines()), len(want)))
            if got.stderr.count("not shipped") != 2 or "gap" in got.stderr:
                fail("replay --nats does not say the records left out: %s" % got.stderr)
        print("too-large: 2 records over max_payload said and passed over, the 10 others "
              "shipped, one a message and in batches; replay --nats says where the 2 were")
    finally:
        stop(srv)


def subjects():
    """Each event on a subject of its own, the rest on the host's meta subject; a read of
    one event's subject, or --event, prints what a replay of the capture with --event
    prints, and says that it read a part."""
    name = "fsj%d" % os.getpid()
    work = os.path.join(D, name)
    shutil.copy(os.path.join(ENV.build, "tests", "mp_workload"), work)
    cap = os.path.join(D, "s.mpcap")
    t = subprocess.Popen([MPTRACE, "--comm", name, "--event", "move_pages,migrate_pages",
                          "--capture", cap, "-o", "/dev/null"], stderr=subprocess.PIPE)
    ENV.procs.append(t)
    wait_ready(t)
    for _ in range(3):
        subprocess.run([work], stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.5)
    stop(t)
    c = Cluster(D, n=1)
    c.start_all()
    try:
        ship(c, [cap])
        info = js_request(c.port(0), "$JS.API.STREAM.INFO.MPTRACE",
                          b'{"subjects_filter":">"}')["state"].get("subjects", {})
        host = re.sub(r"[.*> \t]", "_", socket.gethostname())
        want = {"mptrace.%s.move_pages.host" % host: 6,
                "mptrace.%s.migrate_pages.host" % host: 3, "mptrace.%s.meta" % host: 1}
        if info != want:
            fail("the stream's subjects: %r, not %r" % (info, want))

        def replay(*args):
            r = subprocess.run([MPTRACE, "replay", "-f", "json"] + list(args),
                               capture_output=True, timeout=60)
            if r.returncode:
                fail("replay %s: exit %d: %s" % (args, r.returncode, r.stderr.decode()))
            return r
        part = b"is a part of each capture set"
        whole = replay("--nats", c.urls())
        if whole.stdout != replay(cap).stdout or part in whole.stderr:
            fail("the whole stream differs from the capture: %s" % whole.stderr.decode())
        for ev, args in (("migrate_pages", ["--event", "migrate_pages"]),
                         ("move_pages", ["--subject", "mptrace.*.move_pages.host"])):
            got = replay("--nats", c.urls(), *args)
            lines = not_process_records(got.stdout.splitlines())
            if got.stdout != replay("--event", ev, cap).stdout or part not in got.stderr or \
                    len(lines) != {"move_pages": 6}.get(ev, 3):
                fail("replay --nats %s: %d lines, not the capture's %s:\n%s" %
                     (args, len(lines), ev, got.stderr.decode()))
        host_part = replay("--nats", c.urls(), "--subject", "mptrace.%s.>" % host)
        if host_part.stdout != whole.stdout or part in host_part.stderr:
            fail("one host's subjects differ from the whole stream")
        # the same records again in batches, which mix events: --event reads the whole
        # stream then (each record once), and an event's subject says what it misses
        os.unlink(os.path.join(D, "ship.state"))
        ship(c, [cap], "--batch", "4")
        got = replay("--nats", c.urls(), "--event", "migrate_pages")
        if got.stdout != replay("--event", "migrate_pages", cap).stdout or part in got.stderr:
            fail("--event over a stream with batches: %s" % got.stderr.decode())
        got = replay("--nats", c.urls(), "--subject", "mptrace.*.move_pages.host")
        if b"holds batches" not in got.stderr:
            fail("an event's subject over a stream with batches: %s" % got.stderr.decode())
        print("subjects: %s; --event and an event's subject each read their part alone"
              % ", ".join("%s=%d" % kv for kv in sorted(info.items())))
    finally:
        c.stop_all()


def batches():
    """ship --batch: records in compressed batches, the shipper SIGKILLed at random points
    and restarted (a resent batch overlaps the one stored before it), then the same capture
    shipped again in batches of another size and one record a message: the stream replays
    every record once, as the capture does."""
    files = make_capture("b.mpcap", calls=20000, size_mb=64)  # one file
    c = Cluster(D)
    c.start_all()
    rnd = random.Random(11)
    try:
        state = os.path.join(D, "ship.state")
        for _ in range(3):
            p = ship(c, files, "--batch", "256", wait=False)
            wait_state(lambda st: st["offset"] > 0 or st["fileSeq"] > 0, proc=p)
            time.sleep(rnd.uniform(0, 0.1))
            p.kill()
            p.wait()
        ship(c, files, "--batch", "256")
        batched = js_request(c.port(0), "$JS.API.STREAM.INFO.MPTRACE", b"")["state"]
        if batched["messages"] * 20 > 20000:
            fail("%d messages for 20,000 records in batches of 256" % batched["messages"])
        # again, from nothing: batches of 100, which overlap those of 256, then one record
        # a message: the stream holds every record three times
        for form in (["--batch", "100"], []):
            os.unlink(state)
            ship(c, files, *form)
        # the batches of 100 once more, within the duplicate window: all held already, and
        # said in records, as shipped is
        os.unlink(state)
        again = re.search(r"shipped (\d+) records .* \((\d+) already there\)",
                          ship(c, files, "--batch", "100").err)
        if not again or again.group(1) != again.group(2) or int(again.group(1)) < 20000:
            fail("the same batches again: %s" % (again.group(0) if again else "no count"))
        got = subprocess.run([MPTRACE, "replay", "--nats", c.urls(), "-f", "json"],
                             capture_output=True, timeout=60)
        dups = re.search(rb"(\d+) records stored twice", got.stderr)
        if not dups or int(dups.group(1)) < 40000:
            fail("every record shipped three times, yet: %r" % got.stderr.decode())
        check_exactly_once(c, files, "batches", in_order=False)
        print("batches: %d batch messages (%d bytes) for 20,000 records" %
              (batched["messages"], batched["bytes"]))
    finally:
        c.stop_all()


def unpack_batch(data):
    """A batch message's zstd frame, by the system's libzstd: its entries, as
    (kind, offset, bytes) (user/fleet/fleet_int.h)."""
    z = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    z.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
    z.ZSTD_decompress.restype = ctypes.c_size_t
    size = z.ZSTD_getFrameContentSize(data, ctypes.c_size_t(len(data)))
    out = ctypes.create_string_buffer(size)
    got = z.ZSTD_decompress(out, ctypes.c_size_t(size), data, ctypes.c_size_t(len(data)))
    if got != size:
        fail("a batch that does not unpack (%d of %d bytes)" % (got, size))
    raw, at, entries = out.raw, 0, []
    while at < len(raw):
        n = int.from_bytes(raw[at + 9:at + 13], "little")
        entries.append((raw[at], int.from_bytes(raw[at + 1:at + 9], "little"),
                        raw[at + 13:at + 13 + n]))
        at += 13 + n
    return entries


def batch_lineage():
    """ship --batch carries each process once a batch, before the first event that names
    it, not inside every event: two callers 20 shells deep (past the chain's cap of 16)
    replay from batches of 64 as from the capture, ancestors as records or inline. One
    event a message, each body is the line replay prints with the ancestors inline."""
    nest = os.path.join(D, "nest.sh")
    with open(nest, "w") as f:  # "; true": no shell may exec its last command away
        f.write('n=$1; shift; if [ "$n" -gt 1 ]; then sh "$0" $((n - 1)) "$@"; true; '
                'else "$@"; true; fi\n')
    cap = os.path.join(D, "lin.mpcap")
    t = ENV.start(["--fair-rate", "0", "--capture", cap, "-o", "/dev/null"])
    two = '"$0" mp 1 300 & "$0" mp 1 300; wait'
    subprocess.run(["sh", nest, "20", "sh", "-c", two, WORKER], check=True)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    t.communicate(timeout=30)
    files = [cap]
    c = Cluster(D)
    c.start_all()
    try:
        ship(c, files, "--batch", "64")
        for fmt in (["-f", "json"], ["-f", "json", "--ancestors", "all"],
                    ["-f", "ocsf", "--detect"], ["-f", "table"]):
            want = subprocess.run([MPTRACE, "replay"] + fmt + files, capture_output=True)
            got = subprocess.run([MPTRACE, "replay", "--nats", c.urls()] + fmt,
                                 capture_output=True)
            if got.returncode or got.stdout != want.stdout:
                fail("batches %s: %d of %d lines the same; %s" %
                     (fmt, len(set(got.stdout.splitlines()) & set(want.stdout.splitlines())),
                      len(want.stdout.splitlines()), got.stderr.decode()[-1000:]))
        host = re.sub(r"[.*> \t]", "_", socket.gethostname())
        m = js_request(c.port(0), "$JS.API.STREAM.MSG.GET.MPTRACE",
                       json.dumps({"last_by_subj": "mptrace.%s.batch" % host}).encode())
        if "message" not in m:
            fail("no batch in the stream: %r" % m)
        m = m["message"]
        entries = unpack_batch(base64.b64decode(m["data"]))
        procs = [e[2] for e in entries if e[0] == 3]
        events = [e for e in entries if e[0] == 1]
        ids = [(p[0:4], p[16:24]) for p in procs]  # host tgid, start
        if len(ids) != len(set(ids)) or len(procs) < 18 or not events:
            fail("a batch of %d events holds %d process records, %d distinct (each once, "
                 "self and 16 ancestors and the next at least)" %
                 (len(events), len(procs), len(set(ids))))
        # an event is the capture's own record: its 18 processes are not inside it
        big = max(len(e[2]) for e in events)
        if big > sum(len(p) for p in procs):
            fail("an event of %d bytes in a batch: its processes carried inside it" % big)
        # one event a message stands alone: its body is the complete line, ancestors inline
        os.unlink(os.path.join(D, "ship.state"))
        ship(c, files, "--stream", "ONE", "--subject", "one.x")
        want = subprocess.run([MPTRACE, "replay", "-f", "json", "--ancestors", "all"] + files,
                              capture_output=True).stdout.splitlines()
        last = js_request(c.port(0), "$JS.API.STREAM.INFO.ONE", b"")["state"]["last_seq"]
        bodies = [base64.b64decode(js_request(c.port(0), "$JS.API.STREAM.MSG.GET.ONE",
                                              json.dumps({"seq": q}).encode())["message"]
                                   ["data"]) for q in range(1, last + 1)]
        bodies = [b for b in bodies if b'"eventName":"stats"' not in b]
        if bodies != want or len(want) < 600:
            fail("%d message bodies, %d of them the %d lines replay --ancestors all prints" %
                 (len(bodies), len(set(bodies) & set(want)), len(want)))
        print("batch-lineage: a batch of %d events carries %d processes once each; events "
              "of %d bytes at most; %d one-event messages are replay's complete lines" %
              (len(events), len(procs), big, len(bodies)))
    finally:
        c.stop_all()


SCENARIOS = {"node-restart": node_restart, "shipper-killed": shipper_killed,
             "servers-down": servers_down, "stream-full": stream_full,
             "stream-deletes": stream_deletes, "bad-setup": bad_setup,
             "rotated-away": rotated_away, "two-outages": two_outages,
             "tracer-killed": tracer_killed, "stream-damage": stream_damage,
             "new-set": new_set, "new-set-followed": new_set_followed,
             "state-disk-full": state_disk_full, "batch-lineage": batch_lineage,
             "unprivileged": unprivileged, "tls": tls,
             "reordered": reordered, "too-large": too_large,
             "subjects": subjects, "batches": batches,
             "two-outages-batched": lambda: two_outages("--batch", "64")}

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("fleet: needs root (it traces to make its captures)")
        sys.exit(77)
    if not shutil.which("nats-server"):
        fail("nats-server is not installed (scripts/deps.sh test installs it)")
    try:
        SCENARIOS[sys.argv[2]]()
    finally:
        ENV.cleanup()
