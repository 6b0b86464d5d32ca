"""One line for a command line the parser refused (exit 2): what is wrong, and where.

jsonargparse says what it refused in prose; `parse_error_line` makes of it the contract's line
`error: <what> (<file>, <field>)`: a YAML syntax error names the config file and line, a value out
of a declared range names the option and its range (wt_core.ranges), a value of the wrong type
names what was expected, and a mistyped option or command gets the closest valid name.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any

from wt_core.parser import command_name, command_parser, declared_type, option_keys, subcommands
from wt_core.ranges import ranges_in


def parse_error_line(message: str, parser: Any, argv: list[str], tool: str) -> str:
    return (yaml_error(argv) or range_error(message, parser, argv, tool) or type_error(message, parser, argv, tool)
            or f"error: {suggest(message, parser, argv)} ({tool})")


def yaml_error(argv: list[str]) -> str | None:
    """`error: invalid YAML: ... (<file>, line N)` for the first --config file YAML cannot parse, else None."""
    import yaml

    files = [b for a, b in zip(argv, argv[1:], strict=False) if a == "--config"]
    files += [a.partition("=")[2] for a in argv if a.startswith("--config=")]
    for name in files:
        try:
            with open(name, encoding="utf-8") as f:
                yaml.safe_load(f)
        except (OSError, UnicodeDecodeError):
            continue  # jsonargparse's own message says what is wrong with the file
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            what = " ".join(str(getattr(e, "problem", None) or e).split())
            context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
            if context and cmark is not None and mark is not None and cmark.line != mark.line:
                what += f" ({context} started on line {cmark.line + 1})"
            where = f", line {mark.line + 1}" if mark is not None else ""
            return f"error: invalid YAML: {what} ({name}{where})"
    return None


def _given(argv: list[str], key: str) -> str | None:
    """The value given to `--key` on the command line, if it was."""
    value = next((b for a, b in zip(argv, argv[1:], strict=False) if a == f"--{key}"), None)
    return value if value is not None else next((a.partition("=")[2] for a in argv if a.startswith(f"--{key}=")),
                                                None)


def range_error(message: str, parser: Any, argv: list[str], tool: str) -> str | None:
    """`error: --conf must be in [0, 1]; got 1.5 (<tool>, conf)` for a value out of its declared range."""
    found = re.search(r'key "([\w.]+)"', message)
    if not found:
        return None
    key = found.group(1)
    ranges = ranges_in(declared_type(command_parser(parser, command_name(argv)), key))
    if not ranges:
        return None
    refused = re.search(r"Not of type \w+: (must be .*?; got \S+)", message)
    if refused:
        return f"error: --{key} {refused.group(1)} ({tool}, {key})"
    given = _given(argv, key)
    got = f"; got {given!r}" if given is not None else ""
    return f"error: --{key} expects a number {ranges[0].interval()}{got} ({tool}, {key})"


def describe(hint: Any) -> str:
    """What a value of this type looks like on the command line, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        parts = [describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (or null)" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if hint is dict or origin is dict:
        return "a mapping in YAML or JSON, e.g. '{\"a.b\": 1}'"
    if hint in (list, tuple) or origin in (list, tuple):
        return "a list, e.g. '[1, 2]' or several words"
    if ranges_in(hint):
        return f"a number {ranges_in(hint)[0].interval()}"
    words = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return words.get(hint, getattr(hint, "__name__", str(hint)))


def type_error(message: str, parser: Any, argv: list[str], tool: str) -> str | None:
    """One clear line for jsonargparse's "Does not validate against any of the Union subtypes": option, expected, got."""
    import yaml

    found = re.search(r'key "([\w.]+)":\s+Does not validate against any of the Union subtypes', message)
    if not found:
        return None
    key = found.group(1)
    hint = declared_type(command_parser(parser, command_name(argv)), key)
    expected = describe(hint) if hint is not None else "another type"
    value = _given(argv, key)
    got = ""
    if value is not None:
        got = f"; got {value!r}"
        try:
            yaml.safe_load(value)
        except yaml.YAMLError as e:
            got += f", which is not valid YAML: {' '.join(str(getattr(e, 'problem', None) or e).split())}"
    return f"error: --{key} expects {expected}{got} ({tool}, {key})"


def suggest(message: str, parser: Any, argv: list[str]) -> str:
    """What jsonargparse refused, in one line, with the closest valid key when one was mistyped."""
    command = command_name(argv)
    known = option_keys(command_parser(parser, command))
    bad = re.findall(r"(?:Unrecognized arguments:|Key|key|Unexpected|option)\s+['\"]?-{0,2}([\w.\-]+)", message)
    bad += re.findall(r"--([\w.\-]+)", message.split("\n")[0]) if "nrecognized" in message else []
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()] or ["invalid arguments"]
    first = lines[0] if not lines[0].endswith(":") or len(lines) == 1 else f"{lines[0]} {lines[1]}"
    first = " ".join(first.split())
    first = first[0].lower() + first[1:] if first else first
    first = first.removeprefix("error: ")
    for key in bad:
        key = key.split("=")[0]
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if not close and "." in key:
            close = difflib.get_close_matches(key.split(".")[-1], [k.split(".")[-1] for k in known], n=1, cutoff=0.6)
            close = [k for k in known if k.endswith("." + close[0])][:1] if close else []
        hint = f"; did you mean --{close[0]}?" if close else ""
        return f"unknown option --{key}{hint}"
    names = list(subcommands(parser))
    if command and command not in names:
        close = difflib.get_close_matches(command, names, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (commands: {', '.join(names)})"
        return f"unknown command {command!r}{hint}"
    return first
