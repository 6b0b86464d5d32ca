"""A fit's resume state: `wt-state.json` in its partial directory, and the check of a resume's options.

The file holds the MLflow run id, the dataset id and the resolved config of the interrupted run. On `--resume`
the new config is compared with it key by key (dotted names): a key the trainer lists in
`TrainerSpec.may_change` may differ (`MORE`: only a larger number; `ANY`: any value); any other difference, or
another dataset, is refused with exit 2 and one line naming the option.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.errors import BadInput
from wt_core.fit_spec import ANY, MORE, flat
from wt_core.jsonable import to_jsonable

log = console.get_logger("wt-core")
STATE_FILE = "wt-state.json"
ALWAYS_MAY_CHANGE = {"resume": ANY, "overwrite": ANY, "out": ANY, "dataset": ANY}  # dataset: compared by id


def read(path: Path) -> dict[str, Any]:
    """The interrupted run's state ({} when it has none or it cannot be read)."""
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text())
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def write(path: Path, *, tool: str, run_id: str | None, dataset_id: str, config: dict[str, Any]) -> None:
    """The state, replaced atomically."""
    state = {"tool": tool, "mlflow_run_id": run_id, "dataset_id": dataset_id, "config": to_jsonable(config)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


def changed_options(state: dict[str, Any], config: dict[str, Any], dataset_id: str, may_change: dict[str, str],
                    path: Path, output: Path | None) -> dict[str, dict[str, Any]]:
    """The options that changed since the interrupted run, when all of them may; else BadInput naming one."""
    if "config" not in state:
        log.warning("%s has no record of the interrupted run's options: they are not checked", output)
        return {}
    if state.get("dataset_id") not in (None, dataset_id):
        raise BadInput(f"--dataset is another dataset ({dataset_id}) than the interrupted run's "
                       f"({state['dataset_id']}); only a new run (without --resume) can train on it", path, "dataset")
    old, new = flat(state["config"]), flat(to_jsonable(config))
    rules = {**ALWAYS_MAY_CHANGE, **may_change}
    changed: dict[str, dict[str, Any]] = {}
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        rule = rules.get(key) or next((r for k, r in rules.items() if key.startswith(k + ".")), None)
        if rule == ANY or (rule == MORE and isinstance(a, (int, float)) and isinstance(b, (int, float)) and b >= a):
            if key not in ALWAYS_MAY_CHANGE:
                changed[key] = {"from": a, "to": b}
            continue
        allowed = ", ".join(k + (" (larger)" if r == MORE else "") for k, r in may_change.items())
        raise BadInput(f"--{key} differs from the interrupted run's ({a!r} there, {b!r} now); --resume may "
                       f"change only {allowed}", path, key)
    return changed
