#!/usr/bin/env python3
"""The documents' examples are what mptrace does.

    docs.py BUILD_DIR SCHEMA

- Every ```json block of README.md and docs/*.md parses; every output line in
  them (an object with eventName) validates against the events schema.
- The README's first event is run for real (mptrace, then the workload that
  ships with the project): its lines match the README's, numbers, addresses,
  times and the ancestry aside.
- The exceptions example of docs/detections.md is loaded by the same run.
- docs/operating.md's metrics table names every metric the tracer and the
  shipper serve, and nothing else.
- Every option in the docs' mptrace command lines is one mptrace takes.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema

from harness import fail, wait_ready

BUILD, SCHEMA = sys.argv[1], sys.argv[2]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPTRACE = os.path.join(BUILD, "mptrace")
DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
PORT = 35000 + os.getpid() % 1000


def blocks(path, lang=None):
    text = open(path).read()
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if lang is None or m.group(1) == lang:
            yield text[:m.start()].count("\n") + 1, m.group(2)


def json_values(text):
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def check_json_blocks():
    with open(SCHEMA) as f:
        schema = json.load(f)
    validator = jsonschema.validators.validator_for(schema)(schema)
    n = 0
    for path in DOCS:
        for line, body in blocks(path, "json"):
            where = "%s:%d" % (os.path.relpath(path, ROOT), line)
            try:
                values = json_values(body)
            except ValueError as e:
                fail("%s: the JSON example does not parse: %s" % (where, e))
            for v in values:
                if "eventName" in v:
                    errs = sorted(e.message for e in validator.iter_errors(v))
                    if errs:
                        fail("%s: the example fails the schema: %s" % (where, errs[:3]))
                    n += 1
    if n < 5:
        fail("only %d JSON output examples found in the docs" % n)
    return n


def normal(line):
    """A table line with what differs from run to run taken out."""
    line = line.split(" <- ")[0]  # the ancestry: whatever started the workload
    line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
    line = re.sub(r"^\d\d:\d\d:\d\d\.\d{6}", "TIME", line)
    line = re.sub(r"\[\d+\]", "[PID]", line)
    return re.sub(r"<\d+\.\d{6}>", "<SECONDS>", line)


def first_event(exceptions):
    readme = os.path.join(ROOT, "README.md")
    cmds = [b for _, b in blocks(readme, "sh") if "mp_workload" in b][0]
    if "build/tests/mp_workload" not in cmds:
        fail("the README's first event runs no build/tests/mp_workload")
    want = [b for _, b in blocks(readme, "") if "mp_workload[" in b][0].splitlines()
    t = subprocess.Popen([MPTRACE, "--comm", "mp_workload", "--detect", "--exceptions",
                          exceptions, "--metrics", "127.0.0.1:%d" % PORT],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(t)
        subprocess.run([os.path.join(BUILD, "tests", "mp_workload")], check=True,
                       stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # the metrics are published on the tracer's 200 ms tick
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % PORT, timeout=10) as r:
            metrics = r.read().decode()
    finally:
        t.terminate()
        out, err = t.communicate(timeout=30)
    got = out.splitlines()
    if [normal(x) for x in got] != [normal(x) for x in want]:
        fail("the README's first event:\n%s\nbut mptrace printed:\n%s" % ("\n".join(want),
                                                                          "\n".join(got)))
    return metrics


def check_options():
    """Every option the docs' command lines give is one mptrace takes."""
    helps = subprocess.run([MPTRACE, "--help"], capture_output=True, text=True).stdout
    for cmd in ("probe", "replay", "report", "verify", "capture-info", "ship"):
        helps += subprocess.run([MPTRACE, cmd, "--help"], capture_output=True, text=True).stdout
    known = set(re.findall(r"--[a-z][a-z0-9-]*", helps))
    n = 0
    for path in DOCS:
        for line, body in blocks(path, "sh"):
            for cmdline in body.splitlines():
                if not re.match(r"\s*(sudo )?(\S*/)?mptrace ", cmdline):
                    continue
                for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", cmdline.split("#")[0]):
                    n += 1
                    if opt not in known:
                        fail("%s:%d: mptrace takes no %s: %s" % (os.path.relpath(path, ROOT),
                                                                line, opt, cmdline.strip()))
    return n


def check_metrics_table(served):
    doc = open(os.path.join(ROOT, "docs", "operating.md")).read()
    table = doc[doc.index("| metric | type | what |"):]
    table = table[:table.index("\n\n")]
    documented = set(re.findall(r"`(mptrace_[a-z_]+)", table))
    real = set(re.findall(r"^# TYPE (mptrace_[a-z_]+)", served, re.M))
    fleet = open(os.path.join(ROOT, "user", "fleet", "ship.c")).read()
    real |= set(re.findall(r'"(mptrace_ship_[a-z_]+)"', fleet))
    if documented != real:
        fail("docs/operating.md's metrics: not served %s; not documented %s" %
             (sorted(documented - real), sorted(real - documented)))
    return len(real)


def main():
    n = check_json_blocks()
    det = open(os.path.join(ROOT, "docs", "detections.md")).read()
    example = [b for _, b in blocks(os.path.join(ROOT, "docs", "detections.md"), "")
               if b.startswith("# RULE")][0]
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as ex:
        ex.write(example)
        ex.flush()
        served = first_event(ex.name)
    m = check_metrics_table(served)
    o = check_options()
    print("docs: %d JSON output examples valid; the README's first event as printed; the "
          "exceptions example loads; %d metrics documented as served; %d options in command "
          "lines, each one mptrace takes" % (n, m, o))


if __name__ == "__main__":
    main()
