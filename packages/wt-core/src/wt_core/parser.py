"""The jsonargparse parser of a tool, and what the CLI asks of it.

`build_parser` makes one subcommand per command, its options from the function's signature
(`--config`, dotted keys of dataclass sections, help from docstrings). The other functions read a
command's options back: their keys, which are flags, which take lists, the type declared for a key.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

Commands = dict[str, "Callable[..., Any] | str"]

# Options every command has besides its function's parameters: not passed to the function.
RESERVED = ("config", "verbose", "quiet", "__path__", "print_config")
# The two log switches, the same in every command of every tool (wt_core.console.setup reads them).
SWITCHES = {"verbose": "Show tracebacks and debug logs.", "quiet": "Show warnings and errors only, no progress."}


def load_command(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    """A command given as a function or as 'package.module:function' (imported only when needed)."""
    if callable(ref):
        return ref
    import importlib

    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def build_parser(tool: str, description: str, commands: Commands) -> Any:
    from jsonargparse import ActionConfigFile, ArgumentParser, set_parsing_settings

    from wt_core import ranges

    ranges.register()  # options declare their number ranges as types (wt_core.ranges)
    # dataclass sections document their fields with attribute docstrings: show them in --help
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    functions = {name: load_command(ref) for name, ref in commands.items()}

    # no abbreviations: a typo such as --model.backbon must be refused, not taken for --model.backbone
    parser = ArgumentParser(prog=tool, description=description, exit_on_error=False, allow_abbrev=False)
    subs = parser.add_subcommands(dest="command", required=True)
    for name, fn in functions.items():
        doc = (fn.__doc__ or "").strip()
        sub = ArgumentParser(prog=f"{tool} {name}", description=doc.split("\n\n")[0], exit_on_error=False,
                             allow_abbrev=False)
        sub.add_argument("--config", action=ActionConfigFile, help="A YAML or JSON config file (see --print_config).")
        sub.add_function_arguments(fn, fail_untyped=True, sub_configs=True)
        for switch, text in SWITCHES.items():
            sub.add_argument(f"--{switch}", type=bool, default=False, help=text)
        subs.add_subcommand(name, sub, help=doc.split("\n")[0])
    return parser


def command_name(argv: list[str]) -> str | None:
    """The command an argv asks for: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def subcommands(parser: Any) -> dict[str, Any]:
    """Command name to its parser."""
    return dict(parser._subcommands_action._name_parser_map or {})


def command_parser(parser: Any, command: str | None) -> Any:
    """The parser of `command`, or the tool's parser when there is no such command."""
    return subcommands(parser).get(command or "") or parser


def option_keys(sub: Any) -> list[str]:
    """Every `--key` of a parser, without the dashes."""
    return [opt[2:] for action in sub._actions for opt in action.option_strings if opt.startswith("--")]


def declared_type(sub: Any, key: str) -> Any:
    """The type a parser declares for `key` (None when it has no such option)."""
    action = next((a for a in sub._actions if a.dest == key), None)
    return getattr(action, "_typehint", None) if action is not None else None


def flag_keys(sub: Any) -> set[str]:
    """The boolean options (`--overwrite` alone means `--overwrite true`), with their dashes."""
    keys: set[str] = set()
    for action in sub._actions:
        if getattr(action, "_typehint", None) is bool or (
                action.choices and set(map(str, action.choices)) == {"true", "false"}):
            keys.update(o for o in action.option_strings if o.startswith("--"))
    return keys


def _is_list_hint(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (list, tuple, set):
        return True
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_is_list_hint(a) for a in typing.get_args(hint) if a is not type(None))
    return False


def list_keys(sub: Any) -> set[str]:
    """The options that take a list (`--evaluations a b c`), with their dashes."""
    return {o for a in sub._actions if _is_list_hint(getattr(a, "_typehint", None))
            for o in a.option_strings if o.startswith("--")}
