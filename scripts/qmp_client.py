# SPDX-License-Identifier: GPL-2.0-or-later
"""A QMP client for the project's test scripts and scripts/scenario.

    sys.path.insert(0, "<top>/scripts")
    from qmp_client import Qmp
    q = Qmp(path)                   # waits for QEMU to make the socket
    q.call("qom-get", path=..., property="stats")
    for event in q.events(): ...    # until QEMU closes the socket
"""

import json
import socket
import time


class QmpError(Exception):
    """A command's error reply, or a closed connection"""


class Qmp:
    def __init__(self, path, wait=60.0):
        """Connect to the QMP socket @path, waiting up to @wait seconds
        for QEMU to make it, and leave capabilities negotiation"""
        self.pending = []           # events read while awaiting a reply
        self.sock = socket.socket(socket.AF_UNIX)
        end = time.monotonic() + wait
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rw")
        self.file.readline()        # the greeting
        self.call("qmp_capabilities")

    def read(self):
        line = self.file.readline()
        if not line:
            raise QmpError("QMP connection closed")
        return json.loads(line)

    def call(self, command, **args):
        """The command's return value; QmpError with its message"""
        self.file.write(json.dumps({"execute": command, "arguments": args})
                        + "\n")
        self.file.flush()
        while True:
            r = self.read()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise QmpError(r["error"]["desc"])
            self.pending.append(r)

    def events(self):
        """Every event, until QEMU closes the connection"""
        while self.pending:
            yield self.pending.pop(0)
        while True:
            try:
                r = self.read()
            except QmpError:
                return
            if "event" in r:
                yield r

    def close(self):
        self.file.close()
        self.sock.close()
