"""The search space: dotted keys of the target's config mapped to distributions.

Each entry is a small mapping, as written in a study's YAML:

    space:
      optimizer.lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
      data.batch_size: {type: int, low: 8, high: 64, step: 8}
      model.backbone: {type: categorical, choices: [resnet18, mobilenetv3_small_050]}

Checked before any trial runs, so a bad space exits 2 with one line naming the key.
"""

from __future__ import annotations

from typing import Any

from wt_core.errors import BadInput

TYPES = ("float", "int", "categorical")
_ALLOWED = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


def _number(entry: dict, name: str, where: str, integer: bool) -> float | int:
    value = entry.get(name)
    if value is None:
        raise BadInput(f"{name} is required for a {entry['type']} distribution", None, f"{where}.{name}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name} must be a number, got {value!r}", None, f"{where}.{name}")
    if integer and int(value) != value:
        raise BadInput(f"{name} must be an integer for an int distribution, got {value!r}", None, f"{where}.{name}")
    return int(value) if integer else float(value)


def distributions(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions for a search space, or BadInput naming the entry at fault."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not space:
        raise BadInput("the search space is empty: give at least one key to tune", None, "space")
    out: dict[str, Any] = {}
    for key, entry in space.items():
        where = f"space.{key}"
        if not isinstance(entry, dict):
            raise BadInput(f"expected a mapping with type and its bounds or choices, got {entry!r}", None, where)
        kind = entry.get("type")
        if kind not in TYPES:
            raise BadInput(f"type must be one of {', '.join(TYPES)}, got {kind!r}", None, f"{where}.type")
        extra = sorted(set(entry) - _ALLOWED[kind])
        if extra:
            raise BadInput(f"unexpected field {extra[0]!r} for a {kind} distribution "
                           f"(fields: {', '.join(sorted(_ALLOWED[kind]))})", None, f"{where}.{extra[0]}")
        if kind == "categorical":
            choices = entry.get("choices")
            if not isinstance(choices, list) or not choices:
                raise BadInput("a categorical distribution needs a non-empty list of choices", None, f"{where}.choices")
            bad = [c for c in choices if not (c is None or isinstance(c, bool | int | float | str))]
            if bad:
                raise BadInput(f"choices must be strings, numbers, booleans or null, got {bad[0]!r}", None, f"{where}.choices")
            if len(set(map(repr, choices))) != len(choices):
                raise BadInput("choices must not repeat", None, f"{where}.choices")
            out[key] = CategoricalDistribution(choices)
            continue
        integer = kind == "int"
        low, high = _number(entry, "low", where, integer), _number(entry, "high", where, integer)
        if low > high:
            raise BadInput(f"low ({low}) is above high ({high})", None, f"{where}.low")
        log = entry.get("log", False)
        if not isinstance(log, bool):
            raise BadInput(f"log must be true or false, got {log!r}", None, f"{where}.log")
        step = entry.get("step")
        if step is not None:
            step = _number(entry, "step", where, integer)
            if step <= 0:
                raise BadInput(f"step must be positive, got {step}", None, f"{where}.step")
            if log and (kind == "float" or step != 1):
                raise BadInput("log and step cannot be used together", None, f"{where}.step")
        if log and low <= 0:
            raise BadInput(f"a log distribution needs low > 0, got {low}", None, f"{where}.low")
        if integer:
            out[key] = IntDistribution(low, high, log=log, step=step or 1)
        else:
            out[key] = FloatDistribution(low, high, log=log, step=step)
    return out


def check_enqueued(enqueue: list[dict[str, Any]], dists: dict[str, Any]) -> None:
    """Configurations to try first must use keys of the space and values inside it."""
    for i, params in enumerate(enqueue):
        if not isinstance(params, dict):
            raise BadInput(f"expected a mapping of space keys to values, got {params!r}", None, f"enqueue[{i}]")
        for key, value in params.items():
            if key not in dists:
                raise BadInput(f"{key!r} is not a key of the search space", None, f"enqueue[{i}].{key}")
            try:
                ok = dists[key]._contains(dists[key].to_internal_repr(value))
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise BadInput(f"{value!r} lies outside the space of {key}", None, f"enqueue[{i}].{key}")


def suggest(trial, dists: dict[str, Any]) -> dict[str, Any]:
    """Sample (or take the enqueued value of) every key of the space."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    out: dict[str, Any] = {}
    for key, d in dists.items():
        if isinstance(d, CategoricalDistribution):
            out[key] = trial.suggest_categorical(key, d.choices)
        elif isinstance(d, IntDistribution):
            out[key] = trial.suggest_int(key, d.low, d.high, step=d.step, log=d.log)
        else:
            out[key] = trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)
    return out
