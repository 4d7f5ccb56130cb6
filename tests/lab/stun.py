#!/usr/bin/python3
"""Minimal STUN (RFC 5389) Binding responder for the IGD lab.

Runs in the lab's wan namespace so that miniupnpd (ext_perform_stun=yes)
learns that its external address is the lab's WAN address and enables port
forwarding even though that address is a reserved one.

Every Binding Request (with or without CHANGE-REQUEST) is answered from the
same address and port with a Binding Success Response carrying MAPPED-ADDRESS
and XOR-MAPPED-ADDRESS of the sender; miniupnpd then concludes that there is no
NAT in front of it.  Anything that is not a Binding Request is ignored.

Usage:
  stun.py serve --bind ADDR [--port 3478] [--pidfile FILE]
  stun.py probe HOST [--port 3478] [--timeout 2]   (one request, prints mapped addr)
Standard library only; no traffic except answers to the requests it receives.
"""

import argparse
import os
import secrets
import signal
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_SOFTWARE = 0x8022


def _addr_attr(attr_type, family, host, port, txid):
    """Encode a (XOR-)MAPPED-ADDRESS attribute."""
    if family == socket.AF_INET:
        fam, raw = 0x01, socket.inet_pton(socket.AF_INET, host)
    else:
        fam, raw = 0x02, socket.inet_pton(socket.AF_INET6, host)
    if attr_type == ATTR_XOR_MAPPED_ADDRESS:
        port ^= MAGIC >> 16
        key = struct.pack("!I", MAGIC) + txid
        raw = bytes(b ^ key[i] for i, b in enumerate(raw))
    value = struct.pack("!BBH", 0, fam, port) + raw
    return struct.pack("!HH", attr_type, len(value)) + value


def _pad(value):
    return value + b"\0" * (-len(value) % 4)


def build_response(request, family, host, port):
    """Return the response for one datagram, or None to ignore it."""
    if len(request) < 20:
        return None
    msg_type, msg_len = struct.unpack("!HH", request[:4])
    if msg_type != BINDING_REQUEST or msg_len % 4 or 20 + msg_len > len(request):
        return None
    cookie_and_txid = request[4:20]
    txid = request[8:20]
    software = b"MiniUpnp.Net lab stun.py"
    attrs = (
        _addr_attr(ATTR_MAPPED_ADDRESS, family, host, port, txid)
        + _addr_attr(ATTR_XOR_MAPPED_ADDRESS, family, host, port, txid)
        + struct.pack("!HH", ATTR_SOFTWARE, len(software)) + _pad(software)
    )
    # The transaction id (and whatever stood in the cookie field, so that an
    # RFC 3489 client gets its own 128-bit id back) is copied unchanged.
    return struct.pack("!HH", BINDING_SUCCESS, len(attrs)) + cookie_and_txid + attrs


def serve(args):
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.bind, args.port))

    def stop(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)
    print("stun.py: listening on %s:%d (pid %d)" % (args.bind, args.port, os.getpid()), flush=True)
    answered = 0
    while True:
        data, peer = sock.recvfrom(2048)
        reply = build_response(data, family, peer[0], peer[1])
        if reply is None:
            continue
        try:
            sock.sendto(reply, peer)
        except OSError as e:  # never die because one peer is unreachable
            print("stun.py: sendto %s failed: %s" % (peer, e), flush=True)
            continue
        answered += 1
        if answered <= 20 or answered % 100 == 0:
            print("stun.py: answered %s:%d (%d so far)" % (peer[0], peer[1], answered), flush=True)


def parse_mapped(data, txid):
    if len(data) < 20 or struct.unpack("!H", data[:2])[0] != BINDING_SUCCESS or data[8:20] != txid:
        return None
    pos, found = 20, None
    while pos + 4 <= len(data):
        attr_type, attr_len = struct.unpack("!HH", data[pos:pos + 4])
        value = data[pos + 4:pos + 4 + attr_len]
        if attr_type == ATTR_XOR_MAPPED_ADDRESS and len(value) == 8 and value[1] == 1:
            port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
            addr = bytes(b ^ k for b, k in zip(value[4:8], struct.pack("!I", MAGIC)))
            return "%s:%d" % (socket.inet_ntoa(addr), port)
        if attr_type == ATTR_MAPPED_ADDRESS and len(value) == 8 and value[1] == 1:
            found = "%s:%d" % (socket.inet_ntoa(value[4:8]), struct.unpack("!H", value[2:4])[0])
        pos += 4 + attr_len + (-attr_len % 4)
    return found


def probe(args):
    """Send Binding Requests (bounded: --tries, --timeout each); print the mapping."""
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        for _ in range(max(1, args.tries)):
            txid = secrets.token_bytes(12)
            sock.sendto(struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC) + txid, (args.host, args.port))
            deadline = time.monotonic() + args.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    data = sock.recv(2048)
                except socket.timeout:
                    break
                except OSError:  # e.g. ICMP port unreachable: server not up yet
                    time.sleep(min(left, 0.05))
                    break
                mapped = parse_mapped(data, txid)
                if mapped:
                    print(mapped)
                    return 0
    print("stun.py probe: no answer from %s:%d" % (args.host, args.port), file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, default=3478)
    s.add_argument("--pidfile")
    q = sub.add_parser("probe")
    q.add_argument("host")
    q.add_argument("--port", type=int, default=3478)
    q.add_argument("--timeout", type=float, default=0.2)
    q.add_argument("--tries", type=int, default=10)
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
        return 0
    return probe(args)


if __name__ == "__main__":
    sys.exit(main())
