#!/usr/bin/env python3
"""Exceptions silence findings, never events (--exceptions FILE).

    exceptions.py BUILD_DIR

A tracer with --detect runs with an exceptions file; a caller moves the pages
of pid 1 (MPT-1) before and after the file names its executable and a SIGHUP
reloads it. Checked: the event is written every time, the finding only while
no exception covers it, and the metrics count what was silenced; the same
executable copied elsewhere, or deleted before its call, is not covered; a
file that no longer reads keeps the exceptions in force; a replay with the
same file silences the same findings; a malformed file, or one without
--detect, is one line and exit 2 at the start.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

from harness import Env, fail, join_callers, wait_ready

ENV = Env(sys.argv[1], "mptrace-exceptions-")
MPTRACE, D = ENV.mptrace, ENV.dir
PY = os.path.realpath(sys.executable)
PORT = 33000 + os.getpid() % 1000
# move_pages(pid 1, page 0x1000 (not mapped there) to node 0): another process's pages, MPT-1
OTHER = ("import ctypes, os, sys; s = (ctypes.c_int * 1)(); p = (ctypes.c_void_p * 1)(4096); "
         "n = (ctypes.c_int * 1)(0); "
         "[os.unlink(sys.argv[1]) for _ in sys.argv[1:]]; "
         "ctypes.CDLL(None, use_errno=True).syscall(279, 1, 1, p, n, s, 0)")


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def lines(path):
    with open(path) as f:
        return join_callers([json.loads(ln) for ln in f], path)


def wait_stderr(p, text, timeout=30):
    got, end = "", time.monotonic() + timeout
    while text not in got and time.monotonic() < end:
        if select.select([p.stderr], [], [], 0.5)[0]:
            got += os.read(p.stderr.fileno(), 4096).decode()
    if text not in got:
        fail("the tracer did not say %r: %r" % (text, got))
    return got


def call_other(exe=PY, unlink=False):
    """One MPT-1 call by a new process; the events and findings the tracer then wrote."""
    subprocess.run([exe, "-c", OTHER] + ([exe] if unlink else []), check=True)


def settle(out, events):
    """Until the output holds @events move_pages events: (events, MPT-1 findings by exe)."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        recs = lines(out)
        evs = [r for r in recs if r["eventName"] == "move_pages"]
        if len(evs) >= events:
            break
        time.sleep(0.2)
    if len(evs) != events:
        fail("%d move_pages events written, %d expected" % (len(evs), events))
    found = [r["triggeredBy"]["executable"]["path"] for r in recs
             if r["eventName"] == "detection" and r["detection"]["id"] == "MPT-1"]
    return found


def bad_files():
    bad = os.path.join(D, "bad.conf")
    for text, why in (("MPT-1 exe=/usr/sbin/numad\nMPT-42 exe=/x\n", "bad.conf:2: expected a rule"),
                      ("* \n", "bad.conf:1: '*' with no condition"),
                      ("MPT-5 exe=relative\n", "bad.conf:1: exe= takes one absolute path"),
                      ("MPT-5 colour=red\n", "bad.conf:1: unknown condition"),
                      ("MPT-5 user=no-such-user-here\n", "bad.conf:1: user= takes"),
                      ("MPT-5 " + "x" * 5000 + "\n", "bad.conf:1: line too long")):
        write(bad, text)
        out = os.path.join(D, "never.json")
        r = subprocess.run([MPTRACE, "--detect", "--exceptions", bad, "-o", out, "-d", "5"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or len(r.stderr.splitlines()) != 1 or why not in r.stderr:
            fail("exceptions %r: exit %d, %r" % (text[:30], r.returncode, r.stderr))
        if os.path.exists(out):
            fail("exceptions %r: the output was made before the error" % text[:30])
    r = subprocess.run([MPTRACE, "--exceptions", bad, "-d", "1"], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 2 or "needs --detect" not in r.stderr:
        fail("--exceptions without --detect: exit %d, %r" % (r.returncode, r.stderr))
    r = subprocess.run([MPTRACE, "--detect", "--exceptions", os.path.join(D, "none"), "-d", "1"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 2 or "No such file" not in r.stderr:
        fail("a missing exceptions file: exit %d, %r" % (r.returncode, r.stderr))
    print("bad files: one line naming the line, exit 2, nothing made")


def suppressed_metric():
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % PORT, timeout=5) as r:
        text = r.read().decode()
    return [ln for ln in text.splitlines()
            if ln.startswith('mptrace_detections_suppressed_total{rule="MPT-1"}') or
            ln.startswith("mptrace_exceptions ")]


def main():
    bad_files()
    ex = os.path.join(D, "exceptions.conf")
    write(ex, "# nothing of ours yet\nMPT-1 exe=/usr/sbin/numad\n")
    out = os.path.join(D, "events.json")
    cap = os.path.join(D, "t.mpcap")
    t = subprocess.Popen([MPTRACE, "--descendant-of", str(os.getpid()), "--detect",
                          "--exceptions", ex, "-f", "json", "-o", out, "--capture", cap,
                          "--metrics", "127.0.0.1:%d" % PORT], stderr=subprocess.PIPE)
    ENV.procs.append(t)
    wait_ready(t)
    call_other()
    if settle(out, 1) != [PY]:
        fail("no finding before the exception")
    write(ex, "MPT-1 exe=%s user=%d  # our caller, by its executable\n" % (PY, os.getuid()))
    t.send_signal(signal.SIGHUP)
    wait_stderr(t, "exceptions reloaded: 1 in force")
    call_other()
    if settle(out, 2) != [PY]:
        fail("a finding the exception covers was written")
    # the same program elsewhere, or gone from its path before the call: not the file named
    copy = os.path.join(D, "python-copy")
    shutil.copy(PY, copy)
    call_other(copy)
    if settle(out, 3) != [PY, copy]:
        fail("a copy of the excepted executable was silenced")
    write(ex, "MPT-1 exe=%s\n" % copy)
    t.send_signal(signal.SIGHUP)
    wait_stderr(t, "exceptions reloaded: 1 in force")
    call_other(copy, unlink=True)
    found = settle(out, 4)
    if len(found) != 3 or "(deleted)" not in found[2] and found[2] != copy:
        fail("a deleted executable was silenced by its old path: %s" % found)
    # a file that no longer reads: said, and the exceptions before it stay
    write(ex, "MPT-1 exe=%s\n" % PY)
    t.send_signal(signal.SIGHUP)
    wait_stderr(t, "exceptions reloaded: 1 in force")
    write(ex, "MPT-1 exe=%s\nnonsense\n" % PY)
    t.send_signal(signal.SIGHUP)
    wait_stderr(t, "exceptions.conf:2: expected a rule (MPT-1 ... MPT-11, or *) first; the 1 "
                "exceptions read before stay in force")
    call_other()
    if len(settle(out, 5)) != 3:
        fail("the exceptions in force were dropped by a bad reload")
    want = ['mptrace_detections_suppressed_total{rule="MPT-1"} 2', "mptrace_exceptions 1"]
    end = time.monotonic() + 10
    while suppressed_metric() != want and time.monotonic() < end:
        time.sleep(0.2)  # published on the tracer's 200 ms tick
    m = suppressed_metric()
    if m != ['mptrace_detections_suppressed_total{rule="MPT-1"} 2', "mptrace_exceptions 1"]:
        fail("metrics of what was silenced: %s" % m)
    t.send_signal(signal.SIGTERM)
    err = t.communicate(timeout=30)[1].decode()
    if t.returncode != 0 or "2 findings silenced by exceptions" not in err:
        fail("the summary does not count what was silenced: %r" % err)
    # a replay with the same file silences the same calls: those of PY
    write(ex, "MPT-1 exe=%s\n" % PY)
    r = subprocess.run([MPTRACE, "replay", "-f", "json", "--detect", "--exceptions", ex, cap],
                       capture_output=True, text=True, timeout=60)
    recs = join_callers([json.loads(ln) for ln in r.stdout.splitlines()], "replay")
    evs = [x for x in recs if x["eventName"] == "move_pages"]
    found = [x["triggeredBy"]["executable"]["path"] for x in recs
             if x["eventName"] == "detection"]
    if r.returncode or len(evs) != 5 or PY in found or len(found) != 2:
        fail("replay with the exceptions: %d events, findings %s: %s" % (len(evs), found,
                                                                        r.stderr))
    print("exceptions: 5 events written, findings silenced only for %s; copy and deleted "
          "copy not covered; a bad reload kept them; replay alike" % PY)


if __name__ == "__main__":
    try:
        main()
    finally:
        ENV.cleanup()
