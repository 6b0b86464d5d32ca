"""Who is running: the tool, the command, its argv and the resolved config.

A command function is wrapped with `@command(tool, name)`. Called from Python or
from the CLI, the wrapper records the bound arguments as the resolved config, so
the manifest a function writes says exactly how it ran. A plain dict given for an
option section (a parameter annotated with a dataclass) becomes that dataclass
here, its keys laid over the parameter's default: `fit(train={"epochs": 3})`
from Python means what `--train.epochs 3` means on the command line.
"""

from __future__ import annotations

import contextvars
import dataclasses
import errno
import functools
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wt_core import offline, ranges
from wt_core.errors import BadInput
from wt_core.jsonable import to_jsonable

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Invocation:
    tool: str
    command: str
    version: str
    argv: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    inputs: list[Input] = field(default_factory=list)
    """What the command reads (manifest directories, source folders): no output may be, hold or lie in one."""
    outputs: list[Any] = field(default_factory=list)
    """The `Output`s the command is building (wt_core.outputs)."""
    kept: list[Any] = field(default_factory=list)
    """Outputs that hold trained work: a refusal after it abandons them no more (`keep_output`)."""
    warnings: list[str] = field(default_factory=list)
    """Choices the user should know of; `warn` logs them and the manifest records them (details.warnings)."""


@dataclass(frozen=True)
class Input:
    path: Path
    """Resolved."""
    what: str
    """How the refusal names it: "input dataset's directory", "source folder" ..."""
    folder: bool
    """A folder no output may lie in (a manifest's directory, a scanned source); else one file."""
    file: Path
    """The file the refusal names."""


def _clash(out: Path, inp: Input) -> str | None:
    """Why an output directory `out` (resolved) would destroy or pollute `inp`, or None."""
    if out == inp.path:
        return f"--out is the {inp.what}"
    if out in inp.path.parents:
        return f"--out holds the {inp.what}"
    if inp.folder and inp.path in out.parents:
        return f"--out lies inside the {inp.what}"
    return None


def check_output(out: str | Path, inputs: list[Input] | None = None) -> None:
    """Refuse an output directory that is, holds or lies inside an input of this command (exit 2)."""
    out = Path(out).expanduser().resolve()
    for inp in current().inputs if inputs is None else inputs:
        if (why := _clash(out, inp)) is not None:
            raise BadInput(f"{why}: a command never writes over what it reads; choose another --out", inp.file, "out")


def add_input(path: str | Path, what: str, *, folder: bool = True, file: str | Path | None = None) -> None:
    """Record what the running command reads; refused at once if an output already being built clashes with it."""
    p = Path(path).expanduser().resolve()
    inp = Input(p, what, folder, Path(file) if file is not None else p)
    inv = current()
    for output in inv.outputs:
        check_output(output.final, [inp])
    inv.inputs.append(inp)


def warn(message: str) -> None:
    """A quiet choice made loud: logged on stderr now, and kept in the manifest the command writes."""
    import logging

    inv = current()
    logging.getLogger(f"wildtrain.{inv.tool}").warning("WARNING: %s", message)
    if message not in inv.warnings:
        inv.warnings.append(message)


def add_output(output: Any) -> None:
    """Record an output directory the command builds (checked against every input, now and later)."""
    check_output(output.final)
    current().outputs.append(output)


def keep_output(output: Any) -> None:
    """The output holds work worth a --resume (a model being trained): a later refusal keeps it."""
    kept = current().kept
    if output is not None and output not in kept:
        kept.append(output)


def done_output(output: Any) -> None:
    """The output is committed: what the command reads from it afterwards is its own work, not an input."""
    outs = current().outputs
    if output in outs:
        outs.remove(output)


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("wt_invocation", default=None)
_cli_argv: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("wt_cli_argv", default=None)


def current() -> Invocation:
    inv = _current.get()
    if inv is None:
        return Invocation(tool="python", command="api", version="0")
    return inv


def set_cli_argv(argv: list[str]) -> contextvars.Token[list[str] | None]:
    return _cli_argv.set(list(argv))


def command(tool: str, name: str, version: str = "0.1.0") -> Callable[[F], F]:
    """Mark a function as the `name` command of `tool`, recording how it was called."""

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)
        sections: dict[str, type] | None = None
        declared_ranges: dict[str, Any] | None = None

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            nonlocal sections, declared_ranges
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            if declared_ranges is None:
                declared_ranges = ranges.ranged(fn)
            ranges.check_arguments(declared_ranges, bound.arguments)  # as the CLI's parser does (wt_core.ranges)
            if any(isinstance(v, dict) for v in bound.arguments.values()):
                if sections is None:
                    sections = option_sections(fn)
                for key, cls in sections.items():
                    if isinstance(bound.arguments.get(key), dict):
                        bound.arguments[key] = coerce(bound.arguments[key], cls, sig.parameters[key].default, key)
            offline.apply()  # every command, called from the CLI or from Python: no library reaches the network
            config = {k: to_jsonable(v) for k, v in bound.arguments.items()}
            inv = Invocation(tool=tool, command=name, version=version,
                             argv=list(_cli_argv.get() or []), config=config)
            token = _current.set(inv)
            try:
                return fn(*bound.args, **bound.kwargs)
            except BadInput:
                for output in inv.outputs:  # refused: a fresh output directory is not left behind
                    if output not in inv.kept:
                        output.abandon()
                raise
            except OSError as e:  # a full disk: say where it was being written (the output is kept)
                if e.errno in (errno.ENOSPC, errno.EDQUOT) and e.filename is None and inv.outputs:
                    e.filename = str(inv.outputs[-1].dir)
                raise
            finally:
                for output in inv.outputs:  # the command is over: its unfinished outputs are no longer written
                    output.release()
                _current.reset(token)

        run.wt_command = (tool, name)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a parameter is annotated with (alone, or in `X | None`)."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(hint) if isinstance(a, type) and dataclasses.is_dataclass(a)]
        return found[0] if len(found) == 1 else None
    return None


def option_sections(fn: Callable[..., Any]) -> dict[str, type]:
    """Parameter name to the dataclass it is annotated with (the command's option sections)."""
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        return {}
    return {k: cls for k, h in hints.items() if k != "return" and (cls := _dataclass_in(h)) is not None}


def coerce(value: dict[str, Any], cls: type, default: Any, name: str) -> Any:
    """A dict as the dataclass `cls`: its keys over the parameter's default (or over the class's defaults)."""
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - known)
    if unknown:
        raise BadInput(f"unknown key {unknown[0]!r} of {name} (keys: {', '.join(sorted(known))})", None,
                       f"{name}.{unknown[0]}")
    try:
        if isinstance(default, cls):
            return dataclasses.replace(default, **value)  # type: ignore[type-var]  # `default` is a `cls`
        return cls(**value)
    except (TypeError, ValueError) as e:
        raise BadInput(str(e), None, name) from None
