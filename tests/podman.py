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

What the runtime keeps of each container is checked on every event: its
name, image, image id and digest, and the Kubernetes pod names set as CRI-O
sets them, all verified against runc's state. One container's annotations
are hostile (control characters, 1 MB of annotations): its fields stay
bounded and clean. A container in the host's pid namespace names another
container's process, killed right after: the target is named (pid, name,
executable, start, uid, container) and MPT-11 raised; replay's
--target-container keeps that call. A host process in a cgroup named for one of the
containers is reported as unverified ("elsewhere", MPT-10), one named for
no container as "unknown", with no names. The capture replays byte for
byte, and replay's --container NAME and --pod NS/NAME keep one container.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile

from harness import Env, fail, join_callers, not_process_records, wait_ready
from natscluster import Cluster, js_request

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


POD_NS = "prod"
POD_UID = {"refused": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
           "unconfined": "1b4e28ba-2fa1-11d2-883f-0016d3cca428"}
# a pod name as a hostile user may set it: control characters, and 1 MB of annotations
HOSTILE = "shop\x1b[31m\tx"
BIG = [a for i in range(10) for a in ("--annotation", "mptrace.test/pad%d=%s" % (i, "x" * 100000))]


def pod_opts(name):
    return ["--name", "%s-%d" % (name, os.getpid()),
            "--annotation", "io.kubernetes.pod.name=%s" % (HOSTILE if name == "unconfined"
                                                           else "shop-" + name),
            "--annotation", "io.kubernetes.pod.namespace=" + POD_NS,
            "--annotation", "io.kubernetes.pod.uid=" + POD_UID[name]]


def run_container(name, *opts):
    """Runs the caller in a new container; (its full id, the lines it printed)."""
    cidfile = os.path.join(D, name + ".cid")
    opts = pod_opts(name) + [o for o in opts] + (BIG if name == "unconfined" else [])
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
    check_names(ev, refused, where)
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


def image_ids():
    """The image's id and manifest digest, as Podman itself reports them."""
    p = podman("image", "inspect", "--format", "{{.Id}} {{.Digest}}", IMAGE)
    iid, digest = p.stdout.split()
    return "sha256:" + iid, digest


def check_names(ev, refused, where):
    """What the runtime says of the container, verified."""
    name = "refused" if refused else "unconfined"
    want = {
        "containerVerified": True,
        "containerVerification": "verified",
        "containerName": "%s-%d" % (name, os.getpid()),
        "containerImage": IMAGE,
        "containerImageId": ENV.image_id,
        "containerImageDigest": ENV.image_digest,
        "podName": "shop?[31m?x" if not refused else "shop-refused",
        "podNamespace": POD_NS,
        "podUid": POD_UID[name],
        "containerLabels": {},
    }
    for k, v in want.items():
        if ev.get(k) != v:
            fail("%s: %s is %r, not %r" % (where, k, ev.get(k), v))


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    fail("no cgroup v2 mount")


def spoofed_call(cid):
    """The host's caller, in a cgroup of our own named for container @cid: (cgroup, page)."""
    cg = os.path.join(cgroup2_root(), "mptrace-spoof-%d" % os.getpid(), "libpod-" + cid)
    os.makedirs(cg)

    def enter():
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write("0")
    p = subprocess.run([CALLER, "1"], capture_output=True, text=True, timeout=60,
                       preexec_fn=enter)
    os.rmdir(cg)
    if p.returncode:
        fail("spoofed caller failed: %s" % p.stderr)
    return cg[len(cgroup2_root()):], p.stdout.split()[0]


def check_spoofed(events, detections, cid, verdict):
    spoof = "/mptrace-spoof-%d/" % os.getpid()
    evs = [ev for ev in events if ev["containerId"] == cid and spoof in ev["cgroupPath"]]
    if len(evs) != 1:
        fail("%d events from the cgroup named for %s, not 1" % (len(evs), cid[:12]))
    ev = evs[0]
    if ev.get("containerVerified") is not False or \
            ev.get("containerVerification") != verdict:
        fail("the cgroup named for %s is %r/%r, not unverified (%s)" % (
            cid[:12], ev.get("containerVerified"), ev.get("containerVerification"), verdict))
    named = [k for k in ("containerName", "containerImage", "podName") if k in ev]
    if named or ev.get("podUid"):
        fail("an unverified container is lent names: %r" % named)
    mpt10 = [d for d in detections if d["detection"]["id"] == "MPT-10" and
             d["triggeredBy"]["containerId"] == cid]
    if any(spoof not in d["triggeredBy"]["cgroupPath"] for d in mpt10):
        fail("MPT-10 for the real container %s" % cid[:12])
    if len(mpt10) != (verdict == "elsewhere"):
        fail("MPT-10 for a cgroup named for %s (%s): %d" % (cid[:12], verdict, len(mpt10)))


def replay_checks(cap, live, refused_cid, open_cid):
    """The capture replays as live printed it; the name filters keep one container."""
    def replay(*args):
        p = subprocess.run([ENV.mptrace, "replay", "-f", "json", "--detect"] + list(args) +
                           [cap], capture_output=True, timeout=60)
        if p.returncode:
            fail("replay %s: exit %d: %s" % (args, p.returncode, p.stderr.decode()))
        return p.stdout
    with open(live, "rb") as f:
        if replay() != f.read():
            fail("the capture's replay differs from what live tracing printed")
    # every line against the schema; OCSF against its description, names in container
    here = os.path.dirname(os.path.abspath(__file__))
    events_dir = os.path.join(here, "..", "events")
    ocsf = os.path.join(D, "ocsf.json")
    with open(ocsf, "wb") as f:
        f.write(replay("-f", "ocsf"))
    for check, desc, path in (("check_schema.py", "events.schema.json", live),
                              ("check_ocsf.py", "ocsf-1.8.0.json", ocsf)):
        p = subprocess.run([sys.executable, os.path.join(here, check),
                            os.path.join(events_dir, desc), path], capture_output=True,
                           text=True, timeout=60)
        if p.returncode:
            fail("%s: %s%s" % (check, p.stdout[-1500:], p.stderr[-1500:]))
    with open(ocsf) as f:
        lines = [json.loads(ln) for ln in f]
    named = [ln for ln in lines if ln.get("class_uid") == 1004 and
             ln["actor"]["process"].get("container", {}).get("uid") == refused_cid and
             "/mptrace-spoof-" not in ln["unmapped"]["cgroupPath"]]
    for ln in named:
        c = ln["actor"]["process"]["container"]
        if c.get("name") != "refused-%d" % os.getpid() or \
                c.get("image") != {"uid": ENV.image_id, "name": IMAGE} or \
                c.get("orchestrator") != "Kubernetes" or \
                ln["unmapped"].get("podName") != "shop-refused":
            fail("OCSF container of the refused container: %r" % c)
    if len(named) != CALLS:
        fail("%d OCSF events of the refused container, not %d" % (len(named), CALLS))
    for args, cid in ((["--container", "refused-%d" % os.getpid()], refused_cid),
                      (["--pod", "%s/shop-refused" % POD_NS], refused_cid),
                      (["--pod", "%s/shop?[31m?x" % POD_NS], open_cid)):
        cids = {json.loads(ln).get("containerId")
                for ln in not_process_records(replay(*args).splitlines())
                if json.loads(ln)["eventName"] != "detection"}
        if cids != {cid}:
            fail("replay %s kept %r, not %s alone" % (args, cids, cid[:12]))


def ship_checks(cap, refused_cid, open_cid):
    """Shipped, each container's events are on its own subject; the call from a cgroup
    named for the refused container is not on that container's subject."""
    c = Cluster(D, n=1)
    c.start_all()
    try:
        r = subprocess.run([ENV.mptrace, "ship", "--nats", c.urls(), cap], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            fail("ship: %s" % r.stderr)
        got = js_request(c.port(0), "$JS.API.STREAM.INFO.MPTRACE",
                         b'{"subjects_filter":">"}')["state"].get("subjects", {})
    finally:
        c.stop_all()
    host = re.sub(r"[.*> \t]", "_", socket.gethostname())
    for token, n in ((refused_cid, CALLS), (open_cid, CALLS), ("elsewhere", 1)):
        subj = "mptrace.%s.move_pages.%s" % (host, token)
        if got.get(subj) != n:
            fail("%s holds %r messages, not %d: %r" % (subj, got.get(subj), n, got))


def cross_container_call():
    """A container sharing the host's pid namespace names another container's process,
    which is killed right after: (the target's id, name and host pid, the caller's id)."""
    name = "target-%d" % os.getpid()
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    tid = podman("run", "-d", "--name", name, *limits, IMAGE, "/mp_container", "hold",
                 "120").stdout.strip()
    tpid = int(podman("inspect", "--format", "{{.State.Pid}}", tid).stdout.strip())
    cidfile = os.path.join(D, "toucher.cid")
    podman("run", "--rm", "--cidfile", cidfile, "--pid", "host", "--security-opt",
           "seccomp=unconfined", *limits, IMAGE, "/mp_container", "1", str(tpid))
    podman("kill", tid)
    podman("rm", "-f", tid)
    with open(cidfile) as f:
        return tid, name, tpid, f.read().strip()


def check_cross(events, detections, cap, cross):
    tid, name, tpid, caller = cross
    evs = [ev for ev in events if ev["containerId"] == caller]
    if len(evs) != 1:
        fail("%d events from the container naming another, not 1" % len(evs))
    want = {"processId": tpid, "resolved": True, "hostProcessId": tpid,
            "processName": "mp_container", "executable": {"path": "/mp_container"},
            "userId": 0, "containerId": tid, "containerVerified": True,
            "containerName": name}
    got = evs[0].get("target", {})
    for k, v in want.items():
        if got.get(k) != v:
            fail("target %s is %r, not %r: %r" % (k, got.get(k), v, got))
    if not isinstance(got.get("startTime"), int) or not got.get("cgroupId"):
        fail("target start time or cgroup: %r" % got)
    if not [d for d in detections if d["detection"]["id"] == "MPT-11" and
            d["triggeredBy"]["containerId"] == caller]:
        fail("no MPT-11 for a container naming another container's process")
    for arg in (name, tid[:12]):
        p = subprocess.run([ENV.mptrace, "replay", "-f", "json", "--target-container", arg,
                            cap], capture_output=True, text=True, timeout=60)
        kept = [json.loads(ln)["containerId"] for ln in not_process_records(p.stdout.splitlines())]
        if p.returncode or kept != [caller]:
            fail("replay --target-container %s kept %r: %s" % (arg, kept, p.stderr))


def main():
    if os.geteuid():
        sys.exit(77)
    for tool in ("podman", "runc"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            fail("%s is not installed (scripts/deps.sh test installs it)" % tool)
    for sub in ("storage", "run", "tmp"):
        os.mkdir(os.path.join(D, sub))
    build_image()
    ENV.image_id, ENV.image_digest = image_ids()
    live = os.path.join(D, "live.json")
    cap = os.path.join(D, "cap")
    t = subprocess.Popen([ENV.mptrace, "-f", "json", "-o", live, "--containers-only",
                          "--detect", "--event", "move_pages", "--capture", cap],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ENV.procs.append(t)
    t.early_err = wait_ready(t)
    refused_cid, refused_out = run_container("refused")
    open_cid, open_out = run_container("unconfined", "--security-opt", "seccomp=unconfined")
    # both containers are gone (--rm): what their runtime said of them is remembered
    spoof_cg, _ = spoofed_call(refused_cid)
    unknown_cid = "%064x" % (os.getpid() * 7919)
    spoofed_call(unknown_cid)
    cross = cross_container_call()
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
        for ev in join_callers([json.loads(line) for line in f], live):
            if ev["eventName"] != "process":
                (detections if ev["eventName"] == "detection" else events).append(ev)
    check_cross(events, detections, cap, cross)
    events = [ev for ev in events if ev["containerId"] != cross[3]]
    check_spoofed(events, detections, unknown_cid, "unknown")
    check_spoofed(events, detections, refused_cid, "elsewhere")
    by_cid = {}
    for ev in events:
        if ev["cgroupPath"].startswith(os.path.dirname(spoof_cg)):
            continue
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
    if "mptrace: %d events, 0 dropped" % (2 * CALLS + 3) not in err:
        fail("summary: %s" % err)
    replay_checks(cap, live, refused_cid, open_cid)
    ship_checks(cap, refused_cid, open_cid)
    print("podman: %d refused and %d unconfined calls reported with their container, its "
          "names verified; MPT-9 raised; a cgroup named for a container unverified, "
          "MPT-10 raised; another container's process named as a call's target, MPT-11 raised; "
          "the capture replays the same" % (CALLS, CALLS))


try:
    main()
finally:
    subprocess.run(["podman", "--root", os.path.join(D, "storage"), "--runroot",
                    os.path.join(D, "run"), "--storage-driver", "vfs", "rmi", "-af"],
                   capture_output=True, timeout=60)
    ENV.cleanup()
