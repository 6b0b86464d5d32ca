"""`wt-registry pull`: a model version downloaded into a cache keyed by version, sha256s verified.

The cache entry `<cache>/<name>/<version>/` holds the model as MLflow stores it
(MLmodel, artifacts/...) and a model manifest listing every file with its sha256.
The files the model was registered with (weights, model.json, lineage.json) must
match the sha256s recorded at registration, else nothing is kept. A path that
climbs out of the entry (`..`) is refused. A second pull of the same version
re-verifies the entry and downloads nothing.
"""

from __future__ import annotations

from pathlib import Path

from wt_core import console
from wt_core.errors import BadInput
from wt_core.hashing import file_sha256
from wt_core.invocation import command
from wt_core.locks import LOCK_FILE
from wt_core.manifest import ModelManifest
from wt_core.manifest_io import build, check_relative, read_manifest
from wt_core.offline import wt_home
from wt_core.outputs import Output

from wt_registry import __version__
from wt_registry.store import Ref, connect, json_tag, parse_ref, resolve

log = console.get_logger("wt-registry")


def default_cache() -> Path:
    """WT_HOME/registry (WT_HOME defaults to ~/.cache/wildtrain)."""
    return wt_home() / "registry"


def recorded_files(tags: dict[str, str], where: str) -> dict[str, str]:
    """The files and sha256s recorded at registration, each path checked to stay inside the entry."""
    files = json_tag(tags, "wt.files")
    if not isinstance(files, dict) or not files:
        raise BadInput("the version records no file sha256s (not registered by wt-registry?)", where, "wt.files")
    for rel in files:
        check_relative(str(rel), Path(where), f"wt.files[{rel}]")
    return {str(k): str(v) for k, v in files.items()}


@command("wt-registry", "pull", __version__)
def pull(model: str, cache: Path | None = None, artifact: str | None = None) -> ModelManifest:
    """Download a model version (name@alias or name/VERSION) into the cache, sha256s verified; prints its manifest.

    Args:
        model: The version: name@alias, name/VERSION, name (the latest), models:/name@alias.
        cache: The cache directory (default WT_HOME/registry); entries are <cache>/<name>/<version>.
        artifact: Check that this file (a path inside the model, e.g. artifacts/detector.pt) is in the entry.
    """
    if artifact is not None:
        check_relative(artifact, Path("<pull>"), "artifact")
    ref = parse_ref(model)
    client = connect()
    v = resolve(client, ref)
    where = Ref(ref.name, version=str(v.version)).uri
    expected = recorded_files(dict(v.tags), where)
    root = (Path(cache).expanduser() if cache else default_cache()).absolute()
    entry = root / ref.name / str(v.version)
    cached = _cached(entry, expected)
    if cached is not None:
        log.info("%s: cached in %s (sha256s verified)", where, entry)
        return _checked(cached, artifact)
    output = Output("wt-registry", "pull", entry, overwrite=True)  # a cache: a damaged entry is replaced
    try:
        import mlflow

        mlflow.artifacts.download_artifacts(artifact_uri=where, dst_path=str(output.dir))
        for rel, sha in expected.items():
            p = output.dir / rel
            if not p.is_file():
                raise BadInput(f"the downloaded model lacks {rel}", where, "wt.files")
            if file_sha256(p) != sha:
                raise BadInput(f"downloaded {rel} does not match the sha256 recorded at registration", where,
                               f"wt.files[{rel}]")
    except BadInput:
        output.discard()
        raise
    (output.dir / ".wt-id").unlink(missing_ok=True)
    for p in sorted(output.dir.rglob("*")):
        if p.is_file() and p.name != LOCK_FILE:  # the writer's lock is not part of the model
            rel = p.relative_to(output.dir).as_posix()
            output.add(rel, rel)
    tags = dict(v.tags)
    m = build(ModelManifest, id=output.id, name=ref.name, version=str(v.version), uri=where,
              framework=tags.get("wt.framework", ""), task=tags.get("wt.task", "detect"),
              classes=_classes(output.dir), aliases=sorted(a for a, n in (getattr(client.get_registered_model(
                  ref.name), "aliases", {}) or {}).items() if str(n) == str(v.version)),
              details={"registered_files": expected, "source": v.source, "register_id": tags.get("wt.register_id")})
    m = output.commit(m)
    log.info("%s: pulled into %s (%d files, sha256s verified)", where, entry, len(m.artifacts))
    return _checked(m, artifact)


def _classes(directory: Path) -> list[str]:
    import json

    cfg = directory / "artifacts" / "model.json"
    return list(json.loads(cfg.read_text()).get("classes", [])) if cfg.is_file() else []


def _cached(entry: Path, expected: dict[str, str]) -> ModelManifest | None:
    """The cache entry when it is complete, unchanged and of the same registration; else None (pulled again)."""
    if not (entry / "manifest.json").is_file():
        return None
    try:
        m = read_manifest(entry, "model", expect=ModelManifest, as_input=False)  # replaced below when stale
    except BadInput as e:
        log.warning("cache entry %s is damaged (%s): pulling again", entry, e.message)
        return None
    if m.details.get("registered_files") != expected or any(m.artifacts.get(k) is None or m.artifacts[k].sha256 != s
                                                            for k, s in expected.items()):
        log.warning("cache entry %s is of another registration: pulling again", entry)
        return None
    return m


def _checked(m: ModelManifest, artifact: str | None) -> ModelManifest:
    if artifact is not None and artifact not in m.artifacts:
        raise BadInput(f"the model has no file {artifact!r} (files: {', '.join(sorted(m.artifacts))})", m.path,
                       "artifact")
    return m
