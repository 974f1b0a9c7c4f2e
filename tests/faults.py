#!/usr/bin/env python3
"""Fault injection: mptrace under the faults a production host has.

    faults.py BUILD_DIR SCENARIO

Each scenario runs the real binary on the real kernel with a real load (a
private copy of bench/mp_bench, matched by --comm), injects one fault, and
ends by checking the evidence: every capture verifies (or names the damage
a killed writer leaves: exit 5, "not closed"), and the events written plus
the losses counted equal the calls made. Each is bounded to a few seconds.
"""
import glob
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from harness import Env, fail, join_callers, not_process_records, parent_records_kept

ENV = Env(sys.argv[1], "mptrace-faults-")
MPTRACE, D, WORKER, COMM = ENV.mptrace, ENV.dir, ENV.worker, ENV.comm


def start(args, **kw):
    """The faults here are the reader's and the disk's: every call is recorded, none summed
    (--fair-rate 0), so that the load reaches them (test_e2e_live checks the fair shares)."""
    return ENV.start(["--fair-rate", "0"] + args, **kw)


def finish(t, timeout=30):
    _, rest = t.communicate(timeout=timeout)
    return (t.early_err + rest).decode()


def load(calls, n=1, rate=None, wait=True):
    args = [WORKER, "mp", str(n), str(calls)] + ([str(rate)] if rate else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    if not wait:
        return p
    out, _ = p.communicate(timeout=120)
    return int(re.search(r"calls (\d+)", out).group(1))


def summary(err):
    """'mptrace: N events, M dropped ...' -> (N, M, {name: count})"""
    m = re.search(r"mptrace: (\d+) events, (\d+) dropped(.*)", err)
    if not m:
        fail("no summary line in:\n" + err)
    kv = dict((k, int(v)) for k, v in re.findall(r" (\w+)=(\d+)", m.group(3)))
    return int(m.group(1)), int(m.group(2)), kv


def capture_counts(files):
    """Events and lost calls in the capture files, by capture-info."""
    r = subprocess.run([MPTRACE, "capture-info"] + files, capture_output=True, text=True)
    events = sum(int(x) for x in re.findall(r"^events\s+(\d+)", r.stdout, re.M))
    lost = sum(int(x) for x in re.findall(r"^calls lost\s+(\d+)", r.stdout, re.M))
    return events, lost, r


def verify(files, allowed=(0,)):
    r = subprocess.run([MPTRACE, "verify"] + files, capture_output=True, text=True)
    if r.returncode not in allowed:
        fail("verify %s: exit %d\n%s%s" % (files, r.returncode, r.stdout, r.stderr))
    return r


def json_lines(path):
    n = 0
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        fail("%s ends in a torn line" % path)
    for line in data.splitlines():
        ev = json.loads(line)
        n += ev.get("eventName") == "move_pages"
    return n


def mount_tmpfs(path, size):
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                   check=True)


def wait_lines(path, n, timeout=60, pid=None):
    """Until the JSON log @path holds @n lines (of process @pid, when given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        if pid is not None:
            lines = [l for l in lines if b'"hostProcessId":%d,' % pid in l]
        if len(lines) >= n:
            return
        time.sleep(0.05)
    fail("%s: fewer than %d lines after %d s" % (path, n, timeout))


def count_lines(path, pid):
    with open(path, "rb") as f:
        return sum(1 for l in f if b'"hostProcessId":%d,' % pid in l)


def wait_events(path, n, timeout=60):
    """Until the JSON log @path holds @n lines besides its process records."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if len(not_process_records(f.read().splitlines())) >= n:
                return
        time.sleep(0.05)
    fail("%s: fewer than %d events after %d s" % (path, n, timeout))


def wait_err(t, text, timeout=60, times=1):
    """Read the tracer's stderr (kept for finish()) until @text appears (@times times)."""
    deadline = time.monotonic() + timeout
    while t.early_err.count(text.encode()) < times:
        if time.monotonic() > deadline:
            fail("no %r on stderr after %d s:\n%s" % (text, timeout, t.early_err.decode()))
        r, _, _ = select.select([t.stderr], [], [], 0.1)
        if r:
            chunk = os.read(t.stderr.fileno(), 4096)
            if not chunk:
                fail("mptrace exited:\n" + t.early_err.decode())
            t.early_err += chunk


def fill(path):
    """Take every byte the file system has left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    os.close(fd)


def enospc():
    """A full disk under the capture: tracing goes on, the file stays whole.

    The disk is filled by the test, not by the load, and only once the tracer
    has written all it had: one outage, with nothing of the tracer's in
    flight that a cut-back block could free, ended by the test alone."""
    small = os.path.join(D, "small")
    mount_tmpfs(small, "4m")
    try:
        cap, log = os.path.join(small, "t.mpcap"), os.path.join(D, "t.json")
        t = start(["--capture", cap, "-f", "json", "-o", log])
        made = load(200, n=64)
        wait_lines(log, made)
        time.sleep(3 * 0.2)  # the capture's flush interval, passed: its blocks are written
        # A process that starts while the disk is full and goes on calling after: the
        # block with its process record is lost, so the capture must write it again.
        rest = os.path.join(small, "rest")
        fill(rest)
        during = load(300, n=1, rate=100, wait=False)
        # blocks with its calls in them failed (their flush interval passed after the
        # failure was said); many of its calls are still to come
        wait_err(t, "writing the capture failed")
        wait_lines(log, count_lines(log, during.pid) + 20, pid=during.pid)
        time.sleep(3 * 0.2)
        os.unlink(rest)  # space again: writing resumes, with a drop record
        out, _ = during.communicate(timeout=60)
        made += int(re.search(r"calls (\d+)", out).group(1))
        made += load(200, n=1)
        wait_lines(log, made)
        if t.poll() is not None:
            fail("mptrace exited on a full disk")
        t.send_signal(signal.SIGINT)
        err = finish(t)
        verify([cap])
        events, lost, info = capture_counts([cap])
        if events + lost != made:
            fail("%d calls, the capture holds %d events + %d lost\n%s" %
                 (made, events, lost, info.stdout))
        if lost == 0:
            fail("nothing was lost on a full disk?\n" + err)
        if json_lines(log) != made:
            fail("the log on a disk with room lost events")
        # Each outage said once as it begins and once as it ends, with what it cost: a
        # failed block is cut back, and a smaller one may then fit the room it left, so
        # there may be more than one; together they lost what the capture counts.
        failed = err.count("writing the capture failed")
        ended = [int(n) for n in re.findall(r"works again; (\d+) events were lost", err)]
        if not failed or failed != len(ended) or sum(ended) != lost:
            fail("%d outages begun, %d ended losing %d, for %d lost in the capture:\n%s" %
                 (failed, len(ended), sum(ended), lost, err))
        if t.returncode == 0:
            fail("events lost to the capture, yet exit 0")
        # what the capture kept replays as live printed it, lineage too
        r = subprocess.run([MPTRACE, "replay", "-f", "json", cap], capture_output=True)
        with open(log, "rb") as f:
            live = set(f.read().splitlines())
        replayed = [l for l in r.stdout.splitlines() if json.loads(l).get("eventName") ==
                    "move_pages"]
        if len(replayed) != events:
            fail("replay printed %d of the capture's %d events" % (len(replayed), events))
        differ = [l for l in replayed if l not in live]
        if differ:
            fail("%d replayed events differ from live, e.g.:\n%s" %
                 (len(differ), differ[0].decode()))
        after = [e for e in join_callers([json.loads(l) for l in r.stdout.splitlines()])
                 if e.get("eventName") == "move_pages" and e["hostProcessId"] == during.pid]
        if not after or len(after) == 300 or not after[-1]["commandLine"]:
            fail("the process that began during the outage: %d of its 300 events kept, "
                 "and those need its lineage" % len(after))
        print("enospc: %d calls, %d in the capture, %d counted lost, verify intact, "
              "replay = live (%d of 300 events of a process begun in the outage)" %
              (made, events, lost, len(after)))
    finally:
        subprocess.run(["umount", "-l", small])


def fsize():
    """RLIMIT_FSIZE hit, then lifted: later records still pass their checksums, the log
    keeps whole lines and counts every line it lost, and replay says the limit."""
    cap, log = os.path.join(D, "f.mpcap"), os.path.join(D, "f.json")
    t = start(["--capture", cap, "-f", "json", "-o", log])
    resource.prlimit(t.pid, resource.RLIMIT_FSIZE, (200 << 10, resource.RLIM_INFINITY))
    made = load(800, n=64)
    # lifted only once a write hit it, however busy the host
    wait_err(t, "writing the capture failed")
    resource.prlimit(t.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    made += load(300, n=64)
    wait_err(t, "works again")
    t.send_signal(signal.SIGINT)
    err = finish(t)
    verify([cap])
    events, lost, _ = capture_counts([cap])
    if events + lost != made or not lost:
        fail("%d calls, %d events + %d lost\n%s" % (made, events, lost, err))
    logged, out_lost = json_lines(log), summary(err)[2].get("output_lost", 0)
    if logged + out_lost != made or not out_lost or t.returncode == 0:
        fail("%d calls, the log holds %d and %d were counted lost (exit %d)\n%s" %
             (made, logged, out_lost, t.returncode, err))
    # replay to a file: the bytes of a pipe, and a file size limit said, not a core dump
    piped = subprocess.run([MPTRACE, "replay", "-f", "json", cap], capture_output=True,
                           check=True).stdout
    out = os.path.join(D, "f.replay")

    def replay_to_file(limit=None):
        r = subprocess.run([MPTRACE, "replay", "-f", "json", cap, "-o", out],
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=limit and (lambda: resource.setrlimit(
                               resource.RLIMIT_FSIZE, (limit, limit))))
        with open(out, "rb") as f:
            return r, f.read()

    r, written = replay_to_file()
    if r.returncode or written != piped:
        fail("replay -o: exit %d, %d bytes, a pipe got %d" %
             (r.returncode, len(written), len(piped)))
    r, written = replay_to_file(64 << 10)
    if r.returncode != 1 or "writing the replay failed: File too large" not in r.stderr or \
            not piped.startswith(written):
        fail("replay -o past a 64 KiB limit: exit %d %r" % (r.returncode, r.stderr))
    print("fsize: %d calls, %d written, %d lost while the limit held, verify intact; "
          "the log %d whole lines, %d counted lost; replay -o = a pipe, its limit said" %
          (made, events, lost, logged, out_lost))


def stalled_pipe():
    """A reader that never reads: the stop is not held, every call is accounted for."""
    r, w = os.pipe()
    log = os.path.join(D, "beside.json")
    t = start(["-f", "json", "-o", "-", "-o", log, "--stats-interval", "60"], stdout=w)
    os.close(w)
    made = load(30000, n=8)
    time.sleep(0.3)
    t0 = time.monotonic()
    t.send_signal(signal.SIGINT)
    err = finish(t)
    took = time.monotonic() - t0
    os.close(r)
    events, dropped, kv = summary(err)
    if events + dropped != made:
        fail("%d calls, %d events + %d dropped\n%s" % (made, events, dropped, err))
    if not kv.get("output_lost"):
        fail("a reader that takes nothing, yet nothing lost?\n" + err)
    # the final stats record keeps the same books as the summary line
    final = [json.loads(l) for l in open(log) if b'"final":true' in l.encode()]
    if len(final) != 1:
        fail("%d final stats records in %s" % (len(final), log))
    lost = sum(v for k, v in final[0]["dropped"].items() if k != "capture")
    if (final[0]["eventsEmitted"], lost) != (events, dropped):
        fail("the final stats record says %d written + %d lost, the summary %d + %d" %
             (final[0]["eventsEmitted"], lost, events, dropped))
    # the stop waits 500 ms for the reader; 2 s is far past any reason
    if took > 2:
        fail("SIGINT with a stalled reader took %.1f s" % took)
    print("stalled-pipe: %d calls = %d written + %d lost; stopped %.2f s after SIGINT" %
          (made, events, dropped, took))

    # | head -1: the reader goes while calls go on; the stop counts no phantom losses
    r, w = os.pipe()
    t = start(["-f", "json"], stdout=w)
    os.close(w)
    p = load(10**8, n=1, wait=False)
    with os.fdopen(r, "rb") as reader:
        reader.readline()
    err = finish(t)
    p.kill()
    p.wait()
    events, dropped, kv = summary(err)
    if kv.get("no_entry"):
        fail("calls after the stop counted as lost entries:\n" + err)
    if t.returncode != 0:
        fail("a reader that went away is how a pipeline ends: exit %d" % t.returncode)
    print("head -1: stopped when the reader went, no_entry=0, exit 0")


def sigstop():
    """A stopped reader: the ring fills, the kernel counts; nothing vanishes."""
    cap = os.path.join(D, "s.mpcap")
    t = start(["--capture", cap, "-o", "/dev/null", "--ringbuf-mb", "1"])
    # Stopped before the load starts, for 2 s: on a fast day 60,000 calls take
    # under 0.2 s, so a stop after a delay could miss them all. Whatever part
    # of the load runs meanwhile (up to 41 MB of records) overflows the 1 MB ring.
    t.send_signal(signal.SIGSTOP)
    p = load(60000, n=32, wait=False)
    time.sleep(2)
    t.send_signal(signal.SIGCONT)
    out, _ = p.communicate(timeout=120)
    made = int(re.search(r"calls (\d+)", out).group(1))
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    events, dropped, kv = summary(err)
    if events + dropped != made:
        fail("%d calls, %d events + %d dropped\n%s" % (made, events, dropped, err))
    if not kv.get("ringbuf_full"):
        fail("the ring never filled while the reader was stopped:\n" + err)
    verify([cap])
    cev, clost, _ = capture_counts([cap])
    if cev + clost != made:
        fail("capture: %d events + %d lost for %d calls" % (cev, clost, made))
    print("sigstop: %d calls = %d written + %d lost (%s); capture agrees" %
          (made, events, dropped, ", ".join("%s=%d" % kv_ for kv_ in kv.items() if kv_[1])))


def stop_backlog():
    """SIGINT with a ring full of records behind a slow format: stopped within about a
    second, whatever is left counted (unread_at_stop), every call accounted for."""
    log = os.path.join(D, "backlog.ocsf")
    t = start(["-f", "ocsf", "--detect", "--ringbuf-mb", "256", "-o", log])
    t.send_signal(signal.SIGSTOP)
    made = load(200000)  # ~4 s of reading here, held in the ring
    t.send_signal(signal.SIGCONT)
    t0 = time.monotonic()
    t.send_signal(signal.SIGINT)
    err = finish(t)
    took = time.monotonic() - t0
    events, dropped, kv = summary(err)
    if events + dropped != made:
        fail("%d calls, %d events + %d dropped\n%s" % (made, events, dropped, err))
    if not kv.get("unread_at_stop"):
        fail("a backlog of %d records read whole at the stop?\n%s" % (made, err))
    # the stop spends about a second by design; 2.5 s leaves a busy machine room
    if took > 2.5:
        fail("SIGINT with a backlog took %.1f s" % took)
    print("stop-backlog: %d calls = %d written + %d lost (%d unread at the stop); stopped "
          "%.2f s after SIGINT" % (made, events, dropped, kv["unread_at_stop"], took))


def rotate_fails():
    """A log whose rotation keeps failing (FILE.1 is a directory): said once, tried again,
    the file bounded at twice --log-size with the rest counted; then it works again."""
    log = os.path.join(D, "r.json")
    block = log + ".1"
    os.makedirs(os.path.join(block, "keep"))
    t = start(["-f", "json", "-o", log, "--log-size", "1", "--log-files", "2"])
    made = load(6000)  # ~12 MB of JSON at ~2 KB a line
    wait_err(t, "rotating %s failed" % log)
    # at the bound, where lines start to be counted, however busy the host
    deadline = time.monotonic() + 60
    while os.path.getsize(log) < 2 << 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # a retry falls due, and fails again, unsaid
    size = os.path.getsize(log)
    shutil.rmtree(block)
    time.sleep(1.2)
    made += load(10)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    events, dropped, kv = summary(err)
    if events + dropped != made or not kv.get("output_lost"):
        fail("%d calls, %d events + %d dropped\n%s" % (made, events, dropped, err))
    if err.count("rotating %s failed" % log) != 1 or "rotating %s works again" % log not in err:
        fail("not one message for the outage and one for its end:\n" + err)
    # twice --log-size, and what one write may add past it
    if size > (2 << 20) + (256 << 10):
        fail("the log grew to %d bytes while its rotation failed" % size)
    if not os.path.isfile(block):
        fail("no rotation once it could work again")
    print("rotate-fails: said once; the log stopped at %d KB; %d of %d calls counted lost; "
          "rotated once it could" % (size >> 10, kv["output_lost"], made))


def reopen_fails():
    """SIGHUP when the log's directory is gone: said, tried again every second, and once
    the directory is back the lines go there; nothing lost on the way."""
    sub = os.path.join(D, "logs")
    os.makedirs(sub)
    log = os.path.join(sub, "h.json")
    t = start(["-f", "json", "-o", log])
    made = load(50)
    wait_lines(log, made)
    os.rename(sub, sub + ".moved")  # logrotate-like, but the directory itself went
    t.send_signal(signal.SIGHUP)
    wait_err(t, "reopening %s failed" % log)
    after = load(50)
    time.sleep(0.3)
    os.makedirs(sub)
    wait_err(t, "opening %s works again" % log)
    wait_lines(log, after)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    moved = os.path.join(sub + ".moved", "h.json")
    kept = json_lines(moved) + json_lines(log)
    events, dropped, _ = summary(err)
    if (kept, events, dropped) != (made + after, made + after, 0):
        fail("%d calls: %d lines kept, %d events, %d dropped\n%s" %
             (made + after, kept, events, dropped, err))
    print("reopen-fails: the reopen failed, was tried again, and all %d lines are kept" % kept)


def sigkill():
    """Killed at random points, restarted onto the set: every file verifies or names
    its torn tail, the set stays one chain, and what was flushed is all there."""
    rnd = random.Random(int(os.environ.get("MPT_FAULT_SEED", "12")))
    cap = os.path.join(D, "k.mpcap")
    trials = int(os.environ.get("MPT_FAULT_TRIALS", "8"))
    made = 0
    for i in range(trials):
        t = start(["--capture", cap, "--capture-size", "1", "-o", "/dev/null"])
        p = load(4000, n=32, rate=20000, wait=False)
        time.sleep(rnd.uniform(0.05, 0.6))
        t.kill()
        t.wait()
        out, _ = p.communicate(timeout=60)
        made += int(re.search(r"calls (\d+)", out).group(1))
    # and one clean run at the end of the set
    t = start(["--capture", cap, "--capture-size", "1", "-o", "/dev/null"])
    made += load(100)
    time.sleep(0.3)
    t.send_signal(signal.SIGINT)
    finish(t)
    files = sorted(glob.glob(cap + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
    r = verify(files, allowed=(0, 5))
    torn = r.stdout.count("NOT intact")
    for line in r.stderr.splitlines():
        if "not closed" not in line and "torn tail" not in line:
            fail("a killed writer left damage other than an unclosed tail: " + line)
    if "set of files is NOT" in r.stdout:
        fail("restarts broke the set's chain:\n" + r.stderr)
    events, lost, _ = capture_counts(files)
    if events > made or events == 0:
        fail("%d events in the captures of %d calls" % (events, made))
    print("sigkill: %d kills, %d files (%d not closed), %d of %d calls kept, set chained" %
          (trials, len(files), torn, events, made))


def restart_and_second_writer():
    """A restart never rewrites; a second writer is refused and harms nothing."""
    single = os.path.join(D, "one.mpcap")
    t = start(["--capture", single, "-o", "/dev/null"])
    made = load(100)
    time.sleep(0.3)
    second = subprocess.run([MPTRACE, "--comm", COMM, "--capture", single, "-d", "0.2"],
                            capture_output=True, text=True)
    if second.returncode == 0 or "already exists" not in second.stderr:
        fail("a second writer on a single capture: %d %s" % (second.returncode, second.stderr))
    t.send_signal(signal.SIGINT)
    finish(t)
    verify([single])
    if capture_counts([single])[0] != made:
        fail("the first writer's capture lost events")
    again = subprocess.run([MPTRACE, "--comm", COMM, "--capture", single, "-d", "0.2"],
                           capture_output=True, text=True)
    if again.returncode == 0 or capture_counts([single])[0] != made:
        fail("a restart onto a single capture rewrote it")

    ring = os.path.join(D, "ring.mpcap")
    t = start(["--capture", ring, "--capture-size", "1", "-o", "/dev/null"])
    made = load(300)
    second = subprocess.run([MPTRACE, "--comm", COMM, "--capture", ring, "--capture-size",
                             "1", "-d", "0.2"], capture_output=True, text=True)
    if second.returncode == 0 or "being written by another mptrace" not in second.stderr:
        fail("a second writer on a set: %d %s" % (second.returncode, second.stderr))
    # the lock file deleted under the first writer: the file it writes is locked too
    os.unlink(os.path.join(D, ".ring.mpcap.lock"))
    second = subprocess.run([MPTRACE, "--comm", COMM, "--capture", ring, "--capture-size",
                             "1", "-d", "0.2"], capture_output=True, text=True)
    if second.returncode == 0 or "being written by another mptrace" not in second.stderr:
        fail("a second writer once the lock file was deleted: %d %s" %
             (second.returncode, second.stderr))
    t.send_signal(signal.SIGINT)
    finish(t)
    t = start(["--capture", ring, "--capture-size", "1", "-o", "/dev/null"])
    made += load(200)
    time.sleep(0.3)
    t.send_signal(signal.SIGINT)
    finish(t)
    files = sorted(glob.glob(ring + ".*"))
    verify(files)
    if len(files) != 2 or capture_counts(files)[0] != made:
        fail("a restart did not continue the set: %s" % files)
    print("restart: single capture refused twice, set continued in %s, second writers "
          "refused" % [os.path.basename(f) for f in files])


def watchdog_and_stop():
    """Under full load: WATCHDOG=1 keeps coming, SIGINT is honoured at once."""
    sock_path = os.path.join(D, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="2000000")
    t = start(["-o", "/dev/null"], env=env)
    # attached: CAP_BPF and CAP_SYS_PTRACE left, in the bounding set too (no way back)
    with open("/proc/%d/status" % t.pid) as f:
        caps = dict(re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", f.read(), re.M))
    want = (1 << 39) | (1 << 19)
    for k in ("CapEff", "CapPrm", "CapBnd"):
        if int(caps[k], 16) != want:
            fail("%s is %s after attach, not CAP_BPF|CAP_SYS_PTRACE" % (k, caps[k]))
    p = load(10**8, n=1, wait=False)  # flat out until stopped
    s.settimeout(0.1)
    beats, end = [], time.monotonic() + 4
    while time.monotonic() < end:
        try:
            if b"WATCHDOG=1" in s.recv(4096):
                beats.append(time.monotonic())
        except socket.timeout:
            pass
    t0 = time.monotonic()
    t.send_signal(signal.SIGINT)
    finish(t)
    took = time.monotonic() - t0
    p.kill()
    p.wait()
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    # systemd kills a service silent for WatchdogSec (2 s here)
    if len(beats) < 3 or max(gaps) >= 2:
        fail("watchdog beats under load: %d, gaps %s" % (len(beats), gaps))
    if took > 1.5:
        fail("SIGINT under full load honoured after %.2f s" % took)
    print("watchdog: %d beats in 4 s under load, longest gap %.2f s; stop after %.2f s" %
          (len(beats), max(gaps), took))


def bad_inputs():
    """Directories, FIFOs, devices and huge files: one line, an exit code, no hang."""
    fifo = os.path.join(D, "fifo")
    os.mkfifo(fifo)
    cases = [(["--config", D], "a directory"), (["--config", "/dev/zero"], "a device"),
             (["--config", fifo], "a FIFO"), (["replay", fifo], "a FIFO"),
             (["verify", "/dev/zero"], "a device"), (["capture-info", D], "a directory")]
    for args, why in cases:
        r = subprocess.run([MPTRACE] + args, capture_output=True, text=True, timeout=10)
        lines = r.stderr.strip().splitlines()
        if r.returncode == 0 or not lines or why not in lines[0]:
            fail("%s: exit %d, %r" % (args, r.returncode, r.stderr))
    big = os.path.join(D, "big.conf")
    with open(big, "w") as f:
        f.write("# padding\n" * 200000)
    r = subprocess.run([MPTRACE, "--config", big], capture_output=True, text=True, timeout=10)
    if r.returncode == 0 or "at most" not in r.stderr:
        fail("a 2 MB config: %d %r" % (r.returncode, r.stderr))
    # output that cannot be written is a failure, not a silent success
    cap = os.path.join(D, "b.mpcap")
    t = start(["--capture", cap, "-o", "/dev/null"])
    load(10)
    t.send_signal(signal.SIGINT)
    finish(t)
    with open("/dev/full", "w") as full:
        for args in (["verify", cap], ["capture-info", cap], ["probe"]):
            r = subprocess.run([MPTRACE] + args, stdout=full, stderr=subprocess.PIPE,
                               timeout=30, text=True)
            if r.returncode == 0 or "No space left" not in r.stderr:
                fail("%s > /dev/full: exit %d %r" % (args, r.returncode, r.stderr))
    # a device that refuses every write: one message for the outage, every event counted
    t = start(["-o", "/dev/full"])
    made = load(2000)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    if err.count("writing to /dev/full failed") != 1 or "/dev/full works again" in err:
        fail("-o /dev/full: not one message for one outage:\n" + err)
    if summary(err)[2].get("output_lost") != made or t.returncode == 0:
        fail("-o /dev/full: %d calls, not all counted as lost (exit %d):\n%s" %
             (made, t.returncode, err))
    # -o on the command line replaces the config file's output
    conf, from_conf, from_cli = (os.path.join(D, n) for n in ("c.conf", "conf.json", "cli.json"))
    with open(conf, "w") as f:
        f.write("output = %s\nformat = json\n" % from_conf)
    t = start(["--config", conf, "-o", from_cli])
    made = load(10)
    time.sleep(0.4)
    t.send_signal(signal.SIGINT)
    finish(t)
    if os.path.exists(from_conf) or json_lines(from_cli) != made:
        fail("-o did not replace the config's output")
    # a capture that cannot be made leaves no empty log behind
    r = subprocess.run([MPTRACE, "--comm", COMM, "--capture", cap, "-o", from_conf, "-d", "1"],
                       capture_output=True, text=True)
    if r.returncode == 0 or os.path.exists(from_conf):
        fail("a refused capture left its log behind: %d %r" % (r.returncode, r.stderr))
    print("bad-inputs: %d refused in one line each; writes to /dev/full fail; -o /dev/full "
          "said once; -o replaces the config's output" % (len(cases) + 1))


def clock_step():
    """The wall clock steps forward and back mid-trace: times follow it, live and replayed."""
    cap, log = os.path.join(D, "c.mpcap"), os.path.join(D, "c.json")
    t = start(["--capture", cap, "-f", "json", "-o", log])
    load(20)
    wait_events(log, 20)  # formatted before the step, however busy the host
    step = 1000.0
    mono = time.clock_gettime(time.CLOCK_MONOTONIC)
    real = time.clock_gettime(time.CLOCK_REALTIME)
    try:
        time.clock_settime(time.CLOCK_REALTIME, real + step)
        wait_err(t, "the wall clock stepped")  # its 200 ms timer noticed
        load(20)
        wait_events(log, 40)
    finally:
        # back to where the clock would be had it not stepped
        now = time.clock_gettime(time.CLOCK_MONOTONIC)
        time.clock_settime(time.CLOCK_REALTIME, real + (now - mono))
    wait_err(t, "the wall clock stepped", times=2)
    load(20)
    wait_events(log, 60)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    if err.count("the wall clock stepped") != 2:
        fail("two steps, not two messages:\n" + err)
    stamps = [json.loads(line)["timestamp"] for line in not_process_records(open(log))]
    if len(stamps) != 60:
        fail("%d events of 60" % len(stamps))
    jump = (stamps[20] - stamps[19]) / 1e9
    if not step - 5 < jump < step + 5 or not -step - 5 < (stamps[40] - stamps[39]) / 1e9 < 0:
        fail("times did not follow the clock: %s" % stamps[18:22] + stamps[38:42])
    r = subprocess.run([MPTRACE, "replay", "-f", "json", cap], capture_output=True)
    if r.returncode != 0 or r.stdout != open(log, "rb").read():
        fail("the replay differs from the live output across clock steps")
    print("clock: stepped +%.0f s and back; live times followed, replay byte-identical" % step)


def records_lost():
    """Lines a stalled reader lost took process records with them: the lines written once
    it reads again name no process whose record is missing.

    Nobody reads the pipe until its queue is full, so the lines of a shell begun then are
    dropped, the one with the shell's record first (it is the longest). Only then does the
    test read, and once the queue has room again the shell's second child calls."""
    r, w = os.pipe()
    beside = os.path.join(D, "beside.json")
    t = start(["-f", "json", "-o", "-", "-o", beside, "--stats-interval", "60"], stdout=w)
    os.close(w)
    load(30000, n=8)
    wait_err(t, "is not reading")
    go = os.path.join(D, "go")
    sh = subprocess.Popen(["sh", "-c", '"$0" mp 1 50; while [ ! -e "$1" ]; do sleep 0.02; done;'
                           ' "$0" mp 1 50', WORKER, go], stdout=subprocess.DEVNULL)

    def children_lines(n):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(beside, "rb") as f:
                got = [l for l in f if b'"hostParentProcessId":%d,' % sh.pid in l]
            if len(got) >= n:
                return
            time.sleep(0.05)
        fail("%s: fewer than %d lines of the shell's children" % (beside, n))

    # the first child's 50 lines were all handed to both outputs: the pipe's queue was full
    children_lines(50)
    out = bytearray()
    reader = threading.Thread(target=read_all, args=(r, out), daemon=True)
    reader.start()
    # the queue half empty again, as the tracer says: the second child's 50 lines fit
    wait_err(t, "writing to stdout works again")
    open(go, "w").close()
    sh.wait(timeout=60)
    children_lines(100)
    # the queue drains 64 KiB (a pipe's room) each 10 ms pass while nothing else comes
    deadline = time.monotonic() + 60
    mark = b'"hostParentProcessId":%d,' % sh.pid
    while out.count(mark) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    t.send_signal(signal.SIGINT)
    err = finish(t)
    reader.join(30)
    os.close(r)
    lines = out.splitlines()
    second = [l for l in lines if b'"hostParentProcessId":%d,' % sh.pid in l]
    _, dropped, kv = summary(err)
    if not kv.get("output_lost"):
        fail("a full queue, yet nothing lost?\n" + err)
    if len(second) < 50:
        fail("%d lines of the shell's children once the pipe was read, not 50 or more" %
             len(second))
    cut = parent_records_kept(lines, "the pipe")
    parent_records_kept(open(beside, "rb").read().splitlines(), beside)
    print("records-lost: %d lines lost to a full queue; after it, %d lines of the shell's "
          "children, and all %d cut lines have their parent's record before them" %
          (kv["output_lost"], len(second), cut))


def read_all(fd, out):
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        out.extend(chunk)


SCENARIOS = {"enospc": enospc, "fsize": fsize, "stalled-pipe": stalled_pipe,
             "records-lost": records_lost,
             "sigstop": sigstop, "stop-backlog": stop_backlog, "rotate-fails": rotate_fails,
             "reopen-fails": reopen_fails,
             "sigkill": sigkill, "restart": restart_and_second_writer,
             "watchdog": watchdog_and_stop, "bad-inputs": bad_inputs, "clock": clock_step}

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("faults: needs root (BPF, tmpfs)")
        sys.exit(77)
    try:
        SCENARIOS[sys.argv[2]]()
    finally:
        ENV.cleanup()
