#!/usr/bin/env python3
"""Real Podman containers, under the runtime's default seccomp profile.

    podman.py BUILD_DIR

An image is built here from a rootfs tarball that holds one static caller
(tests/mp_container.c): no registry is needed. Podman (rootful, runc, its own
storage in a temporary directory) runs it twice while mptrace traces with
--containers-only --detect:
  - under the default profile, which refuses move_pages to a process without
    CAP_SYS_NICE: each refused call is reported, marked refusedBySeccomp, with
    the container's id, runtime and cgroup, the caller's executable and
    credentials, and the arguments and array it passed; repeated refusals
    raise MPT-9 naming the container;
  - with seccomp=unconfined: the same call runs, reported with the same
    identity.
A call from the host is made meanwhile, and must not pass --containers-only.
The hosts these tests run on have hybrid cgroups, which crun refuses: runc it
is, with cgroupfs (PID 1 is not systemd) and limits under the VM's own.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile

from harness import Env, fail, wait_ready

ENV = Env(sys.argv[1], "mptrace-podman-")
D = ENV.dir
IMAGE = "localhost/mptrace-test:%d" % os.getpid()
CALLER = os.path.join(ENV.build, "tests", "mp_container")
CALLS = 3


def podman(*args, timeout=120, check=True):
    cmd = ["podman", "--root", os.path.join(D, "storage"), "--runroot",
           os.path.join(D, "run"), "--tmpdir", os.path.join(D, "tmp"),
           "--storage-driver", "vfs", "--runtime", shutil.which("runc") or "/usr/sbin/runc",
           "--cgroup-manager", "cgroupfs", "--events-backend", "file"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode:
        fail("%s: exit %d: %s" % (" ".join(args[:2]), p.returncode, p.stderr.strip()))
    return p


def build_image():
    tar = os.path.join(D, "rootfs.tar")
    with tarfile.open(tar, "w") as t:
        t.add(CALLER, arcname="mp_container")
    podman("import", tar, IMAGE)


def run_container(name, *opts):
    """Runs the caller in a new container; (its full id, the lines it printed)."""
    cidfile = os.path.join(D, name + ".cid")
    p = podman("run", "--rm", "--cidfile", cidfile, "--ulimit", "nofile=1024:1024",
               "--ulimit", "nproc=1024:1024", *opts, IMAGE, "/mp_container", str(CALLS))
    with open(cidfile) as f:
        cid = f.read().strip()
    lines = [ln.split() for ln in p.stdout.splitlines()]
    if len(cid) != 64 or len(lines) != CALLS:
        fail("container %s: id %r, output %r" % (name, cid, p.stdout))
    return cid, lines


def arg(ev, i):
    return ev["args"][i]


def check_call(ev, cid, page, refused):
    where = "%s call %s" % ("refused" if refused else "unconfined", json.dumps(ev)[:300])
    want = {
        "containerId": cid,
        "containerRuntime": "podman",
        "processName": "mp_container",
        "eventName": "move_pages",
        "returnValue": -1 if refused else 0,
    }
    for k, v in want.items():
        if ev.get(k) != v:
            fail("%s: %s is %r, not %r" % (where, k, ev.get(k), v))
    if cid not in ev["cgroupPath"] or ev["executable"]["path"] != "/mp_container":
        fail("%s: cgroup path or executable" % where)
    # the image's file, not the host's: the path names another file from here
    if not ev["executable"].get("pathNamesOtherFile"):
        fail("%s: executable not marked as another file from the host's view" % where)
    if "CAP_SYS_NICE" in ev["credentials"]["capabilities"]:
        fail("%s: the default capability set has no CAP_SYS_NICE" % where)
    if arg(ev, 0)["value"] != 0 or arg(ev, 1)["value"] != 1:
        fail("%s: pid and count" % where)
    if arg(ev, 2)["data"] != [page]:
        fail("%s: pages[] %r, not [%s]" % (where, arg(ev, 2).get("data"), page))
    if refused:
        if ev.get("refusedBySeccomp") is not True or ev.get("entrySeen") is not False:
            fail("%s: not marked refused by seccomp" % where)
    elif "refusedBySeccomp" in ev or ev.get("entrySeen") is False:
        fail("%s: marked refused" % where)


def main():
    if os.geteuid():
        sys.exit(77)
    for tool in ("podman", "runc"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            fail("%s is not installed (scripts/deps.sh test installs it)" % tool)
    for sub in ("storage", "run", "tmp"):
        os.mkdir(os.path.join(D, sub))
    build_image()
    live = os.path.join(D, "live.json")
    t = subprocess.Popen([ENV.mptrace, "-f", "json", "-o", live, "--containers-only",
                          "--detect", "--event", "move_pages"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ENV.procs.append(t)
    t.early_err = wait_ready(t)
    refused_cid, refused_out = run_container("refused")
    open_cid, open_out = run_container("unconfined", "--security-opt", "seccomp=unconfined")
    host = subprocess.run([ENV.worker, "mp", "1", "5"], capture_output=True, timeout=60)
    if host.returncode:
        fail("host workload failed")
    t.send_signal(signal.SIGINT)
    _, err = t.communicate(timeout=30)
    err = (t.early_err + err).decode()

    for page, ret, errno in refused_out:
        if (ret, errno) != ("-1", "1"):
            fail("the default profile let the call run: %s %s" % (ret, errno))
    if any(ln[1] != "0" for ln in open_out):
        fail("unconfined calls failed: %r" % open_out)
    events, detections = [], []
    with open(live) as f:
        for line in f:
            ev = json.loads(line)
            (detections if ev["eventName"] == "detection" else events).append(ev)
    by_cid = {}
    for ev in events:
        by_cid.setdefault(ev["containerId"], []).append(ev)
    if set(by_cid) != {refused_cid, open_cid}:
        fail("events from %r, not only the two containers (--containers-only); %s" %
             (sorted(by_cid), err))
    for cid, out, refused in ((refused_cid, refused_out, True), (open_cid, open_out, False)):
        if len(by_cid[cid]) != CALLS:
            fail("%d events from container %s, not %d" % (len(by_cid[cid]), cid[:12], CALLS))
        for ev, (page, _, _) in zip(by_cid[cid], out):
            check_call(ev, cid, page, refused)
    mpt9 = [d for d in detections if d["detection"]["id"] == "MPT-9"]
    if len(mpt9) != 1 or mpt9[0]["triggeredBy"].get("containerId") != refused_cid:
        fail("MPT-9 for the refused container: %r" % [json.dumps(d)[:300] for d in mpt9])
    if "mptrace: %d events, 0 dropped" % (2 * CALLS) not in err:
        fail("summary: %s" % err)
    print("podman: %d refused and %d unconfined calls reported with their container, "
          "MPT-9 raised" % (CALLS, CALLS))


try:
    main()
finally:
    subprocess.run(["podman", "--root", os.path.join(D, "storage"), "--runroot",
                    os.path.join(D, "run"), "--storage-driver", "vfs", "rmi", "-af"],
                   capture_output=True, timeout=60)
    ENV.cleanup()
