"""The tool a study tunes, driven only through its command line.

A target is a command line (`wt-cls fit --dataset d/manifest.json`), split like a
shell would but never run by one. Its config keys are learned by asking it for
`--print_config`; a trial runs it with one `--key value` pair per sampled
parameter and `--out` inside the study directory.
"""

from __future__ import annotations

import difflib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput


def split_command(command: str, field: str) -> list[str]:
    """A command line as an argument list, its program found on PATH or beside our interpreter."""
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise BadInput(f"cannot split the command line: {e}", None, field) from None
    if not argv:
        raise BadInput("the command line is empty", None, field)
    exe = argv[0]
    if "/" not in exe:
        beside = Path(sys.executable).parent / exe
        found = str(beside) if beside.exists() else shutil.which(exe)
        if found is None:
            raise BadInput(f"program {exe!r} not found on PATH", None, field)
        argv[0] = found
    elif not Path(exe).exists():
        raise BadInput(f"program {exe!r} not found", None, field)
    return argv


def base_argv(target: str, target_config: str | None) -> list[str]:
    argv = split_command(target, "target")
    if target_config:
        if not Path(target_config).is_file():
            raise BadInput("target config file not found", target_config, "target_config")
        argv += ["--config", str(Path(target_config).absolute())]
    return argv


def format_value(value: Any) -> str:
    """A sampled value as jsonargparse reads it back (YAML scalars)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def overrides(params: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in params.items():
        args += [f"--{key}", format_value(value)]
    return args


def print_config(argv: list[str], timeout: float = 300) -> dict[str, Any]:
    """The target's full resolved config for `argv` (its `--print_config`), as a mapping."""
    import yaml

    try:
        proc = subprocess.run([*argv, "--print_config"], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadInput(f"the target did not print its config within {timeout:.0f} s", None, "target") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise BadInput(f"the target refused its base config: {last}", None, "target")
    try:
        config = yaml.safe_load(proc.stdout)
    except yaml.YAMLError:
        config = None
    if not isinstance(config, dict):
        raise BadInput("the target's --print_config did not print a YAML mapping", None, "target")
    return config


def flat_keys(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested config, with their values (sections are listed too)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        out[name] = value
        if isinstance(value, dict):
            out.update(flat_keys(value, name + "."))
    return out


def check_keys(keys: list[str], config: dict[str, Any]) -> None:
    """Every search key must be a leaf key of the target's config; the closest name is suggested."""
    known = flat_keys(config)
    leaves = [k for k, v in known.items() if not isinstance(v, dict)]
    for key in keys:
        if key in known and not isinstance(known[key], dict):
            continue
        if key in known:
            raise BadInput(f"{key!r} is a section of the target's config, not a key", None, f"space.{key}")
        close = difflib.get_close_matches(key, leaves, n=1, cutoff=0.5)
        if not close:
            last = key.rsplit(".", 1)[-1]
            close = [k for k in leaves if k.rsplit(".", 1)[-1] == last][:1]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BadInput(f"{key!r} is not a key of the target's config{hint}", None, f"space.{key}")


def best_config(argv: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """The target's resolved config with the best parameters, ready for its `--config`."""
    config = print_config([*argv, *overrides(params)])
    for key in ("out", "resume", "overwrite"):
        if key in config:
            config[key] = None if key == "out" else False
    return config
