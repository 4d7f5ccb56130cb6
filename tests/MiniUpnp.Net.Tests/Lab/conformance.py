"""The conformance sequence, Python side (the reference: the miniupnpc 2.3.3 module built from the pinned source).

ConformanceTests.cs runs the same sequence through MiniUpnp.Net's UPnP class and compares the two transcripts
field by field. Usage: python3 conformance.py BASE_PORT OTHER_HOST > transcript.json
Each step is {"call": ..., "result": <value or null>, "error": <exception text or null>}; tuples become lists.
"""
import json
import sys

import miniupnpc

base = int(sys.argv[1])
other_host = sys.argv[2]
steps = []


def step(name, fn):
    try:
        result = fn()
        if isinstance(result, tuple):
            result = [list(x) if isinstance(x, tuple) else x for x in result]
        steps.append({"call": name, "result": result, "error": None})
        return result
    except Exception as e:  # the module raises plain Exception with miniupnpc's text
        steps.append({"call": name, "result": None, "error": str(e)})


u = miniupnpc.UPnP()
u.discoverdelay = 200
step("discover", u.discover)
step("selectigd", u.selectigd)
step("lanaddr", lambda: u.lanaddr)
step("wanaddr", lambda: u.wanaddr)
step("statusinfo", u.statusinfo)
step("connectiontype", u.connectiontype)
step("externalipaddress", u.externalipaddress)
step("totalbytesent", u.totalbytesent)
step("totalbytereceived", u.totalbytereceived)
step("totalpacketsent", u.totalpacketsent)
step("totalpacketreceived", u.totalpacketreceived)
step("entries before", u.getportmappingnumberofentries)
step("add", lambda: u.addportmapping(base, "TCP", u.lanaddr, base, "conformance", "", 3600))
step("add udp permanent", lambda: u.addportmapping(base, "udp", u.lanaddr, base + 1, None, None))
step("getspecific", lambda: u.getspecificportmapping(base, "TCP"))
step("getspecific udp", lambda: u.getspecificportmapping(base, "UDP"))
step("getspecific missing", lambda: u.getspecificportmapping(base + 5, "TCP"))
step("entries after add", u.getportmappingnumberofentries)
i = 0
while i < 64:
    entry = u.getgenericportmapping(i)
    step("getgeneric %d" % i, lambda: entry)
    if entry is None:
        break
    i += 1
step("add for another host", lambda: u.addportmapping(base + 3, "TCP", other_host, base + 3, "holder", ""))
reserved = step("addany taken", lambda: u.addanyportmapping(base + 3, "TCP", u.lanaddr, base + 4, "conformance any", ""))
step("addany differs", lambda: reserved is not None and reserved != base + 3)
step("delete addany", lambda: u.deleteportmapping(reserved or 0, "TCP"))
step("delete for another host", lambda: u.deleteportmapping(base + 3, "TCP"))
step("add conflict", lambda: u.addportmapping(base, "TCP", other_host, base, "conflict", ""))
step("add external port 0", lambda: u.addportmapping(0, "TCP", u.lanaddr, base, "zero", ""))
step("delete", lambda: u.deleteportmapping(base, "TCP"))
step("delete missing", lambda: u.deleteportmapping(base, "TCP"))
step("delete udp", lambda: u.deleteportmapping(base, "UDP", ""))
step("add range a", lambda: u.addportmapping(base + 10, "TCP", u.lanaddr, base + 10, "range", ""))
step("add range b", lambda: u.addportmapping(base + 11, "TCP", u.lanaddr, base + 11, "range", ""))
step("deleterange", lambda: u.deleteportmappingrange(base + 10, base + 11, "TCP", 1))
step("deleterange empty", lambda: u.deleteportmappingrange(base + 10, base + 11, "TCP", 1))
step("entries end", u.getportmappingnumberofentries)
step("selectigd url", lambda: u.selectigd(sys.argv[3]) if len(sys.argv) > 3 else None)
json.dump(steps, sys.stdout)
