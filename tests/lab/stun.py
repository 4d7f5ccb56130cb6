#!/usr/bin/python3
"""Minimal STUN (RFC 5389) Binding responder for the IGD lab.

Runs in the lab's wan namespace so that miniupnpd (ext_perform_stun=yes)
learns that its external address is the lab's WAN address and enables port
forwarding even though that address is a reserved one.

By default (one address, one port) every Binding Request, with or without
CHANGE-REQUEST, is answered from the same address and port with a Binding
Success Response carrying MAPPED-ADDRESS and XOR-MAPPED-ADDRESS of the sender;
miniupnpd then concludes that there is no NAT in front of it.  Anything that is
not a Binding Request is ignored.

With --other ADDR:PORT it is an RFC 5780 server instead: it listens on four
sockets (--bind and ADDR, each on --port and PORT), adds OTHER-ADDRESS (the
socket that differs from the receiving one in both address and port) and
RESPONSE-ORIGIN to every answer, and honours CHANGE-REQUEST by answering from
the alternate address and/or port.  (Do not give miniupnpd this mode: its NAT
test would then see answers from other addresses.)

Usage:
  stun.py serve --bind ADDR [--port 3478] [--other ADDR:PORT] [--pidfile FILE]
  stun.py probe HOST [--port 3478] [--timeout 2]   (one request, prints mapped addr)
Standard library only; no traffic except answers to the requests it receives.
"""

import argparse
import os
import select
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
ATTR_CHANGE_REQUEST = 0x0003
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_SOFTWARE = 0x8022
ATTR_RESPONSE_ORIGIN = 0x802B
ATTR_OTHER_ADDRESS = 0x802C
CHANGE_IP = 0x04
CHANGE_PORT = 0x02


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


def build_response(request, family, host, port, other=None, origin=None):
    """Return the response for one datagram, or None to ignore it.

    other and origin, (host, port) pairs, add OTHER-ADDRESS and RESPONSE-ORIGIN
    (RFC 5780 mode); without them the answer is the lab's historical one.
    """
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
    if other is not None:
        attrs += _addr_attr(ATTR_OTHER_ADDRESS, family, other[0], other[1], txid)
    if origin is not None:
        attrs += _addr_attr(ATTR_RESPONSE_ORIGIN, family, origin[0], origin[1], txid)
    # The transaction id (and whatever stood in the cookie field, so that an
    # RFC 3489 client gets its own 128-bit id back) is copied unchanged.
    return struct.pack("!HH", BINDING_SUCCESS, len(attrs)) + cookie_and_txid + attrs


def change_flags(request):
    """The CHANGE-REQUEST flags of a Binding Request (0 without one); bounded by its length."""
    end = min(len(request), 20 + struct.unpack("!H", request[2:4])[0])
    pos = 20
    while pos + 4 <= end:
        attr_type, attr_len = struct.unpack("!HH", request[pos:pos + 4])
        if attr_type == ATTR_CHANGE_REQUEST and attr_len == 4 and pos + 8 <= end:
            return struct.unpack("!I", request[pos + 4:pos + 8])[0]
        pos += 4 + attr_len + (-attr_len % 4)
    return 0


def parse_endpoint(text):
    """ADDR:PORT or [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError("expected ADDR:PORT, got %r" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return host, int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in %r" % text) from None


def _udp(family, host, port):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _started(args, extra):
    def stop(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)
    print("stun.py: listening on %s:%d%s (pid %d)" % (args.bind, args.port, extra, os.getpid()), flush=True)


def serve(args):
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    if args.other is not None:
        return serve_rfc5780(args, family)
    sock = _udp(family, args.bind, args.port)
    _started(args, "")
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


def serve_rfc5780(args, family):
    """Four sockets: index bit 1 is the address (bind, other), bit 0 the port (port, other's port)."""
    other_host, other_port = args.other
    if (":" in other_host) != (family == socket.AF_INET6):
        raise SystemExit("stun.py: --bind and --other must be of one address family")
    if other_host == args.bind or other_port == args.port:
        raise SystemExit("stun.py: --other must differ from --bind in both address and port")
    endpoints = [(args.bind, args.port), (args.bind, other_port), (other_host, args.port), (other_host, other_port)]
    socks = [_udp(family, host, port) for host, port in endpoints]
    _started(args, " and %s:%d (RFC 5780: alternate address and port)" % (other_host, other_port))
    answered = 0
    while True:
        readable, _, _ = select.select(socks, [], [])
        for sock in readable:
            at = socks.index(sock)
            data, peer = sock.recvfrom(2048)
            flags = change_flags(data) if len(data) >= 20 else 0
            source = at ^ (2 if flags & CHANGE_IP else 0) ^ (1 if flags & CHANGE_PORT else 0)
            reply = build_response(data, family, peer[0], peer[1], other=endpoints[at ^ 3], origin=endpoints[source])
            if reply is None:
                continue
            try:
                socks[source].sendto(reply, peer)
            except OSError as e:  # never die because one peer is unreachable
                print("stun.py: sendto %s failed: %s" % (peer, e), flush=True)
                continue
            answered += 1
            if answered <= 20 or answered % 100 == 0:
                print("stun.py: answered %s:%d at %s:%d from %s:%d (%d so far)"
                      % (peer[0], peer[1], endpoints[at][0], endpoints[at][1],
                         endpoints[source][0], endpoints[source][1], answered), flush=True)


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
    s.add_argument("--other", type=parse_endpoint, metavar="ADDR:PORT",
                   help="alternate address and port: answer RFC 5780 requests (OTHER-ADDRESS, CHANGE-REQUEST)")
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
