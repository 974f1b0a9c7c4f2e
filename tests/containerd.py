#!/usr/bin/env python3
"""Real containerd + runc containers, named the way Kubernetes' CRI names them.

    containerd.py BUILD_DIR

containerd is started here (its own root, state and socket; the CRI plugin
off) and an OCI image is built from one static caller (tests/mp_container.c):
no registry is needed. Two containers run the way the CRI lays them out: a
64-digit id, the cgroup /kubepods/besteffort/pod<uid>/<id>, and the CRI's
annotations (container, pod, namespace, uid, image). One runs under the
runtime's default seccomp profile, which refuses move_pages without
CAP_SYS_NICE; the other without one. mptrace must report every call with
the container's id and the names containerd's runc state holds, verified,
the refused ones too.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

from harness import Env, fail, not_process_records, stop, wait_ready

ENV = Env(sys.argv[1], "mptrace-containerd-")
D = ENV.dir
NS = "mptrace-test-%d" % os.getpid()
SOCK = os.path.join(D, "containerd.sock")
IMAGE = "localhost/mptrace-ctr:test"
CALLER = os.path.join(ENV.build, "tests", "mp_container")
CALLS = 3
POD = {"name": "shop-7f9c", "namespace": "prod", "uid": "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"}


def blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"digest": "sha256:" + digest, "size": len(data)}


def build_image():
    """An OCI archive: one layer holding the caller, its config, a manifest, an index."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        t.add(CALLER, arcname="mp_container")
    layer = layer.getvalue()
    path = os.path.join(D, "image.tar")
    with tarfile.open(path, "w") as tar:
        lay = blob(tar, layer)
        cfg = blob(tar, json.dumps({
            "architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [lay["digest"]]}}).encode())
        man = blob(tar, json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(lay, mediaType="application/vnd.oci.image.layer.v1.tar")]}).encode())
        for name, data in (("oci-layout", {"imageLayoutVersion": "1.0.0"}),
                           ("index.json", {"schemaVersion": 2, "manifests": [dict(
                               man, mediaType="application/vnd.oci.image.manifest.v1+json",
                               annotations={"org.opencontainers.image.ref.name": "test"})]})):
            data = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ctr("images", "import", "--base-name", IMAGE.rsplit(":", 1)[0], path)


def ctr(*args, timeout=120):
    p = subprocess.run(["ctr", "-a", SOCK, "-n", NS] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode:
        fail("ctr %s: exit %d: %s" % (" ".join(args[:2]), p.returncode, p.stderr.strip()))
    return p


def start_containerd():
    cfg = os.path.join(D, "config.toml")
    with open(cfg, "w") as f:
        f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                '[grpc]\n  address = "%s"\n' % (D, D, SOCK))
    log = open(os.path.join(D, "containerd.log"), "w")
    p = subprocess.Popen(["containerd", "--config", cfg], stdout=log, stderr=log)
    ENV.procs.append(p)
    for _ in range(300):
        if os.path.exists(SOCK) and subprocess.run(
                ["ctr", "-a", SOCK, "version"], capture_output=True).returncode == 0:
            return p
        if p.poll() is not None:
            break
        time.sleep(0.1)
    fail("containerd did not start: %s" % open(os.path.join(D, "containerd.log")).read()[-2000:])


def run_container(n, seccomp):
    """A container laid out as the CRI lays it out; (its id, the lines it printed)."""
    cid = hashlib.sha256(b"%d-%d" % (os.getpid(), n)).hexdigest()
    name = "web-%d" % n
    p = ctr("run", "--rm", "--cgroup", "/kubepods/besteffort/pod%s/%s" % (POD["uid"], cid),
            "--annotation", "io.kubernetes.cri.container-type=container",
            "--annotation", "io.kubernetes.cri.container-name=" + name,
            "--annotation", "io.kubernetes.cri.sandbox-name=" + POD["name"],
            "--annotation", "io.kubernetes.cri.sandbox-namespace=" + POD["namespace"],
            "--annotation", "io.kubernetes.cri.sandbox-uid=" + POD["uid"],
            "--annotation", "io.kubernetes.cri.image-name=" + IMAGE,
            *(["--seccomp"] if seccomp else []), IMAGE, cid, "/mp_container", str(CALLS))
    lines = [ln.split() for ln in p.stdout.splitlines()]
    if len(lines) != CALLS:
        fail("container %s printed %r" % (name, p.stdout))
    return cid, name, lines


def check(ev, cid, name, page, refused):
    want = {
        "containerId": cid, "containerRuntime": "cri", "containerVerified": True,
        "containerVerification": "verified", "containerName": name,
        "containerImage": IMAGE, "podName": POD["name"], "podNamespace": POD["namespace"],
        "podUid": POD["uid"], "processName": "mp_container", "returnValue": -1 if refused else 0,
    }
    where = "%s call %s" % (name, json.dumps(ev)[:300])
    for k, v in want.items():
        if ev.get(k) != v:
            fail("%s: %s is %r, not %r" % (where, k, ev.get(k), v))
    if ev["args"][2]["data"] != [page]:
        fail("%s: pages[] %r, not [%s]" % (where, ev["args"][2].get("data"), page))
    if bool(ev.get("refusedBySeccomp")) != refused:
        fail("%s: refusedBySeccomp should be %s" % (where, refused))


def main():
    if os.geteuid():
        sys.exit(77)
    for tool in ("containerd", "ctr", "runc"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            fail("%s is not installed (scripts/deps.sh test installs it)" % tool)
    daemon = start_containerd()
    build_image()
    live = os.path.join(D, "live.json")
    t = subprocess.Popen([ENV.mptrace, "-f", "json", "-o", live, "--pod",
                          "%s/%s" % (POD["namespace"], POD["name"]), "--event", "move_pages"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ENV.procs.append(t)
    t.early_err = wait_ready(t)
    runs = [run_container(1, True), run_container(2, False)]
    if subprocess.run([ENV.worker, "mp", "1", "2"], capture_output=True, timeout=60).returncode:
        fail("host workload failed")
    if stop(t):
        fail("mptrace exit %d" % t.returncode)
    err = (t.early_err + t.stderr.read()).decode()
    with open(live) as f:
        events = [json.loads(line) for line in not_process_records(f)]
    for (cid, name, out), refused in zip(runs, (True, False)):
        evs = [ev for ev in events if ev["containerId"] == cid]
        if len(evs) != CALLS:
            fail("%d events from %s, not %d: %s" % (len(evs), name, CALLS, err))
        for ev, (page, ret, errno) in zip(evs, out):
            if refused and (ret, errno) != ("-1", "1"):
                fail("the default profile let the call run: %s %s" % (ret, errno))
            check(ev, cid, name, page, refused)
    # --pod keeps the pod's containers alone: the host's calls are not there
    if len(events) != 2 * CALLS:
        fail("%d events with --pod, not %d" % (len(events), 2 * CALLS))
    stop(daemon)
    print("containerd: %d refused and %d calls from CRI-laid-out containers, named and "
          "verified from containerd's runc state; --pod kept them alone" % (CALLS, CALLS))


try:
    main()
finally:
    subprocess.run(["ctr", "-a", SOCK, "-n", NS, "images", "rm", IMAGE], capture_output=True,
                   timeout=60)
    ENV.cleanup()
