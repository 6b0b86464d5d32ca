"""Read, verify and write manifests; resolve manifest inputs; walk lineage.

Every read validates: JSON syntax, schema major version, kind, the fields of
the kind, artifact paths that stay inside the directory, artifact sizes and
sha256, and that each parent still exists with the recorded digest.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import ValidationError

from wt_core import invocation
from wt_core.errors import BadInput
from wt_core.hashing import file_sha256, manifest_digest
from wt_core.manifest import (
    KINDS,
    SCHEMA,
    SCHEMA_MAJOR,
    SCHEMA_NAME,
    Artifact,
    ManifestBase,
    Parent,
    Producer,
    adapter,
)

MANIFEST = "manifest.json"
M = TypeVar("M", bound=ManifestBase)


def new_id(prefix: str = "") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:8]}"


def resolve_input(ref: str | Path, stdin: Any = None) -> Path:
    """A manifest input: a manifest.json, a directory holding one, or '-' (exactly one path on stdin)."""
    text = str(ref)
    if text == "-":
        stream = stdin or sys.stdin
        lines = [ln.strip() for ln in stream.read().splitlines() if ln.strip()]
        if not lines:
            raise BadInput("expected a manifest path on standard input, got nothing", "<stdin>")
        if len(lines) > 1:
            raise BadInput(f"standard input holds {len(lines)} paths ({lines[0]}, {lines[1]}, ...); '-' reads exactly "
                           "one manifest path", "<stdin>")
        text = lines[0]
    path = Path(text).expanduser()
    if path.is_dir():
        path = path / MANIFEST
    if not path.exists():
        if path.name == MANIFEST and path.parent.exists():
            raise BadInput("no manifest.json in this directory", path.parent)
        raise BadInput("manifest not found", path)
    return path.resolve()


def check_relative(rel: str, file: Path, field: str) -> None:
    """Refuse a recorded path that is absolute or climbs out of the manifest's directory."""
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or rel.startswith("~"):
        raise BadInput(f"path {rel!r} escapes the manifest's directory", file, field)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(data: Any, file: Path, kind: str | None = None) -> ManifestBase:
    """Validate a manifest's JSON object (schema version, kind, fields)."""
    if not isinstance(data, dict):
        raise BadInput("a manifest must be a JSON object", file)
    schema = data.get("schema")
    if not isinstance(schema, str) or "/" not in schema:
        raise BadInput(f"missing or malformed schema (expected {SCHEMA})", file, "schema")
    name, _, major = schema.partition("/")
    if name != SCHEMA_NAME or major.split(".")[0] != SCHEMA_MAJOR:
        raise BadInput(f"unsupported schema {schema!r}: this version reads {SCHEMA}", file, "schema")
    found = data.get("kind")
    if found not in KINDS:
        raise BadInput(f"unknown kind {found!r} (kinds: {', '.join(KINDS)})", file, "kind")
    if kind is not None and found != kind:
        raise BadInput(f"expected a {kind} manifest, got a {found} manifest", file, "kind")
    try:
        model: ManifestBase = adapter().validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = err["loc"][1:] if err["loc"] and err["loc"][0] == found else err["loc"]
        raise BadInput(f"invalid manifest: {err['msg']}", file, _loc(tuple(loc)) or None) from None
    return model


def verify_artifacts(m: ManifestBase, file: Path, hashes: bool = True) -> None:
    root = file.parent
    for name, art in m.artifacts.items():
        field = f"artifacts.{name}"
        check_relative(art.path, file, f"{field}.path")
        p = root / art.path
        if not p.is_file():
            raise BadInput(f"artifact {name!r} is missing: {art.path}", file, field)
        if p.stat().st_size != art.bytes:
            raise BadInput(f"artifact {name!r} has {p.stat().st_size} bytes, manifest says {art.bytes}", file, f"{field}.bytes")
        if hashes and file_sha256(p) != art.sha256:
            raise BadInput(f"artifact {name!r} does not match its sha256: {art.path}", file, f"{field}.sha256")


PARENTS_ROOT_ENV = "WT_PARENTS_ROOT"
"""Folders (os.pathsep-separated) where moved parents are looked for, by the tail of their recorded path."""


def _digest_of(p: Path) -> str | None:
    try:
        return manifest_digest(json.loads(p.read_text()))
    except (OSError, ValueError):
        return None


def locate_parent(m: ManifestBase, parent: Parent) -> Path:
    """Where `parent`'s manifest.json is: relative to the child first, then under WT_PARENTS_ROOT, then as recorded.

    Under a parents root the recorded path's tails are tried (shortest first) and the first one whose
    content matches the recorded sha256 is taken; the relative and the recorded place are taken when
    they exist, and `verify_parents` refuses them if they have changed.
    """
    recorded = m.resolve(parent.path)
    if parent.relpath is not None and (rel := m.root / parent.relpath).is_file():
        return rel
    parts = PurePosixPath(parent.path.replace("\\", "/")).parts
    for root in filter(None, os.environ.get(PARENTS_ROOT_ENV, "").split(os.pathsep)):
        for k in range(2, len(parts) + 1):
            tail = parts[-k:]
            if "/" in tail or ".." in tail:
                break
            cand = Path(root).expanduser() / Path(*tail)
            if cand.is_file() and _digest_of(cand) == parent.sha256:
                return cand
    return recorded


def verify_parents(m: ManifestBase, file: Path, as_input: bool = True) -> None:
    for i, parent in enumerate(m.parents):
        p = locate_parent(m, parent)
        field = f"parents[{i}]"
        if not p.is_file():
            hint = f"; if the tree was moved, set {PARENTS_ROOT_ENV} to where it lies now"
            raise BadInput(f"parent {parent.kind} {parent.id} is missing: {parent.path}{hint}", file, f"{field}.path")
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            raise BadInput(f"parent {parent.kind} {parent.id} is unreadable: {p}", file, f"{field}.path") from None
        if manifest_digest(data) != parent.sha256:
            raise BadInput(f"parent {parent.kind} {parent.id} has changed since this manifest was made: {p}", file,
                           f"{field}.sha256")
        if as_input:
            invocation.add_input(p.parent, f"directory of {parent.kind} {parent.id}, a parent of an input", file=p)


def load_json(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}", file) from None
    except UnicodeDecodeError:
        raise BadInput("not UTF-8 text", file) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        unclosed = text.count("{") + text.count("[") > text.count("}") + text.count("]")
        what = "truncated JSON" if unclosed or e.pos >= len(text.rstrip()) else f"invalid JSON: {e.msg}"
        raise BadInput(what, file, f"line {e.lineno} column {e.colno}") from None


def read_manifest(ref: str | Path, kind: str | None = None, *, expect: type[M] | None = None,
                  hashes: bool = True, parents: bool = True, as_input: bool = True) -> M:
    """Read and fully verify a manifest; `ref` is a file, a directory or '-'.

    The running command records it (and its parents) as an input that no output may replace;
    `as_input=False` for a manifest read only to decide whether to replace it (a cache entry).
    """
    file = resolve_input(ref)
    m = parse(load_json(file), file, kind)
    m._path = file
    verify_artifacts(m, file, hashes=hashes)
    if as_input:
        invocation.add_input(file.parent, f"input {m.kind}'s directory", file=file)
    if parents:
        verify_parents(m, file, as_input=as_input)
    return m  # type: ignore[return-value]


def parent_of(m: ManifestBase) -> Parent:
    """The record a child keeps of this manifest."""
    return Parent(kind=m.kind, id=m.id, path=str(m.path.resolve()), sha256=manifest_digest(m.dump()))


def make_artifact(root: Path, rel: str) -> Artifact:
    p = root / rel
    return Artifact(path=PurePosixPath(Path(rel)).as_posix(), sha256=file_sha256(p), bytes=p.stat().st_size)


def build(model: type[M], *, id: str, parents: Sequence[ManifestBase] = (), artifacts: dict[str, Artifact] | None = None,
          **body: Any) -> M:
    """A manifest of `model`'s kind, produced by the command now running."""
    inv = invocation.current()
    if inv.warnings:  # what the command warned of stays with what it made
        body["details"] = {**body.get("details", {}), "warnings": list(inv.warnings)}
    return model(
        schema=SCHEMA,
        id=id,
        created=datetime.now(UTC),
        producer=Producer(tool=inv.tool, command=inv.command, version=inv.version, argv=inv.argv, config=inv.config),
        parents=[parent_of(p) for p in parents],
        artifacts=artifacts or {},
        **body,
    )


def write_manifest(directory: Path, m: ManifestBase) -> Path:
    """Validate and write manifest.json into `directory` (atomically)."""
    file = directory / MANIFEST
    data = m.dump()
    parse(data, file)
    verify_artifacts(m, file, hashes=False)
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, file)
    m._path = file.resolve()
    return m._path


def lineage(ref: str | Path | ManifestBase) -> list[ManifestBase]:
    """This manifest and every ancestor, breadth first, each once."""
    start = ref if isinstance(ref, ManifestBase) else read_manifest(ref, hashes=False)
    seen, order, queue = {start.id}, [start], [start]
    while queue:
        m = queue.pop(0)
        for p in m.parents:
            if p.id in seen:
                continue
            seen.add(p.id)
            parent: ManifestBase = read_manifest(locate_parent(m, p), hashes=False, parents=False)
            order.append(parent)
            queue.append(parent)
    return order
