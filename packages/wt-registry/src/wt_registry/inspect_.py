"""`wt-registry list`, `show` and `lineage`: inspect the registry (no manifest written).

Each prints a table on standard error, or with --json one JSON document on standard output.
"""

from __future__ import annotations

import json as jsonlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest_io import lineage as walk

from wt_registry import __version__
from wt_registry.store import connect, evaluations, json_tag, parse_ref, registered_model, resolve

LINEAGE_ARTIFACT = "artifacts/lineage.json"


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ms else ""


def version_record(v, aliases: dict[str, str]) -> dict[str, Any]:
    tags = dict(v.tags)
    evals = [{"dataset_id": d, "split": s, **rec} for (d, s), rec in sorted(evaluations(tags).items())]
    return {"version": str(v.version), "aliases": sorted(a for a, n in aliases.items() if n == str(v.version)),
            "created": _when(v.creation_timestamp), "framework": tags.get("wt.framework"),
            "task": tags.get("wt.task"), "run_ids": json_tag(tags, "wt.run_ids", []),
            "dataset_ids": json_tag(tags, "wt.dataset_ids", []), "evaluations": evals,
            "description": v.description or "", "source": v.source, "mlflow_run_id": v.run_id,
            "tags": {k: t for k, t in tags.items() if not k.startswith("wt.eval/")}}


def _headline(evals: list[dict[str, Any]]) -> str:
    for e in evals:
        for k in ("mAP50", "mAP", "f1_macro", "acc"):
            if k in e.get("metrics", {}):
                return f"{k} {e['metrics'][k]:.4f} ({e['split']})"
    return ""


@command("wt-registry", "list", __version__)
def list_(json: bool = False) -> list[dict[str, Any]] | None:
    """List registered models: latest version, aliases, description.

    Args:
        json: Print JSON on stdout instead of a table on stderr.
    """
    client = connect()
    rows = []
    for m in sorted(client.search_registered_models(max_results=1000), key=lambda m: m.name):
        versions = client.search_model_versions(f"name='{m.name}'")
        latest = max((int(v.version) for v in versions), default=0)
        rows.append({"name": m.name, "versions": len(versions), "latest": str(latest) if latest else None,
                     "aliases": {a: str(v) for a, v in sorted((getattr(m, "aliases", {}) or {}).items())},
                     "updated": _when(m.last_updated_timestamp), "description": m.description or ""})
    if json:
        return rows
    console.print_table("registered models", ["name", "versions", "latest", "aliases", "updated"],
                        [[r["name"], r["versions"], r["latest"], ", ".join(f"{a}=v{v}" for a, v in r["aliases"].items()),
                          r["updated"]] for r in rows])
    return None


@command("wt-registry", "show", __version__)
def show(model: str, json: bool = False) -> dict[str, Any] | None:
    """Show a registered model's versions, aliases and metrics; or one version (name@alias, name/3) with its metadata.

    Args:
        model: A model name, or one version: name@alias, name/VERSION, models:/name@alias.
        json: Print JSON on stdout instead of a table on stderr.
    """
    ref = parse_ref(model)
    client = connect()
    rm = registered_model(client, ref.name)
    aliases = {a: str(v) for a, v in (getattr(rm, "aliases", {}) or {}).items()}
    if ref.alias or ref.version:
        v = resolve(client, ref)
        rec = version_record(v, aliases)
        rec["name"] = ref.name
        rec["metadata"] = _metadata(ref.name, str(v.version))
        if json:
            return rec
        rows = [[k, rec[k] if not isinstance(rec[k], (list, dict)) else jsonlib.dumps(rec[k])]
                for k in ("version", "aliases", "created", "framework", "task", "run_ids", "dataset_ids",
                          "description")]
        rows += [[f"metadata.{k}", jsonlib.dumps(val) if isinstance(val, (list, dict)) else val]
                 for k, val in rec["metadata"].items() if k not in ("evaluations",)]
        rows += [[f"eval {e['dataset_id']}/{e['split']}", jsonlib.dumps(e["metrics"])] for e in rec["evaluations"]]
        console.print_table(f"{ref.name} version {v.version}", ["field", "value"], rows)
        return None
    versions = sorted(client.search_model_versions(f"name='{ref.name}'"), key=lambda v: int(v.version))
    recs = [version_record(v, aliases) for v in versions]
    out = {"name": ref.name, "description": rm.description or "", "aliases": aliases, "versions": recs}
    if json:
        return out
    console.print_table(f"{ref.name}", ["version", "aliases", "created", "framework", "task", "metric", "runs"],
                        [[r["version"], ", ".join(r["aliases"]), r["created"], r["framework"], r["task"],
                          _headline(r["evaluations"]), ", ".join(r["run_ids"])] for r in recs])
    return None


def _metadata(name: str, version: str) -> dict[str, Any]:
    from mlflow.models import get_model_info

    try:
        return dict(get_model_info(f"models:/{name}/{version}").metadata or {})
    except Exception:
        return {}


@command("wt-registry", "lineage", __version__)
def lineage(model: str, json: bool = False) -> list[dict[str, Any]] | None:
    """Walk a registered model's manifests back to the raw import (model -> runs -> datasets -> import).

    Args:
        model: A model version (name@alias, name/VERSION, models:/...) or a model manifest (file or directory).
        json: Print the chain as JSON on stdout instead of a table on stderr.
    """
    nodes = _nodes(model)
    if json:
        return nodes
    console.print_table(f"lineage of {model}", ["kind", "id", "made by", "created", "parents"],
                        [[n["kind"], n["id"], f"{n['tool']} {n['command']}", n["created"][:19],
                          ", ".join(n["parents"])] for n in nodes])
    return None


def _node(m) -> dict[str, Any]:
    return {"kind": m.kind, "id": m.id, "tool": m.producer.tool, "command": m.producer.command,
            "created": m.created.isoformat(), "path": str(m.path), "parents": [p.id for p in m.parents]}


def _nodes(model: str) -> list[dict[str, Any]]:
    p = Path(model).expanduser()
    if p.exists() or model == "-" or model.endswith(".json"):
        return [_node(m) for m in walk(model)]
    ref = parse_ref(model)
    client = connect()
    v = resolve(client, ref)
    tags = dict(v.tags)
    head = {"kind": "model", "id": tags.get("wt.register_id", f"{ref.name}/{v.version}"), "tool": "wt-registry",
            "command": "register", "created": _when(v.creation_timestamp), "path": f"models:/{ref.name}/{v.version}",
            "parents": json_tag(tags, "wt.run_ids", [])}
    manifest = tags.get("wt.manifest")
    if manifest and Path(manifest).is_file():  # the manifests are on this machine: walk them
        try:
            return [{**_node(m), **({"path": head["path"]} if i == 0 else {})} for i, m in enumerate(walk(manifest))]
        except BadInput:
            pass
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:  # else the lineage stored with the model at registration
        local = mlflow.artifacts.download_artifacts(f"models:/{ref.name}/{v.version}/{LINEAGE_ARTIFACT}", dst_path=tmp)
        stored = jsonlib.loads(Path(local).read_text())
    return [head, *stored]
