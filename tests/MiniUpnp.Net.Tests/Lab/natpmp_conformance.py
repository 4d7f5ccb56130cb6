"""The NAT-PMP conformance sequence, Python side (the reference: libnatpmp 20230423's own module, libnatpmpmodule.c,
built for Python 3 by tests/lab/natpmp-py3.sh).

NatpmpConformanceTests.cs runs the same sequence through MiniUpnp.Net's NATPMP class and compares the two transcripts
step by step. Usage: python3 natpmp_conformance.py BASE_PORT > transcript.json (inside the lab's lan namespace).
Each step is {"call": ..., "result": <value or null>, "error": <exception text or null>}.
"""
import json
import sys

import libnatpmp

base = int(sys.argv[1])
steps = []


def step(name, fn):
    try:
        steps.append({"call": name, "result": fn(), "error": None})
    except Exception as e:  # the module raises plain Exception(strnatpmperr(r)) or Exception("Unknown protocol")
        steps.append({"call": name, "result": None, "error": str(e)})


n = libnatpmp.NATPMP()
step("discoverdelay default", lambda: n.discoverdelay)
n.discoverdelay = 250
step("discoverdelay set", lambda: n.discoverdelay)
step("externalipaddress", n.externalipaddress)
step("add tcp", lambda: n.addportmapping(base, "TCP", base, 3600))
step("add udp", lambda: n.addportmapping(base, "udp", base + 1, 7200))
step("add tcp again", lambda: n.addportmapping(base, "TCP", base, 3600))
step("add udp again, other lifetime", lambda: n.addportmapping(base, "UDP", base + 1, 60))
step("add TCPX", lambda: n.addportmapping(base + 2, "TCPX", base + 2, 60))
step("add tc", lambda: n.addportmapping(base + 2, "tc", base + 2, 60))
step("add empty protocol", lambda: n.addportmapping(base + 2, "", base + 2, 60))
step("add icmp", lambda: n.addportmapping(base + 2, "icmp", base + 2, 60))
step("add port above 65535", lambda: n.addportmapping(base + 3 + 65536, "Udp", base + 3 + 65536, 60))
step("add lifetime 2^32-1", lambda: n.addportmapping(base + 4, "tcp", base + 4, 4294967295))
step("add taken port, other internal port", lambda: n.addportmapping(base, "TCP", base + 5, 60))
step("add internal port 0", lambda: n.addportmapping(base + 6, "TCP", 0, 60))
step("add lifetime 0 (delete)", lambda: n.addportmapping(base + 3, "udp", base + 3, 0))
step("externalipaddress again", n.externalipaddress)
step("delete tcp", lambda: n.deleteportmapping(base, "TCP", base))
step("delete udp", lambda: n.deleteportmapping(base, "udp", base + 1))
step("delete TCPX", lambda: n.deleteportmapping(base + 2, "tcpx", base + 2))
step("delete other internal port", lambda: n.deleteportmapping(0, "TCP", base + 5))
step("delete lifetime max", lambda: n.deleteportmapping(base + 4, "TCP", base + 4))
step("delete xyz", lambda: n.deleteportmapping(base, "xyz", base))
step("delete missing", lambda: n.deleteportmapping(base + 9, "TCP", base + 9))
step("delete all udp", lambda: n.deleteportmapping(0, "UDP", 0))
step("delete all tcp", lambda: n.deleteportmapping(0, "TCP", 0))
json.dump(steps, sys.stdout)
