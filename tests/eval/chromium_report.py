"""Headless Chromium (Debian's `chromium`, installed by .ci/run) driven over the DevTools protocol.

A websocket client of a few lines on the standard library, on 127.0.0.1 only: the tests open a
report as a person would (file://), read the page, click, and take screenshots.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def chromium_path() -> str | None:
    return os.environ.get("WT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class _Socket:
    """A websocket client connection: text frames out (masked), frames in (reassembled)."""

    def __init__(self, url: str, timeout: float = 60.0):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("the browser closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the browser closed the connection")
            buf += chunk
        return bytes(buf)

    def send(self, text: str) -> None:
        data = text.encode()
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                                if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self) -> str:
        message = bytearray()
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("the browser closed the websocket")
            if opcode in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self) -> None:
        self.sock.close()


class Chromium:
    """One headless Chromium with one page: `open(path)`, `js(expression)`, `click(selector)`, `screenshot()`."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900):
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium; .ci/run installs it)")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ws: _Socket | None = None
        self.next_id = 0
        try:
            port = self._port(profile)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            self.ws = _Socket(pages[0]["webSocketDebuggerUrl"])
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except Exception:
            self.close()
            raise

    def _port(self, profile: Path, timeout: float = 60.0) -> int:
        """The DevTools port Chromium chose (it writes it to DevToolsActivePort in the profile)."""
        file = profile / "DevToolsActivePort"
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if file.is_file() and (lines := file.read_text().split()):
                return int(lines[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.proc.stderr.read()[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params: Any) -> dict:
        assert self.ws is not None
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        r = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, path: Path, timeout: float = 60.0) -> None:
        self.call("Page.navigate", url=path.resolve().as_uri())
        end = time.monotonic() + timeout
        while self.js("document.readyState") != "complete":
            if time.monotonic() > end:
                raise TimeoutError(f"{path} did not finish loading")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the element."""
        box = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView();"
                      " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def screenshot(self, path: Path, height: int | None = None) -> Path:
        """A PNG of the page's top (`height` pixels tall when given)."""
        if height is not None:
            width = self.js("window.innerWidth")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        self.js("window.scrollTo(0, 0); new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


IMAGES_LOAD = """Promise.all(Array.from(document.querySelectorAll('img'), img => new Promise(done => {
  const probe = new Image();
  probe.onload = () => done([img.getAttribute('src'), probe.naturalWidth]);
  probe.onerror = () => done([img.getAttribute('src'), 0]);
  probe.src = img.src;
})))"""
PHOTOS_LOAD = IMAGES_LOAD.replace("querySelectorAll('img')", "querySelectorAll('tr[data-href]')").replace(
    "img.getAttribute('src')", "img.getAttribute('data-href')").replace(
    "probe.src = img.src", "probe.src = new URL(img.getAttribute('data-href'), document.baseURI).href")
TABLE_ROWS = """Array.from(document.querySelectorAll('#photos tbody tr'), tr => [tr.getAttribute('data-image-id'),
  ...Array.from(tr.cells).slice(1).map(td => td.textContent.trim())])"""


def check_report(browser: Chromium, report: Path, per_image: dict, shot: Path) -> list[list[str]]:
    """What every evaluation report must do in a browser; returns the table's rows as shown.

    Every image (thumbnails, curves, galleries) and every full photo a row opens loads; the
    per-photo table has one row per image of the evaluation with its counts; clicking the
    'true' header sorts the rows by true count, clicking again reverses them; the screenshot is not blank.
    """
    import numpy as np
    from PIL import Image

    browser.open(report)
    images = browser.js(IMAGES_LOAD)
    assert images and all(w > 0 for _, w in images), [s for s, w in images if w <= 0]
    photos = browser.js(PHOTOS_LOAD)
    assert photos and all(w > 0 for _, w in photos), [s for s, w in photos if w <= 0]
    columns = per_image["columns"]
    want = {str(r[0]): [str(r[columns.index(c)]) for c in ("true", "predicted", "error", "false_positives", "missed")]
            for r in per_image["rows"]}
    shown = browser.js(TABLE_ROWS)
    assert len(shown) == len(want)
    assert {r[0]: r[2:] for r in shown} == want
    heads = browser.js("Array.from(document.querySelectorAll('#photos thead th'), th => th.textContent.trim())")
    col = heads.index("true") + 1
    browser.click(f"#photos thead th:nth-child({col})")
    up = [int(v) for v in browser.js(f"Array.from(document.querySelectorAll('#photos tbody td:nth-child({col})'),"
                                     " td => td.textContent)")]
    browser.click(f"#photos thead th:nth-child({col})")
    down = [int(v) for v in browser.js(f"Array.from(document.querySelectorAll('#photos tbody td:nth-child({col})'),"
                                       " td => td.textContent)")]
    assert up == sorted(up) and down == sorted(down, reverse=True), (up, down)
    assert len(set(up)) == 1 or up != down
    browser.screenshot(shot, height=1400)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.std() > 10, f"the screenshot is blank (pixel std {pixels.std():.1f})"
    return shown


def tags(html: str, name: str) -> list[str]:
    return re.findall(rf"<{name}\b[^>]*>", html)
