#!/usr/bin/env python3
"""What an event costs a SIEM in bytes, against an older build, in one run.

    bench/sizes.py BUILD [--baseline OLD_BUILD] [--depth N] [--out FILE]

As root. A compiled helper, started DEPTH (12) shells deep, makes two
one-page move_pages calls: on its own page, and on a page of a child of its
own (another process: detection MPT-1 fires). Each build traces it as JSON and
as OCSF with --detect; the bytes of each line are reported: the call on its
own page, the call on the child's, and the finding; this build also with
--ancestors 1 and all, and the bytes of the process records written once for
the caller's ancestors (the default for JSON and OCSF is --ancestors 0).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from harness import stop, wait_ready  # noqa: E402

HELPER_C = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
	char *m = mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p[1] = {m}; int node[1] = {0}, st[1];
	int go[2];
	pid_t child;
	m[0] = 1;
	if (pipe(go)) return 1;
	child = fork();
	if (child == 0) { char b; close(go[1]); (void)!read(go[0], &b, 1); _exit(0); }
	syscall(SYS_move_pages, 0, 1, p, node, st, 0);
	syscall(SYS_move_pages, child, 1, p, node, st, 0);
	close(go[1]);
	waitpid(child, NULL, 0);
	return 0;
}
"""


def trace(binary, fmt, helper, depth, out, extra):
    argv = [binary, "--comm", os.path.basename(helper), "--event", "move_pages", "-f", fmt,
            "-o", out, "--detect"] + extra
    if os.path.exists(out):
        os.unlink(out)
    # each shell starts the next and waits ("; true": none may exec its last command away)
    nest = os.path.join(os.path.dirname(helper), "nest.sh")
    with open(nest, "w") as f:
        f.write('if [ "$1" -gt 1 ]; then sh "$0" $(($1 - 1)) "$2"; true; else "$2"; true; fi\n')
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:  # a failed step must not leave a tracer running
        wait_ready(p)
        subprocess.run(["sh", nest, str(depth), helper], check=True)
        time.sleep(0.5)
    finally:
        stop(p)
    with open(out, "rb") as f:
        lines = f.read().splitlines()
    sizes = {"records": 0}
    for ln in lines:
        o = json.loads(ln)
        # once per process, not per event: JSON's and OCSF's (Live Evidence Info)
        if o.get("eventName") == "process" or o.get("class_uid") == 5040:
            sizes["records"] += len(ln) + 1
            continue
        finding = o.get("class_uid") == 2004 or o.get("eventName") == "detection"
        if finding:
            sizes["finding"] = len(ln) + 1
        elif "own" not in sizes:
            sizes["own"] = len(ln) + 1
        else:
            sizes["other"] = len(ln) + 1
    return sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--baseline")
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results-sizes.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptrace-sizes-")
    helper = os.path.join(tmp, "mpt_sizes")
    subprocess.run(["cc", "-O2", "-x", "c", "-", "-o", helper], input=HELPER_C, text=True,
                   check=True)
    builds = [("this build", a.build, []),
              ("this build, --ancestors 1", a.build, ["--ancestors", "1"]),
              ("this build, --ancestors all", a.build, ["--ancestors", "all"])]
    builds += [("baseline", a.baseline, [])] if a.baseline else []
    rows = []
    for fmt in ("json", "ocsf"):
        for name, build, extra in builds:
            s = trace(os.path.join(build, "mptrace"), fmt, helper, a.depth,
                      os.path.join(tmp, "out"), extra)
            rows.append((fmt, name, s.get("own", 0), s.get("other", 0), s.get("finding", 0),
                         s["records"]))
    lines = ["# Bytes per event (bench/sizes.py)", "",
             "Run %s: a one-page move_pages call from a caller %d shells deep; bytes per "
             "line with its newline%s." % (time.strftime("%Y-%m-%d"), a.depth,
                                           "; baseline `%s`" % a.baseline if a.baseline else ""),
             "", "Process records: the bytes of the records (JSON, OCSF) written before the first "
             "line, once per process.",
             "", "| format | build | own page | another process's page | its finding | "
             "process records |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append("| %s | %s | %d | %d | %d | %d |" % r)
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
