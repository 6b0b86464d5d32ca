"""sha256 of files and of manifests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def manifest_digest(data: dict[str, Any]) -> str:
    """sha256 of a manifest's content, leaving out its `views` cache.

    Framework views are derived on demand and recorded in the manifest after it
    was written; a child's record of its parent must stay valid when they are.
    """
    content = {k: v for k, v in data.items() if k != "views"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
