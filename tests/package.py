#!/usr/bin/env python3
"""The .deb installs, runs as its unit says, and purges without a trace.

    package.py BUILD_DIR

Builds the package from BUILD_DIR (cpack), installs it with apt-get on this
host, checks every file and what the maintainer scripts made (group,
directories), the installed units (systemd-analyze verify), the man pages
and the bash completion; then starts the daemon
as systemd would start it from the installed units (the unit's ExecStart, the
socket of mptrace.socket passed, NOTIFY_SOCKET), makes real calls and finds
them in the log, the capture and the metrics; stops it (SIGTERM, as systemctl
stop) and purges the package: no file of it, and none of what it wrote, is
left. Skipped (77) where a mptrace package is installed already: it is never
replaced.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import Notify, parent_records_kept, stop

BUILD = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="mptrace-package-")
UNITS = "/usr/lib/systemd/system"
MADE = ["/var/lib/mptrace", "/var/log/mptrace", "/etc/mptrace"]
OURS = []  # set once this test installed the package: only then is it purged at the end


def fail(msg):
    sys.exit("FAIL: " + msg)


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(list(args), **kw)


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "mptrace")
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def build_deb():
    cache = open(os.path.join(BUILD, "CMakeCache.txt")).read()
    if "CMAKE_INSTALL_PREFIX:PATH=/usr\n" not in cache:
        fail("BUILD_DIR is configured for another prefix: the package installs to /usr "
             "(cmake -DCMAKE_INSTALL_PREFIX=/usr, scripts/package.sh)")
    r = run("cpack", "-G", "DEB", "-B", WORK, cwd=BUILD)
    debs = glob.glob(os.path.join(WORK, "mptrace_*.deb"))
    if r.returncode or len(debs) != 1:
        fail("cpack: %s%s" % (r.stdout, r.stderr))
    files = [ln.split()[-1][1:] for ln in run("dpkg-deb", "-c", debs[0]).stdout.splitlines()
             if not ln.startswith("d")]
    return debs[0], files


def check_installed(files):
    for f in files:
        if not os.path.isfile(f):
            fail("%s is not installed" % f)
    if run("getent", "group", "mptrace").returncode:
        fail("the package made no group mptrace")
    units = [os.path.join(UNITS, u) for u in ("mptrace.service", "mptrace.socket",
                                              "mptrace-ship.service")]
    r = run("systemd-analyze", "verify", "--man=no", *units)
    if r.returncode or r.stdout.strip() or r.stderr.strip():
        fail("systemd-analyze verify of the installed units: %s%s" % (r.stdout, r.stderr))
    for d in ("/var/lib/mptrace", "/var/log/mptrace"):
        st = os.stat(d)
        if st.st_mode & 0o777 != 0o750:
            fail("%s has mode %o" % (d, st.st_mode & 0o777))
    for page in ("mptrace", "mptrace-replay", "mptrace-ship"):
        if run("man", "-w", page).stdout.strip() != "/usr/share/man/man8/%s.8.gz" % page:
            fail("man %s is not found" % page)
    # the pages say every option --help says
    text = run("man", "-P", "cat", "mptrace", env=dict(os.environ, MANWIDTH="200")).stdout
    for opt in re.findall(r"--[a-z][a-z-]+", run("/usr/sbin/mptrace", "--help").stdout):
        if opt not in text:
            fail("man mptrace does not name %s" % opt)


def complete(line):
    """What bash completion offers at the end of @line."""
    script = ("source /usr/share/bash-completion/bash_completion\n"
              "source /usr/share/bash-completion/completions/mptrace\n"
              "COMP_LINE=%r; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< \"$COMP_LINE\"\n"
              "[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')\n"
              "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
              "_mptrace mptrace \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
              "printf '%%s\\n' \"${COMPREPLY[@]}\"\n" % line)
    return sorted(run("bash", "-c", script, env=dict(os.environ, PATH="/usr/sbin:/usr/bin:"
                                                      "/sbin:/bin")).stdout.split())


def check_completion():
    for line, want in (("mptrace rep", ["replay", "report"]),
                       ("mptrace --metr", ["--metrics="]),
                       ("mptrace --exce", ["--exceptions="]),
                       ("mptrace replay --fo", ["--follow", "--format="]),
                       ("mptrace -f ", ["html", "json", "ocsf", "table"]),
                       ("mptrace --event m", ["migrate_pages", "move_pages"])):
        got = complete(line)
        if got != want:
            fail("completing %r: %s, expected %s" % (line, got, want))


def unit_value(unit, key):
    with open(os.path.join(UNITS, unit)) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^%s=(.*)$" % key, text, re.M)
    return m.group(1).split() if m else None


def metrics(addr):
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=10) as r:
        return r.read().decode()


def start_service():
    """The unit's command as systemd runs it: its socket passed, told to notify."""
    cmd = unit_value("mptrace.service", "ExecStart")
    listen = unit_value("mptrace.socket", "ListenStream")[0]
    notify = Notify(os.path.join(WORK, "notify"))
    p = subprocess.Popen(["systemd-socket-activate", "-l", listen,
                          "-E", "NOTIFY_SOCKET=" + os.path.join(WORK, "notify")] + cmd,
                         stderr=subprocess.PIPE)
    # the activator starts the service at the first connection, as the socket unit does
    end, text = time.monotonic() + 120, ""
    while time.monotonic() < end and "READY=1" not in notify.msgs:
        try:
            text = metrics(listen)
        except OSError:
            pass
        time.sleep(0.5)
    if "READY=1" not in notify.msgs:
        p.kill()
        fail("the service never said READY=1: %s" % p.stderr.read1().decode())
    return p, notify, listen


def check_service():
    p, notify, listen = start_service()
    try:
        traced(listen)
    finally:
        stop(p, 60)
    if p.returncode != 0:
        fail("the service exited %d on SIGTERM: %s" % (p.returncode, p.stderr.read().decode()))
    if "STOPPING=1" not in notify.msgs or not glob.glob("/var/lib/mptrace/trace.mpcap.*"):
        fail("no STOPPING=1, or no capture in /var/lib/mptrace")
    r = run("/usr/sbin/mptrace", "verify", *sorted(glob.glob("/var/lib/mptrace/trace.mpcap.*")))
    if r.returncode:
        fail("the service's capture does not verify: %s" % r.stdout + r.stderr)


def check_lean_log(log):
    """The packaged settings write each ancestor once, as a process record before the first
    event that needs it: every event's parent is one, its own parent too, up the chain."""
    with open(log, "rb") as f:
        lines = f.read().splitlines()
    procs, events = {}, 0
    for ln in lines:
        o = json.loads(ln)
        if o["eventName"] == "process":
            procs[o["entityId"]] = o
        elif "args" in o and o.get("parentEntityId"):
            events += 1
            if "ancestors" in o or "commandLine" in o or not o["ancestorsTruncated"]:
                fail("the service wrote an ancestor or its caller inline: %s" % ln)
            if o["entityId"] not in procs:
                fail("no process record before the event for its caller: %s" % ln)
            rec = procs.get(o["parentEntityId"])
            if not rec or rec["hostProcessId"] != o["hostParentProcessId"]:
                fail("no process record before the event for its parent: %s" % ln)
    if not events:
        fail("the service's log holds no event with a parent")
    parent_records_kept(lines, log)


def traced(listen):
    """The workload's calls, in the service's log and its metrics."""
    subprocess.run([os.path.join(BUILD, "tests", "mp_workload")], stdout=subprocess.DEVNULL,
                   check=True)
    log = "/var/log/mptrace/events.json"
    end = time.monotonic() + 30
    while time.monotonic() < end:
        calls = [ln for ln in open(log) if '"processName":"mp_workload"' in ln and
                 '"eventName":"process"' not in ln] if os.path.exists(log) else []
        if len(calls) >= 3:
            break
        time.sleep(0.3)
    else:
        fail("the service's log holds %d of the workload's 3 calls" % len(calls))
    check_lean_log(log)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        m = re.search(r'^mptrace_events_total\{event="move_pages"\} (\d+)', metrics(listen), re.M)
        if m and int(m.group(1)) >= 2:
            break
        time.sleep(0.3)
    else:
        fail("the service's metrics do not count the calls")


def main():
    if installed():
        print("a mptrace package is installed here already: not replaced")
        sys.exit(77)
    for path in MADE:
        if os.path.exists(path):
            print("%s exists already: not touched" % path)
            sys.exit(77)
    t0 = time.monotonic()
    deb, files = build_deb()
    OURS.append(deb)
    r = run("apt-get", "install", "-y", "--no-install-recommends", deb,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if r.returncode or not installed():
        fail("apt-get install %s: %s%s" % (deb, r.stdout[-2000:], r.stderr))
    check_installed(files)
    check_completion()
    check_service()
    r = run("apt-get", "purge", "-y", "mptrace", env=dict(os.environ,
                                                           DEBIAN_FRONTEND="noninteractive"))
    if r.returncode or installed():
        fail("apt-get purge: %s%s" % (r.stdout[-2000:], r.stderr))
    left = [f for f in files + MADE if os.path.exists(f)]
    if left:
        fail("left after purge: %s" % left)
    print("%.0f s: " % (time.monotonic() - t0), end="")
    print("%s: %d files installed, group and directories made, man pages and completion "
          "work; the unit's command traced the workload into its log, capture and metrics; "
          "purged without a trace" % (os.path.basename(deb), len(files)))


if __name__ == "__main__":
    try:
        main()
    finally:
        if OURS and installed():
            run("apt-get", "purge", "-y", "mptrace")
        shutil.rmtree(WORK, ignore_errors=True)
