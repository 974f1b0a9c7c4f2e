#!/usr/bin/env python3
"""The folders under user/ are layers: a file includes only its own layer's
headers and those of layers before it, by paths rooted at user/
("decode/format.h"). The order is CMakeLists.txt's MPT_USER_LAYERS.

    check-layers.py [SOURCE_DIR]

Prints every include that breaks the order or is not rooted; exit 1 if any.
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
with open(os.path.join(src, "CMakeLists.txt")) as f:
    m = re.search(r"set\(MPT_USER_LAYERS ([^)]*)\)", f.read())
if not m:
    sys.exit("check-layers: no MPT_USER_LAYERS in CMakeLists.txt")
layers = m.group(1).split()
user = os.path.join(src, "user")
folders = sorted(d for d in os.listdir(user) if os.path.isdir(os.path.join(user, d)))
bad = ["user/%s/: a folder that is not a layer (add it to MPT_USER_LAYERS)" % d
       for d in folders if d not in layers]
headers = {f for d in folders for _, _, fs in os.walk(os.path.join(user, d)) for f in fs
           if f.endswith(".h")}
n = 0
for d in folders:
    for dp, _, fs in os.walk(os.path.join(user, d)):
        for f in sorted(fs):
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(dp, f), src)
            with open(os.path.join(dp, f)) as fh:
                for i, line in enumerate(fh, 1):
                    inc = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not inc:
                        continue
                    n += 1
                    path = inc.group(1)
                    top = path.split("/")[0]
                    if "/" not in path and path in headers:
                        bad.append("%s:%d: \"%s\" is not rooted at user/" % (rel, i, path))
                    elif "/" in path and top in layers and d in layers and \
                            layers.index(top) > layers.index(d):
                        bad.append("%s:%d: %s (layer %s) includes %s, a later layer" %
                                   (rel, i, rel, d, path))
for b in bad:
    print(b)
if bad:
    sys.exit(1)
print("check-layers: %d includes in %d layers keep their order" % (n, len(layers)))
