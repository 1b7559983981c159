#!/usr/bin/env python3
"""A fake systemd notify socket for tests.

Binds a unix datagram socket at argv[1] ("@name" is an abstract socket),
prints {"listening": ...} once bound, then one JSON line per datagram:
{"pid": <sender pid from SCM_CREDENTIALS>, "data": "<datagram text>"}.
Deno cannot bind unix datagram sockets without --unstable-net, hence Python.
"""
import json
import socket
import struct
import sys

addr = sys.argv[1]
bind_to = "\0" + addr[1:] if addr.startswith("@") else addr
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
# Ask the kernel for the sender's credentials, as systemd does, so tests
# can check which process sent each message (NotifyAccess=main).
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(bind_to)
print(json.dumps({"listening": addr}), flush=True)
creds_size = struct.calcsize("iII")
while True:
    data, ancdata, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(creds_size))
    pid = None
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:creds_size])[0]
    print(json.dumps({"pid": pid, "data": data.decode("utf-8", "replace")}), flush=True)
