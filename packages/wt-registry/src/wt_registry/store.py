"""The MLflow side: connecting (with a one-line error when the server is away), naming
versions (`models:/name@alias`, `models:/name/3`, `name@alias`, `name/3`, `name`), and
turning MLflow's errors about unknown models, versions and aliases into bad input.

mlflow is imported inside the functions, never at module import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wt_core.errors import BadInput

EVAL_PREFIX = "wt.eval/"
_NAME = re.compile(r"^[\w.\- ]+$")


@dataclass(frozen=True)
class Ref:
    """A registered model version as a user names it: by number, by alias, or the latest."""

    name: str
    version: str | None = None
    alias: str | None = None

    @property
    def uri(self) -> str:
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        if self.version:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}/latest"

    def __str__(self) -> str:
        return self.uri


def parse_ref(text: str, field: str = "model") -> Ref:
    """`models:/name@alias`, `models:/name/3`, `name@alias`, `name/3`, `name:3` or `name` (latest)."""
    raw = str(text).strip()
    body = raw.removeprefix("models:/").strip("/")
    name, version, alias = body, None, None
    if "@" in body:
        name, _, alias = body.partition("@")
    elif "/" in body:
        name, _, version = body.rpartition("/")
    elif ":" in body:
        name, _, version = body.rpartition(":")
    if version == "latest":
        version = None
    if not name or not _NAME.match(name) or (alias is not None and not alias) or (version is not None and not version.isdigit()):
        raise BadInput(f"not a model reference: {raw!r} (expected name@alias, name/VERSION or models:/name@alias)",
                       None, field)
    return Ref(name, version, alias)


def connect():
    """An MlflowClient on our tracking URI; an unreachable server fails within seconds, in one line."""
    from wt_core.tracking import configure

    configure()
    from mlflow import MlflowClient

    return MlflowClient()


def _error_code(e: Exception) -> str:
    return str(getattr(e, "error_code", "") or "")


@contextmanager
def mlflow_errors(what: str, field: str | None = None) -> Iterator[None]:
    """MLflow's 'does not exist' and 'invalid value' errors as one line of bad input."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        code = _error_code(e)
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "RESOURCE_ALREADY_EXISTS", "NOT_FOUND"):
            msg = " ".join(str(e.message if hasattr(e, "message") else e).split())[:300]
            raise BadInput(f"{what}: {msg}", None, field) from None
        raise


def registered_model(client, name: str):
    """The registered model `name`, or one line naming the models there are."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as e:
        if _error_code(e) not in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            raise
    names = sorted(m.name for m in client.search_registered_models(max_results=200))
    hint = f" (registered: {', '.join(names[:10])})" if names else " (the registry is empty)"
    raise BadInput(f"no registered model named {name!r}{hint}", None, "model")


def resolve(client, ref: Ref | str, field: str = "model"):
    """The ModelVersion a reference names; unknown models, versions and aliases are bad input."""
    from mlflow.exceptions import MlflowException

    ref = parse_ref(ref, field) if isinstance(ref, str) else ref
    model = registered_model(client, ref.name)
    aliases = dict(getattr(model, "aliases", {}) or {})
    if ref.alias is not None:
        if ref.alias not in aliases:
            known = ", ".join(f"{a} (v{v})" for a, v in sorted(aliases.items())) or "none"
            raise BadInput(f"unknown alias {ref.alias!r} of model {ref.name!r} (aliases: {known})", None, field)
        return client.get_model_version(ref.name, str(aliases[ref.alias]))
    if ref.version is None:
        versions = client.search_model_versions(f"name='{ref.name}'")
        if not versions:
            raise BadInput(f"model {ref.name!r} has no versions", None, field)
        return max(versions, key=lambda v: int(v.version))
    try:
        return client.get_model_version(ref.name, ref.version)
    except MlflowException as e:
        if _error_code(e) not in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            raise
        raise BadInput(f"model {ref.name!r} has no version {ref.version}", None, field) from None


def version_ref(version: str, name: str, field: str = "version") -> Ref:
    """`--version 3` or `--version champion` (an alias) of model `name`."""
    text = str(version).strip()
    if not text:
        raise BadInput("no version given", None, field)
    return Ref(name, version=text) if text.isdigit() else Ref(name, alias=text.lstrip("@"))


def aliases_of(client, name: str) -> dict[str, str]:
    """Alias to version number, of registered model `name`."""
    return {a: str(v) for a, v in (getattr(registered_model(client, name), "aliases", {}) or {}).items()}


def json_tag(tags: dict[str, str], key: str, default: Any = None) -> Any:
    text = tags.get(key)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def evaluations(tags: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Evaluations attached to a version: (dataset id, split) to {metrics, evaluation id}."""
    out = {}
    for key, text in tags.items():
        if key.startswith(EVAL_PREFIX):
            dataset_id, _, split = key[len(EVAL_PREFIX):].rpartition("/")
            try:
                out[(dataset_id, split)] = json.loads(text)
            except ValueError:
                continue
    return out


def eval_tag(dataset_id: str, split: str) -> str:
    return f"{EVAL_PREFIX}{dataset_id}/{split}"
