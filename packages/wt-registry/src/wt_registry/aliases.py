"""`wt-registry alias` and `wt-registry promote`: aliases only (MLflow's stages are deprecated).

Every wt-registry command names a registered model one way: `--model name`, `name/VERSION` or
`name@ALIAS` (`wt_registry.store.parse_ref`). `alias` sets, moves or deletes an alias. `promote --if-better EVAL` attaches the
evaluation to the version and moves the alias only when the version's metric
beats the current holder's on the same dataset split, and says which way it went.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from wt_core import console
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest
from wt_core.manifest_io import lineage
from wt_core.readers import read_evaluation

from wt_registry import __version__
from wt_registry.store import (
    aliases_of,
    connect,
    eval_tag,
    evaluations,
    json_tag,
    mlflow_errors,
    parse_ref,
    resolve,
    version_ref,
)

log = console.get_logger("wt-registry")
PREFERRED_METRICS = ("mAP50", "mAP", "map50", "map", "f1_macro", "acc", "accuracy", "f1")


def model_version(model: str, version: str | None, *, need: bool) -> tuple[str, str | None]:
    """(name, version or alias) of `--model` (name, name/VERSION or name@ALIAS); `version` is the deprecated
    `--version` (the old spelling of `--model NAME/VERSION`), refused when `--model` names a version too."""
    ref = parse_ref(model, "model")
    given = ref.version or ref.alias
    if version is not None:
        if given is not None:
            raise BadInput(f"--model {model} names a version already; drop --version", None, "version")
        sys.stderr.write(f"warning: --version is deprecated, use --model {ref.name}/{version} (or "
                         f"{ref.name}@ALIAS)\n")
        given = version
    if need and given is None:
        raise BadInput(f"name the version: --model {ref.name}/VERSION or {ref.name}@ALIAS", None, "model")
    return ref.name, given


def _say(result: dict[str, Any], json_out: bool) -> dict[str, Any] | None:
    log.info("%s", result["message"])
    return result if json_out else None


@command("wt-registry", "alias", __version__)
def alias(model: str, alias: str, delete: bool = False, json: bool = False,
          version: str | None = None) -> dict[str, Any] | None:
    """Set, move or delete an alias of a registered model (champion, challenger ...).

    Args:
        model: The version the alias should point at, as every wt-registry command names one: name/VERSION or
            name@ALIAS (another alias: set and move); with --delete, the model's name.
        alias: The alias.
        delete: Delete the alias instead.
        json: Print what changed as JSON on stdout.
        version: Deprecated: the version, now given in --model (name/VERSION).
    """
    model, version = model_version(model, version, need=not delete)
    if not alias or alias.isdigit() or alias.lower() == "latest":
        raise BadInput(f"an alias is a name that is not a number nor 'latest', got {alias!r}", None, "alias")
    client = connect()
    current = aliases_of(client, model)
    before = current.get(alias)
    if delete:
        if version is not None:
            raise BadInput("give a version in --model or --delete, not both", None, "delete")
        if before is None:
            known = ", ".join(sorted(current)) or "none"
            raise BadInput(f"unknown alias {alias!r} of model {model!r} (aliases: {known})", None, "alias")
        with mlflow_errors(f"cannot delete alias {alias!r}", "alias"):
            client.delete_registered_model_alias(model, alias)
        return _say({"model": model, "alias": alias, "action": "deleted", "from": before, "to": None,
                     "message": f"{model}: alias {alias} deleted (was version {before})"}, json)
    target = resolve(client, version_ref(version, model), "model")
    with mlflow_errors(f"cannot set alias {alias!r}", "alias"):
        client.set_registered_model_alias(model, alias, target.version)
    action = "set" if before is None else ("unchanged" if before == str(target.version) else "moved")
    what = {"set": f"set to version {target.version}", "unchanged": f"already on version {target.version}",
            "moved": f"moved from version {before} to {target.version}"}[action]
    return _say({"model": model, "alias": alias, "action": action, "from": before, "to": str(target.version),
                 "message": f"{model}: alias {alias} {what}"}, json)


def _pick_metric(metrics: dict[str, float], metric: str | None, file) -> str:
    if metric is not None:
        if metric not in metrics:
            raise BadInput(f"the evaluation has no metric {metric!r} (it has: {', '.join(sorted(metrics))})", file,
                           "metrics")
        return metric
    for m in PREFERRED_METRICS:
        if m in metrics:
            return m
    raise BadInput("choose the metric to compare with --metric", file, "metrics")


def _check_belongs(ev: EvaluationManifest, run_ids: list[str], version: str) -> None:
    """An evaluation made from one of the version's runs (when its lineage names a run) is accepted."""
    try:
        ancestors = lineage(ev)
    except BadInput:
        return
    runs = [m.id for m in ancestors if m.kind == "run"]
    if runs and run_ids and not set(runs) & set(run_ids):
        raise BadInput(f"this evaluation is of run {runs[0]}, not of version {version} (runs {', '.join(run_ids)})",
                       ev.path, "parents")


@command("wt-registry", "promote", __version__)
def promote(model: str, alias: str = "champion", if_better: str | None = None, metric: str | None = None,
            mode: Literal["max", "min"] = "max", json: bool = False,
            version: str | None = None) -> dict[str, Any] | None:
    """Point an alias at a version; with --if-better EVAL only when it beats the current holder.

    The evaluation (a wt-eval manifest of this version) is attached to the version; the alias moves
    only when its metric beats the metric the current holder has on the same dataset and split
    (attached at register --evaluation or an earlier promote). Says which way it went.

    Args:
        model: The candidate version: name/VERSION or name@ALIAS (e.g. aerial@challenger).
        alias: The alias to move.
        if_better: The candidate's evaluation manifest; without it the alias moves unconditionally.
        metric: The metric to compare (default: mAP50 for detection, f1_macro or acc for classification).
        mode: Whether a larger (max) or smaller (min) metric is better.
        json: Print the decision as JSON on stdout.
        version: Deprecated: the version, now given in --model (name/VERSION).
    """
    model, version = model_version(model, version, need=True)
    client = connect()
    cand = resolve(client, version_ref(version, model), "model")
    if if_better is None:
        return alias_(model, alias, str(cand.version), json)
    ev = read_evaluation(if_better)
    cand_runs = json_tag(dict(cand.tags), "wt.run_ids", []) or []
    _check_belongs(ev, cand_runs, str(cand.version))
    key = _pick_metric(ev.metrics, metric, ev.path)
    client.set_model_version_tag(model, cand.version, eval_tag(ev.dataset_id, ev.split),
                                 _json_dumps({"evaluation_id": ev.id, "metrics": ev.metrics}))
    new = float(ev.metrics[key])
    holder = aliases_of(client, model).get(alias)
    where = f"{ev.dataset_id}/{ev.split}"
    base = {"model": model, "alias": alias, "metric": key, "dataset_id": ev.dataset_id, "split": ev.split,
            "candidate": str(cand.version), "candidate_value": new, "from": holder}
    if holder is None or holder == str(cand.version):
        client.set_registered_model_alias(model, alias, cand.version)
        msg = (f"{model}: no version held {alias}; version {cand.version} takes it ({key} {new:.4f} on {where})"
               if holder is None else f"{model}: version {cand.version} already holds {alias}")
        return _say({**base, "moved": holder is None, "holder_value": None, "to": str(cand.version),
                     "message": msg}, json)
    held = client.get_model_version(model, holder)
    theirs = evaluations(dict(held.tags)).get((ev.dataset_id, ev.split))
    if theirs is None or key not in theirs.get("metrics", {}):
        raise BadInput(f"version {holder} (holding {alias}) has no {key} on dataset {ev.dataset_id} split "
                       f"{ev.split} to compare with: attach its evaluation first (wt-registry promote --model "
                       f"{model}/{holder} --alias {alias} --if-better EVAL)", ev.path, "dataset_id")
    old = float(theirs["metrics"][key])
    better = new > old if mode == "max" else new < old
    if better:
        client.set_registered_model_alias(model, alias, cand.version)
        msg = (f"{model}: {alias} moved from version {holder} to {cand.version}: {key} {new:.4f} beats "
               f"{old:.4f} on {where}")
    else:
        msg = (f"{model}: {alias} stays on version {holder}: version {cand.version} has {key} {new:.4f}, "
               f"not better than {old:.4f} on {where}")
    return _say({**base, "moved": better, "holder_value": old, "to": str(cand.version) if better else holder,
                 "message": msg}, json)


def alias_(model: str, name: str, version: str, json_out: bool) -> dict[str, Any] | None:
    return alias.__wrapped__(f"{model}/{version}", name, json=json_out)  # type: ignore[attr-defined]


def _json_dumps(data: Any) -> str:
    return json.dumps(data)
