"""Loaded by every Python process started with this folder on PYTHONPATH (tests/yolo).

An audit hook refuses every network attempt (DNS lookups, connections other
than Unix sockets) with an OSError, and records it and every subprocess start
as a JSON line in $WT_NONET_LOG, so a test can assert that none happened.
Child processes inherit it through PYTHONPATH; forked workers inherit the hook.
"""

import json
import os
import sys

_LOG = os.environ.get("WT_NONET_LOG")
_NET = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
        "socket.connect", "socket.sendto", "urllib.Request", "http.client.connect"}
_PROC = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"}
_AF_UNIX = 1


def _record(kind, event, detail):
    if not _LOG:
        return
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"kind": kind, "event": event, "detail": detail, "pid": os.getpid(),
                            "argv": sys.argv[:3]}) + "\n")


def _hook(event, args):
    if event in _NET:
        if event in ("socket.connect", "socket.sendto"):
            sock = args[0]
            if getattr(sock, "family", None) == _AF_UNIX:
                return
        _record("network", event, repr(args)[:300])
        raise OSError(f"network access blocked by the test ({event})")
    if event in _PROC:
        _record("process", event, repr(args)[:300])


if _LOG:
    sys.addaudithook(_hook)
