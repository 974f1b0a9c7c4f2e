#!/usr/bin/env python3
"""mbind, set_mempolicy and set_mempolicy_home_node, traced for real: the
known calls of tests/mp_mempolicy decoded exactly in JSON (every argument,
the node masks as node lists, modes and flags named), in the table as strace
would print them, as OCSF and against the schema; a capture replays them
byte for byte; MPOL_MF_MOVE_ALL raises MPT-2; and the kernel's filters take
them by their arguments' roles: --target-other keeps none of them (each
acts on its caller), --event keeps only the one named.

usage: mempolicy.py BUILD_DIR SOURCE_DIR"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, not_process_records, stop, wait_ready  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
MPTRACE = os.path.join(BUILD, "mptrace")
MODE_BIND, MOVE = "MPOL_BIND", "MPOL_MF_MOVE"


def tracer(d, comm, name, extra):
    args = [MPTRACE, "--comm", comm, "-f", "json", "-o", os.path.join(d, name + ".json")]
    t = subprocess.Popen(args + extra, stderr=subprocess.PIPE)
    t.early_err = wait_ready(t)
    return t


def arg(ev, name):
    for a in ev["args"]:
        if a["name"] == name:
            return a
    fail("%s has no argument %s: %s" % (ev["eventName"], name, ev["args"]))


def want(ev, name, **fields):
    a = arg(ev, name)
    for k, v in fields.items():
        if a.get(k) != v:
            fail("%s %s.%s is %r, not %r" % (ev["eventName"], name, k, a.get(k), v))


def check_mbind(ev, addr, length, flags, decoded, ret):
    want(ev, "addr", type="void*", value=addr)
    want(ev, "len", type="unsigned long", value=length)
    want(ev, "mode", type="int", value=2, decoded=MODE_BIND)
    want(ev, "nodemask", type="const unsigned long*", data=[0])
    want(ev, "maxnode", value=65)
    want(ev, "flags", type="unsigned int", value=flags, decoded=decoded)
    if ev["returnValue"] != ret:
        fail("mbind returned %r, not %r" % (ev["returnValue"], ret))


def check_events(evs, addr, length):
    names = [e["eventName"] for e in evs]
    wanted = ["mbind"] * 3 + ["set_mempolicy_home_node"] * 2 + ["set_mempolicy"] * 2
    if names != wanted:
        fail("events %s, not %s" % (names, wanted))
    check_mbind(evs[0], addr, length, 2, MOVE, 0)
    check_mbind(evs[1], addr, length, 16, "0x10 /* MPOL_??? */", -22)
    check_mbind(evs[2], addr, length, 6, MOVE + "|MPOL_MF_MOVE_ALL", evs[2]["returnValue"])
    if evs[2]["returnValue"] not in (0, -1):
        fail("mbind MOVE_ALL returned %r" % evs[2]["returnValue"])
    for ev, flags, ret in ((evs[3], 0, 0), (evs[4], 1, -22)):
        want(ev, "start", type="unsigned long", value=addr)
        want(ev, "len", value=length)
        want(ev, "home_node", value=0)
        want(ev, "flags", value=flags, decoded="0" if not flags else "0x1")
        if ev["returnValue"] != ret:
            fail("set_mempolicy_home_node returned %r, not %r" % (ev["returnValue"], ret))
    want(evs[5], "mode", value=1 | 1 << 15, decoded="MPOL_PREFERRED|MPOL_F_STATIC_NODES")
    want(evs[5], "nodemask", data=[0], value=evs[5]["args"][1]["value"])
    want(evs[6], "mode", value=0, decoded="MPOL_DEFAULT")
    want(evs[6], "nodemask", value="0x0", readError="NULL")
    want(evs[6], "maxnode", value=0)
    for ev in evs:
        if ev["abi"] != "x86_64" or ev["argsNum"] != len(ev["args"]) or ev["syscall"] != \
                ev["eventName"] or "target" in ev and ev["target"].get("resolved"):
            fail("event header or target wrong: %s" % json.dumps(ev)[:600])
        if ev["returnValue"] == 0 and not isinstance(ev["durationNs"], int):
            fail("no duration: %s" % ev)
    print("json: 7 calls decoded exactly")


def check_table(d, cap, comm, addr, length):
    r = subprocess.run([MPTRACE, "replay", "-f", "table", cap], capture_output=True, text=True)
    if r.returncode:
        fail("replay -f table: exit %d: %s" % (r.returncode, r.stderr))
    calls = [re.sub(r" <[0-9.]+>.*", "", ln.split("] ", 1)[1]) for ln in r.stdout.splitlines()
             if comm + "[" in ln]
    a = "%s, %d" % (addr, length)
    wanted = ["mbind(%s, MPOL_BIND, [0], 65, MPOL_MF_MOVE) = 0" % a,
              "mbind(%s, MPOL_BIND, [0], 65, 0x10 /* MPOL_??? */) = -1 EINVAL "
              "(Invalid argument)" % a,
              None,
              "set_mempolicy_home_node(%s, 0, 0) = 0" % a,
              "set_mempolicy_home_node(%s, 0, 0x1) = -1 EINVAL (Invalid argument)" % a,
              "set_mempolicy(MPOL_PREFERRED|MPOL_F_STATIC_NODES, [0], 65) = 0",
              "set_mempolicy(MPOL_DEFAULT, NULL, 0) = 0"]
    if len(calls) != len(wanted):
        fail("table: %d calls:\n%s" % (len(calls), r.stdout))
    for got, w in zip(calls, wanted):
        if w is not None and got != w:
            fail("table line\n  %s\nnot\n  %s" % (got, w))
    print("table: " + calls[0])


def main():
    d = os.path.abspath(os.path.join(BUILD, "mempolicy.d"))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    work = os.path.join(d, "mpol%d" % os.getpid())
    shutil.copy(os.path.join(BUILD, "tests", "mp_mempolicy"), work)
    comm = os.path.basename(work)[:15]
    cap = os.path.join(d, "live.mpcap")
    # the complete form, argument types and all; "only" writes the lean default
    every = tracer(d, comm, "live", ["--capture", cap, "--detect", "--ancestors", "1"])
    other = tracer(d, comm, "other", ["--target-other"])
    only = tracer(d, comm, "only", ["--event", "set_mempolicy"])
    try:
        out = subprocess.run([work], capture_output=True, text=True, check=True).stdout
        addr, length = out.split()[1], int(out.split()[2])
        addr = "0x%x" % int(addr, 16)
        for t in (every, other, only):
            if stop(t):
                fail("mptrace exited %d: %s" % (t.returncode, t.stderr.read().decode()))
    finally:
        for t in (every, other, only):
            if t.poll() is None:
                t.kill()
    lines = open(os.path.join(d, "live.json")).read().splitlines()
    evs = [json.loads(ln) for ln in not_process_records(lines)
           if '"eventName"' in ln and '"detection"' not in ln]
    evs = [e for e in evs if e.get("processName") == comm]
    check_events(evs, addr, length)
    dets = [json.loads(ln) for ln in lines if '"detection"' in ln]
    if [x["detection"]["id"] for x in dets] != ["MPT-2"] or \
            dets[0]["triggeredBy"]["eventName"] != "mbind":
        fail("detections %s, not one MPT-2 on mbind" % dets)
    print("detect: MPT-2 on mbind MPOL_MF_MOVE_ALL")
    for name, n in (("other", 0), ("only", 2)):
        got = [json.loads(ln) for ln in open(os.path.join(d, name + ".json"))]
        got = [e for e in got if e.get("processName") == comm and e["eventName"] != "process"]
        if len(got) != n or any(e["eventName"] != "set_mempolicy" for e in got):
            fail("%s: %d events, not %d: %s" % (name, len(got), n, got))
        if any("type" in a or "argsNum" in e for e in got for a in e["args"]):
            fail("%s: the lean form has the argument types: %s" % (name, got))
    print("filters: --target-other kept none, --event set_mempolicy kept 2")
    r = subprocess.run([MPTRACE, "replay", "-f", "json", "--detect", "--ancestors", "1", cap],
                       capture_output=True)
    if r.returncode or r.stdout.decode().splitlines() != lines:
        fail("replay differs from live (exit %d)" % r.returncode)
    print("replay: %d lines byte for byte" % len(lines))
    check_table(d, cap, comm, addr, length)
    live = os.path.join(d, "live.json")
    if subprocess.run([sys.executable, os.path.join(SRC, "tests", "check_schema.py"),
                       os.path.join(SRC, "events", "events.schema.json"), live, "7"]).returncode:
        fail("schema")
    ocsf = os.path.join(d, "live.ocsf")
    subprocess.run([MPTRACE, "replay", "-f", "ocsf", "-o", ocsf, cap], check=True)
    if subprocess.run([sys.executable, os.path.join(SRC, "tests", "check_ocsf.py"),
                       os.path.join(SRC, "events", "ocsf-1.8.0.json"), ocsf, "7"]).returncode:
        fail("OCSF")
    acts = [json.loads(ln).get("activity_name") for ln in open(ocsf)]
    print("ocsf: activities %s" % sorted(set(a for a in acts if a)))
    if "Set Memory Policy" not in acts or "Modify Page" not in acts:
        fail("OCSF activities %s" % acts)
    shutil.rmtree(d, ignore_errors=True)
    print("PASS")


main()
