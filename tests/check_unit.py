#!/usr/bin/env python3
"""The service unit's hardening, as systemd-analyze sees it (offline).

    check_unit.py UNIT [--network]

Fails on any finding the unit is meant to have addressed, and on an overall
exposure above 2.0; the findings left are the ones the unit's comments give a
reason for (it runs as root with CAP_BPF, CAP_SYS_PTRACE, bpf and perf_event_open).
With --network (the shipper) the network findings are expected, and the unit
must also run without any capability, as a dynamic user.
"""
import re
import subprocess
import sys

ADDRESSED = ["ProtectKernelTunables=", "ProtectControlGroups=", "ProtectProc=",
             "IPAddressDeny=", "PrivateMounts=", "SystemCallFilter=~@mount",
             "SystemCallFilter=~@module", "SystemCallFilter=~@clock", "SystemCallFilter=~@reboot",
             "SystemCallFilter=~@raw-io", "SystemCallFilter=~@swap", "SystemCallFilter=~@obsolete",
             "CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet=~CAP_SYS_MODULE",
             "PrivateNetwork=", "NoNewPrivileges=", "ProtectSystem=", "ProtectHome="]


NETWORK = ["PrivateNetwork=", "IPAddressDeny="]
NO_PRIVILEGE = ["User=/DynamicUser=", "CapabilityBoundingSet=", "PrivateUsers=", "ProcSubset=",
                "SystemCallFilter=~@privileged", "SystemCallFilter=~@resources"]


def main():
    network = "--network" in sys.argv[2:]
    addressed = [a for a in ADDRESSED if not (network and a in NETWORK)]
    if network:
        addressed += NO_PRIVILEGE
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        sys.argv[1]], capture_output=True, text=True)
    bad = [line for line in r.stdout.splitlines()
           if line.startswith("✗") and any(line[2:].startswith(a) for a in addressed)]
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    if not m:
        print("no exposure level in:\n" + r.stdout + r.stderr)
        return 1
    if bad or float(m.group(1)) > 2.0:
        print("unit hardening regressed (exposure %s):\n%s" % (m.group(1), "\n".join(bad)))
        return 1
    print("%s: exposure %s, every addressed finding absent" % (sys.argv[1], m.group(1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
