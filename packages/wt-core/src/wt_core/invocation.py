"""Who is running: the tool, the command, its argv and the resolved config.

A command function is wrapped with `@command(tool, name)`. Called from Python or
from the CLI, the wrapper records the bound arguments as the resolved config, so
the manifest a function writes says exactly how it ran.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wt_core.jsonable import to_jsonable

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Invocation:
    tool: str
    command: str
    version: str
    argv: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("wt_invocation", default=None)
_cli_argv: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("wt_cli_argv", default=None)


def current() -> Invocation:
    inv = _current.get()
    if inv is None:
        return Invocation(tool="python", command="api", version="0")
    return inv


def set_cli_argv(argv: list[str]) -> contextvars.Token:
    return _cli_argv.set(list(argv))


def command(tool: str, name: str, version: str = "0.1.0") -> Callable[[F], F]:
    """Mark a function as the `name` command of `tool`, recording how it was called."""

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            config = {k: to_jsonable(v) for k, v in bound.arguments.items()}
            inv = Invocation(tool=tool, command=name, version=version,
                             argv=list(_cli_argv.get() or []), config=config)
            token = _current.set(inv)
            try:
                return fn(*bound.args, **bound.kwargs)
            finally:
                _current.reset(token)

        run.wt_command = (tool, name)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap
