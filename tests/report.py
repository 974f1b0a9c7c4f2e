#!/usr/bin/env python3
"""The forensic report, for real: a traced workload with a cross-process call,
failures, a detection and a gap, its capture made into a page, the page
rendered by headless Chromium, its DOM and a screenshot checked; the same
summary as JSON checked field by field; a damaged capture shown as damaged.

    report.py BUILD_DIR
"""
import calendar
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from harness import Env, fail, wait_ready

ENV = Env(sys.argv[1], "mptrace-report-")
MPTRACE, D = ENV.mptrace, ENV.dir
LIBC = ctypes.CDLL(None, use_errno=True)
SYS_MOVE_PAGES = 279
PR_SET_NAME = 15
# Comm names: the prober's is hostile HTML, which the page must show as text.
VICTIM, PROBER, FAILER = b"rpt_victim", b"<i>rpt&prober", b"rpt_failer"
PROBES, FAILS = 5, 3


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    fail("chromium is missing (scripts/deps.sh test installs it)")


def set_comm(name):
    LIBC.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def move_pages(pid, addr, flags=0, node=None):
    pages = (ctypes.c_void_p * 1)(addr)
    nodes = (ctypes.c_int * 1)(node) if node is not None else None
    status = (ctypes.c_int * 1)(0)
    return LIBC.syscall(SYS_MOVE_PAGES, pid, 1, pages, nodes, status, flags)


def child(fn):
    """fn() in a forked child that exits with its status; the pid."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(fn())
        except BaseException:
            os._exit(99)
    return pid


def reap(pid):
    _, st = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(st):
        fail("a workload process failed: %d" % os.waitstatus_to_exitcode(st))


def workload():
    """The victim (one call of its own), the prober (PROBES moves of the victim's
    page to node 0, where it is: MPT-1), the failer (FAILS calls with invalid flags: EINVAL). The pids."""
    buf = ctypes.create_string_buffer(4096 * 2)
    addr = (ctypes.addressof(buf) + 4095) & ~4095
    ctypes.memset(addr, 1, 1)
    r, w = os.pipe()

    def victim():
        set_comm(VICTIM)
        ok = move_pages(0, addr) == 0
        os.close(w)
        os.read(r, 1)  # until the prober is done
        return 0 if ok else 1

    v = child(victim)

    def prober():
        set_comm(PROBER)
        return 0 if all(move_pages(v, addr, node=0) == 0 for _ in range(PROBES)) else 2

    def failer():
        set_comm(FAILER)
        return 0 if all(move_pages(0, addr, 0x10) == -1 for _ in range(FAILS)) else 3

    time.sleep(0.2)
    p = child(prober)
    reap(p)
    f = child(failer)
    reap(f)
    os.close(r)
    os.close(w)
    reap(v)
    return v, p, f


def trace(cap):
    """Trace the workload, then a burst while the reader is stopped: a gap."""
    comms = [VICTIM, PROBER, FAILER]
    args = [MPTRACE, "--comm", ENV.comm, "--fair-rate", "0", "--ringbuf-mb", "1",
            "--capture", cap, "-o", "/dev/null"]
    for c in comms:
        args += ["--comm", c.decode()[:15]]
    t = subprocess.Popen(args, stderr=subprocess.PIPE)
    ENV.procs.append(t)
    wait_ready(t)
    pids = workload()
    t.send_signal(signal.SIGSTOP)
    burst = subprocess.Popen([ENV.worker, "mp", "32", "60000"], stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    t.send_signal(signal.SIGCONT)
    burst.communicate(timeout=120)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    _, err = t.communicate(timeout=60)
    if t.returncode:
        fail("mptrace exit %d: %s" % (t.returncode, err.decode()))
    if b"ringbuf_full=0" in err:
        fail("no gap: the ring never filled while the reader was stopped:\n" + err.decode())
    return pids


def report(args, want_rc=0):
    r = subprocess.run([MPTRACE, "report"] + args, capture_output=True, text=True, timeout=120)
    if r.returncode != want_rc:
        fail("report %s: exit %d, not %d\n%s" % (args, r.returncode, want_rc, r.stderr))
    return r


def by_name(summary, comm):
    found = [p for p in summary["processes"] if p["processName"] == comm.decode()[:15]]
    if len(found) != 1:
        fail("%d processes named %s in %s" % (len(found), comm, summary["processes"]))
    return found[0]


def check_json(path, pids, cap):
    v, p, f = pids
    with open(path) as fh:
        s = json.load(fh)
    prober, victim, failer = by_name(s, PROBER), by_name(s, VICTIM), by_name(s, FAILER)
    want = [(prober, p, PROBES, 0, [v]), (victim, v, 1, 0, []), (failer, f, FAILS, FAILS, [])]
    for proc, pid, calls, failed, targets in want:
        got = (proc["hostProcessId"], proc["calls"], proc["failed"], proc["targets"])
        if got != (pid, calls, failed, targets):
            fail("process %s: %s, not %s" % (proc["processName"], got,
                                             (pid, calls, failed, targets)))
    if not prober["executable"].endswith("python3") and "python" not in prober["executable"]:
        fail("prober's executable: %r" % prober["executable"])
    tgt = [t for t in s["targets"] if t["pid"] == v]
    if len(tgt) != 1 or tgt[0]["calls"] != PROBES or tgt[0]["callers"] != 1 or \
            tgt[0].get("hostProcessId") != v:
        fail("target %d: %s" % (v, s["targets"]))
    mpt1 = [d for d in s["detections"] if d["rule"] == "MPT-1"]
    if not mpt1 or mpt1[0]["hits"][0]["hostProcessId"] != p:
        fail("MPT-1 by the prober: %s" % s["detections"])
    if "move_pages(%d, 1, [" % v not in mpt1[0]["hits"][0]["call"]:
        fail("MPT-1's triggering call: %r" % mpt1[0]["hits"][0]["call"])
    if not s["lost"] or not s["lostByCause"].get("ringbuf_full") or not s["losses"]:
        fail("the gap: lost %d, %s" % (s["lost"], s["lostByCause"]))
    if s["shown"] != s["events"] or not s["whole"] or s["setBroken"]:
        fail("counts and verdict: %s" % {k: s[k] for k in ("events", "shown", "whole")})
    if sum(x["calls"] for x in s["processes"]) != s["shown"]:
        fail("processes' calls do not add up to the events shown")
    src = s["sources"]
    if len(src) != 1 or not src[0]["intact"] or src[0]["attachMode"] != "tracepoint" or \
            not re.fullmatch(r"[0-9a-f]{64}", src[0]["chainHead"]):
        fail("sources: %s" % src)
    ver = subprocess.run([MPTRACE, "verify", cap], capture_output=True, text=True)
    if src[0]["chainHead"] not in ver.stdout:
        fail("chain head %s is not verify's: %s" % (src[0]["chainHead"], ver.stdout))
    lanes = s["timeline"]["lanes"]
    if sum(sum(l["calls"]) for l in lanes) != s["shown"]:
        fail("the timeline's bins do not add up to the events shown")
    return s


def render(html, png):
    """The page in headless Chromium: its DOM after load, and a screenshot."""
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + os.path.join(D, "chromium"), "--window-size=1200,1400"]
    dom = subprocess.run(base + ["--dump-dom", "file://" + html], capture_output=True,
                         text=True, timeout=120)
    if dom.returncode or "<svg" not in dom.stdout:
        fail("chromium --dump-dom: exit %d\n%s" % (dom.returncode, dom.stderr[-2000:]))
    shot = subprocess.run(base + ["--screenshot=" + png, "file://" + html],
                          capture_output=True, text=True, timeout=120)
    if shot.returncode or not os.path.exists(png):
        fail("chromium --screenshot: exit %d\n%s" % (shot.returncode, shot.stderr[-2000:]))
    return dom.stdout


def check_dom(dom, pids, s):
    v, p, f = pids
    prober = by_name(s, PROBER)
    row = re.search(r'<tr class="proc" data-pid="%d">(.*?)</tr>' % p, dom, re.S)
    if not row or 'data-calls="%d"' % PROBES not in row.group(1):
        fail("the prober's row in the DOM: %s" % (row and row.group(1)))
    if "&lt;i&gt;rpt&amp;prober" not in row.group(1) or "<i>" in row.group(1):
        fail("the prober's hostile name is not shown as text: %s" % row.group(1))
    lane = prober["lane"]
    if 'href="#lane-%d"' % lane not in row.group(1) or 'id="lane-%d"' % lane not in dom:
        fail("the prober's row does not link to its lane %d" % lane)
    for what in ('class="calls"', 'class="failed"', 'class="detection"', 'class="cross"',
                 'class="loss"', 'id="verdict" class="ok"', 'data-rule="MPT-1"',
                 '<tr class="target" data-pid="%d">' % v):
        if what not in dom:
            fail("the page has no %s" % what)
    if re.search(r"<script", dom, re.I):
        fail("the page holds a script element")
    m = re.search(r'<b id="events">(\d+)</b>', dom)
    if not m or int(m.group(1)) != s["shown"]:
        fail("the header's event count: %s, not %d" % (m and m.group(1), s["shown"]))


def check_screenshot(png):
    """Drawn, not just written: the timeline's colours are on the screen."""
    from PIL import Image
    img = Image.open(png).convert("RGB")
    colours = dict((c, n) for n, c in img.getcolors(img.width * img.height))
    want = {"calls": (0x1f, 0x6f, 0xd1), "detection": (0xd0, 0x02, 0x1b),
            "cross-process arrow": (0x7b, 0x2c, 0xbf)}
    counts = {}
    for what, rgb in want.items():
        near = sum(n for c, n in colours.items()
                   if all(abs(c[i] - rgb[i]) <= 12 for i in range(3)))
        if near < 10:
            fail("the screenshot shows no %s (%d pixels near #%02x%02x%02x)" %
                 ((what, near) + rgb))
        counts[what] = near
    print("screenshot: %dx%d, %d colours, pixels %s" %
          (img.width, img.height, len(colours), counts))


def damaged(cap):
    """A capture with a byte changed mid-file: the page says so, the exit status too."""
    bad = os.path.join(D, "bad.mpcap")
    with open(cap, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0xff
    with open(bad, "wb") as fh:
        fh.write(data)
    html, js = os.path.join(D, "bad.html"), os.path.join(D, "bad.json")
    r = report(["-o", html, bad], want_rc=5)
    report(["-f", "json", "-o", js, bad], want_rc=5)
    with open(js) as fh:
        s = json.load(fh)
    if s["whole"] or s["sources"][0]["intact"] or not s["sources"][0]["damage"]:
        fail("a damaged capture reported whole: %s" % s["sources"])
    page = open(html).read()
    if "DAMAGED" not in page or 'id=verdict class=bad' not in page or \
            'class=unverified' not in page:
        fail("the page does not show the damage")
    print("damaged: exit 5, page says: %s" % s["sources"][0]["damage"][:80])


def bad_inputs(cap):
    junk = os.path.join(D, "junk")
    with open(junk, "w") as fh:
        fh.write("not a capture\n")
    for args, rc, says in ((["-o", os.path.join(D, "j.html"), junk], 3, "not an mptrace"),
                           (["-f", "ocsf", cap], 2, "html or json"),
                           (["-n", "3", cap], 2, "no -n"),
                           (["-o", cap, cap], 2, "capture file"),
                           ([], 2, "which capture file"),
                           # a full disk: said once, and the exit status says it failed
                           (["-o", "/dev/full", cap], 1, "No space left on device")):
        r = report(args, want_rc=rc)
        if r.stderr.count(says) != 1 or len(r.stderr.strip().splitlines()) > 2:
            fail("report %s said: %r" % (args, r.stderr))


def epoch_ns(rfc3339):
    """'2026-12-03T01:35:01.450123456Z' -> nanoseconds since the epoch."""
    secs = calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int(rfc3339[20:29])


def time_window(cap, s):
    """--since and --until keep events by their own time, in report and replay alike."""
    last = max(epoch_ns(p["last"]) for p in s["processes"])
    arg = lambda ns: "%d.%09d" % divmod(ns, 10**9)
    at = json.loads(report(["-f", "json", "--since", arg(last), cap]).stdout)
    after = json.loads(report(["-f", "json", "--since", arg(last + 1), cap]).stdout)
    if at["shown"] < 1 or after["shown"] != 0 or after["events"] != s["events"]:
        fail("--since: %d at the last event, %d after it" % (at["shown"], after["shown"]))
    first = min(epoch_ns(p["first"]) for p in s["processes"])
    r = subprocess.run([MPTRACE, "replay", "-f", "json", "--until", arg(first), cap],
                       capture_output=True, text=True)
    if r.returncode or len(r.stdout.splitlines()) < 1 or \
            len(r.stdout.splitlines()) >= s["shown"]:
        fail("replay --until the first event: %d lines\n%s" %
             (len(r.stdout.splitlines()), r.stderr))


def main():
    cap = os.path.join(D, "t.mpcap")
    pids = trace(cap)
    html, js, png = (os.path.join(D, "t." + e) for e in ("html", "json", "png"))
    r = report(["-o", html, cap])
    report(["-f", "json", "-o", js, cap])
    s = check_json(js, pids, cap)
    size = os.path.getsize(html)
    dom = render(html, png)
    check_dom(dom, pids, s)
    check_screenshot(png)
    # replay's filters: one process, every event still read
    one = report(["-f", "json", "--comm", PROBER.decode()[:15], cap]).stdout
    one = json.loads(one)
    if one["shown"] != PROBES or one["events"] != s["events"]:
        fail("--comm: %d of %d shown" % (one["shown"], one["events"]))
    time_window(cap, s)
    damaged(cap)
    bad_inputs(cap)
    keep = os.environ.get("MPTRACE_REPORT_KEEP")
    if keep:
        shutil.copy(html, keep + ".html")
        shutil.copy(png, keep + ".png")
    print("report: %d events, %d lost, %d processes, page %d bytes: %s" %
          (s["shown"], s["lost"], len(s["processes"]), size, r.stderr.strip()))


try:
    main()
finally:
    ENV.cleanup()
