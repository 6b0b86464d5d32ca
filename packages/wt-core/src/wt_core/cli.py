"""The command line every tool shares (contract section 4).

A tool's `cli.py` is a map from command names to typed functions; `run_tool`
builds the jsonargparse parser (`--config`, `--print_config`, dotted keys,
help from docstrings), refuses mistyped keys with the closest valid name,
keeps standard output for the one manifest path, and maps failures to exit
statuses: 0 success, 2 bad input, 1 failure while running, 130 interrupted.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from wt_core import library_logs, offline
from wt_core.errors import BadInput

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
_RESERVED = ("config", "verbose", "quiet", "__path__", "print_config")


def _error(line: str) -> None:
    sys.stderr.write(line.rstrip() + "\n")
    sys.stderr.flush()


Commands = dict[str, "Callable[..., Any] | str"]


def load_command(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    """A command given as a function or as 'package.module:function' (imported only when needed)."""
    if callable(ref):
        return ref
    import importlib

    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def build_parser(tool: str, description: str, commands: Commands):
    from jsonargparse import ActionConfigFile, ArgumentParser, set_parsing_settings

    # dataclass sections document their fields with attribute docstrings: show them in --help
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    commands = {name: load_command(ref) for name, ref in commands.items()}

    # no abbreviations: a typo such as --model.backbon must be refused, not taken for --model.backbone
    parser = ArgumentParser(prog=tool, description=description, exit_on_error=False, allow_abbrev=False)
    subs = parser.add_subcommands(dest="command", required=True)
    for name, fn in commands.items():
        doc = (fn.__doc__ or "").strip()
        sub = ArgumentParser(prog=f"{tool} {name}", description=doc.split("\n\n")[0], exit_on_error=False,
                             allow_abbrev=False)
        sub.add_argument("--config", action=ActionConfigFile, help="A YAML or JSON config file (see --print_config).")
        sub.add_function_arguments(fn, fail_untyped=True, sub_configs=True)
        sub.add_argument("--verbose", type=bool, default=False, help="Show tracebacks and debug logs.")
        sub.add_argument("--quiet", type=bool, default=False, help="Show warnings and errors only, no progress.")
        subs.add_subcommand(name, sub, help=doc.split("\n")[0])
    return parser


def _known_keys(parser, command: str | None) -> list[str]:
    keys: list[str] = []
    target = parser
    if command:
        sub = parser._subcommands_action._name_parser_map.get(command)  # type: ignore[union-attr]
        target = sub or parser
    for action in target._actions:
        for opt in action.option_strings:
            if opt.startswith("--"):
                keys.append(opt[2:])
    return keys


def _suggest(message: str, parser, argv: list[str]) -> str:
    """One line for a jsonargparse error, with the closest valid key when one was mistyped."""
    command = next((a for a in argv if not a.startswith("-")), None)
    known = _known_keys(parser, command)
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
    if command and command not in (parser._subcommands_action._name_parser_map or {}):  # type: ignore[union-attr]
        names = list(parser._subcommands_action._name_parser_map)  # type: ignore[union-attr]
        close = difflib.get_close_matches(command, names, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (commands: {', '.join(names)})"
        return f"unknown command {command!r}{hint}"
    return first


def _bool_keys(parser, command: str | None) -> set[str]:
    sub = parser._subcommands_action._name_parser_map.get(command) if command else None  # type: ignore[union-attr]
    keys = set()
    for action in (sub or parser)._actions:
        if getattr(action, "_typehint", None) is bool or (action.choices and set(map(str, action.choices)) == {"true", "false"}):
            keys.update(o for o in action.option_strings if o.startswith("--"))
    return keys


def accept_dashes(parser, argv: list[str]) -> list[str]:
    """`--if-better` is read as `--if_better` (option names follow the parameters' underscores)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    known = set(_known_keys(parser, command))
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if key.startswith("--") and "-" in key[2:] and key[2:] not in known and key[2:].replace("-", "_") in known:
            arg = "--" + key[2:].replace("-", "_") + eq + value
        out.append(arg)
    return out


# Old spellings of options, kept for one release after 0.1 (contract section 4, "one vocabulary"):
# tool -> command -> {old key: new key}; "section.*" renames every key of a section. A rename
# applies only where the new key is an option of the command and the old one is not, so an
# entry is harmless on a command not renamed yet. The table of every option: docs/contract.md.
RENAMED: dict[str, dict[str, dict[str, str]]] = {
    "wt-yolo": {
        "fit": {"data": "dataset", "ultralytics.device": "device"},
        "val": {"data": "dataset"},
        "predict": {"data": "dataset"},
        "export": {"data": "dataset"},
    },
    "wt-mmdet": {
        "fit": {"data": "dataset"},
        "test": {"data": "dataset", "score_thr": "conf"},
        "predict": {"data": "dataset"},
    },
    "wt-cls": {
        "fit": {"trainer.accelerator": "device", "data.*": "loader.*"},
        "validate": {"batch_size": "batch", "num_workers": "workers", "accelerator": "device"},
        "test": {"batch_size": "batch", "num_workers": "workers", "accelerator": "device"},
        "predict": {"batch_size": "batch"},
    },
    "wt-eval": {
        "detect": {"score": "conf", "max_dets": "max_det", "merge.method": "slicing.merge",
                   "merge.iou": "slicing.merge_iou", "merge.metric": "slicing.merge_metric"},
    },
    "wt-registry": {
        "register": {"thresholds.conf": "conf", "thresholds.iou": "iou", "thresholds.max_det": "max_det",
                     "thresholds.imgsz": "imgsz"},
    },
}


def _new_spelling(key: str, table: dict[str, str], known: set[str]) -> str | None:
    """The new key for an old `key` (a list append `key+` keeps its +; `--score-thr` is `--score_thr`), or None."""
    base, plus = (key[:-1], "+") if key.endswith("+") else (key, "")
    if base not in known:
        base = base.replace("-", "_")
    new = table.get(base)
    for old, repl in table.items():
        if new is None and old.endswith(".*") and (base == old[:-2] or base.startswith(old[:-1])):
            new = repl[:-2] + base[len(old) - 2:]
    if new is None or base in known or new not in known:
        return None
    return new + plus


def _rename_config(config: dict, table: dict[str, str], known: set[str]) -> list[tuple[str, str]]:
    """Rename old keys of a nested config in place (sections emptied by the moves dropped); the renames made."""
    done: list[tuple[str, str]] = []

    def walk(node: dict, prefix: str) -> None:
        for key in list(node):
            if key not in node:
                continue
            path = f"{prefix}{key}"
            new = _new_spelling(path, table, known)
            if new is not None:
                value = node.pop(key)
                target = config
                *parents, leaf = new.split(".")
                for part in parents:
                    target = target.setdefault(part, {})
                target[leaf] = value
                done.append((path, new))
            elif isinstance(node[key], dict):
                walk(node[key], path + ".")
                if not node[key] and any(old.startswith(path + ".") for old, _ in done):
                    del node[key]

    walk(config, "")
    return done


def rename_deprecated(tool: str, parser, argv: list[str]) -> list[str]:
    """Old spellings of options (`RENAMED`) read as the new ones, in argv and in `--config` files, with one
    warning line each on stderr: `warning: --data is deprecated, use --dataset`."""
    command = next((a for a in argv if not a.startswith("-")), None)
    table = RENAMED.get(tool, {}).get(command or "", {})
    if not table:
        return argv
    known = set(_known_keys(parser, command))
    warned: set[str] = set()

    def warn(old: str, new: str, where: str = "") -> None:
        if old not in warned:
            warned.add(old)
            _error(f"warning: --{old} is deprecated, use --{new}{where}")

    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--config":
            arg = _renamed_config_file(arg, table, known, warn)
        elif arg.startswith("--config="):
            arg = "--config=" + _renamed_config_file(arg.removeprefix("--config="), table, known, warn)
        elif arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            if (new := _new_spelling(key, table, known)) is not None:
                warn(key.rstrip("+"), new.rstrip("+"))
                arg = f"--{new}{eq}{value}"
        out.append(arg)
    return out


def _renamed_config_file(path: str, table: dict[str, str], known: set[str], warn) -> str:
    """A config file's path, or its text with old keys renamed where it has any."""
    from pathlib import Path

    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return path  # not a readable file: jsonargparse reports it (or takes it as config text)
    if not isinstance(config, dict):
        return path
    done = _rename_config(config, table, known)
    for old, new in done:
        warn(old, new, f" (in {path})")
    return yaml.safe_dump(config, sort_keys=False) if done else path


def expand_flags(parser, argv: list[str]) -> list[str]:
    """Let boolean options stand alone as flags: `--overwrite` means `--overwrite true`."""
    command = next((a for a in argv if not a.startswith("-")), None)
    keys = _bool_keys(parser, command)
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in keys:
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is None or nxt.startswith("--") or nxt.lower() not in ("true", "false", "yes", "no", "0", "1"):
                out.append("true")
    return out


def _is_list_hint(hint: Any) -> bool:
    import typing

    origin = typing.get_origin(hint)
    if origin in (list, tuple, set):
        return True
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_is_list_hint(a) for a in typing.get_args(hint) if a is not type(None))
    return False


def gather_lists(parser, argv: list[str]) -> list[str]:
    """Let list options take several words: `--evaluations a b c` means `--evaluations '["a", "b", "c"]'`."""
    command = next((a for a in argv if not a.startswith("-")), None)
    sub = parser._subcommands_action._name_parser_map.get(command) if command else None  # type: ignore[union-attr]
    keys = {o for a in (sub or parser)._actions if _is_list_hint(getattr(a, "_typehint", None))
            for o in a.option_strings if o.startswith("--")}
    out: list[str] = []
    seen: dict[str, int] = {}  # a list option given again adds to it: --source a --source b
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg not in keys:
            out.append(arg)
            continue
        items = []
        while i < len(argv) and not argv[i].startswith("--"):
            items.append(argv[i])
            i += 1
        value = items[0] if len(items) == 1 and items[0].lstrip().startswith("[") else json.dumps(items)
        if arg in seen:
            try:
                out[seen[arg]] = json.dumps(json.loads(out[seen[arg]]) + json.loads(value))
                continue
            except (ValueError, TypeError):
                pass
        out += [arg, value]
        seen[arg] = len(out) - 1
    return out


def _interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


class _StdoutToStderr:
    """While a command runs, file descriptor 1 points at stderr: library output never pollutes stdout."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)
        return self

    def write_result(self, text: str) -> None:
        sys.stdout.flush()
        os.write(self.saved, (text.rstrip("\n") + "\n").encode())

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)


def run_tool(tool: str, description: str, commands: Commands,
             argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, print its manifest path; returns the exit status."""
    from wt_core import console, invocation
    from wt_core.help_cache import cached_help

    argv = list(sys.argv[1:] if argv is None else argv)
    offline.apply()
    library_logs.silence()  # before the parser imports the command's module (and with it the libraries)
    if (text := cached_help(tool, description, commands, argv)) is not None:
        sys.stdout.write(text)
        return EXIT_OK
    verbose = "--verbose" in argv or "--verbose=true" in argv
    parser = build_parser(tool, description, commands)
    argv = rename_deprecated(tool, parser, accept_dashes(parser, argv))
    argv = gather_lists(parser, expand_flags(parser, argv))
    try:
        cfg = parser.parse_args(argv)
    except SystemExit as e:  # --help, --print_config
        return int(e.code or 0)
    except Exception as e:  # jsonargparse's ArgumentError and friends
        _error(_yaml_error(argv) or _type_error(str(e), parser, argv, tool)
               or f"error: {_suggest(str(e), parser, argv)} ({tool})")
        return EXIT_BAD_INPUT
    name = cfg.command
    fn = load_command(commands[name])
    try:
        init = parser.instantiate_classes(cfg)
    except Exception as e:
        _error(f"error: {' '.join(str(e).split())[:300]} ({tool} {name})")
        return EXIT_BAD_INPUT
    kwargs = {k: v for k, v in dict(init[name]).items() if k not in _RESERVED}
    verbose = bool(init[name].get("verbose", verbose))
    console.setup(verbose, bool(init[name].get("quiet", False)))
    signal.signal(signal.SIGTERM, _interrupt)
    token = invocation.set_cli_argv([name, *argv[1:]] if argv and argv[0] == name else argv)
    with _StdoutToStderr() as out:
        try:
            result = fn(**kwargs)
        except BadInput as e:
            if verbose:
                traceback.print_exc()
            _error(e.line())
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            _error("interrupted: an unfinished output is kept; run the same command with --resume to continue")
            return EXIT_INTERRUPTED
        except Exception as e:
            if verbose:
                traceback.print_exc()
            if (line := _disk_full(e)) is not None:
                _error(line)
                return EXIT_FAILED
            msg = " ".join(str(e).split()) or type(e).__name__
            _error(f"error: {type(e).__name__}: {msg[:500]} (run with --verbose for the traceback)")
            return EXIT_FAILED
        finally:
            invocation._cli_argv.reset(token)
        if result is None:
            return EXIT_OK
        if hasattr(result, "kind") and hasattr(result, "path"):
            out.write_result(str(result.path))
        else:
            out.write_result(json.dumps(result, indent=2, default=str))
    return EXIT_OK


def _yaml_error(argv: list[str]) -> str | None:
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


def _describe(hint: Any) -> str:
    """What a value of this type looks like on the command line, in words."""
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        parts = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (or null)" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if hint is dict or origin is dict:
        return "a mapping in YAML or JSON, e.g. '{\"a.b\": 1}'"
    if hint in (list, tuple) or origin in (list, tuple):
        return "a list, e.g. '[1, 2]' or several words"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _type_error(message: str, parser, argv: list[str], tool: str) -> str | None:
    """One clear line for jsonargparse's "Does not validate against any of the Union subtypes": option, expected, got."""
    import yaml

    found = re.search(r'key "([\w.]+)":\s+Does not validate against any of the Union subtypes', message)
    if not found:
        return None
    key = found.group(1)
    command = next((a for a in argv if not a.startswith("-")), None)
    sub = parser._subcommands_action._name_parser_map.get(command) if command else None  # type: ignore[union-attr]
    action = next((a for a in (sub or parser)._actions if a.dest == key), None)
    expected = _describe(getattr(action, "_typehint", None)) if action is not None else "another type"
    value = next((b for a, b in zip(argv, argv[1:], strict=False) if a == f"--{key}"), None)
    value = value if value is not None else next((a.partition("=")[2] for a in argv if a.startswith(f"--{key}=")), None)
    got = ""
    if value is not None:
        got = f"; got {value!r}"
        try:
            yaml.safe_load(value)
        except yaml.YAMLError as e:
            got += f", which is not valid YAML: {' '.join(str(getattr(e, 'problem', None) or e).split())}"
    return f"error: --{key} expects {expected}{got} ({tool}, {key})"


def _disk_full(e: BaseException) -> str | None:
    """One line for an error caused by a full disk or an exhausted quota anywhere in its chain, else None."""
    import errno

    codes = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in codes:
            what = "no space left on device" if e.errno == errno.ENOSPC else "disk quota exceeded"
            where = f" while writing {e.filename}" if e.filename else ""
            return (f"error: {what}{where}; free some space, then run the same command again "
                    f"(with --resume where it has one: the unfinished output is kept)")
        if "No space left on device" in str(e) or "Disk quota exceeded" in str(e):  # wrapped by a library as text
            return ("error: no space left on device (" + " ".join(str(e).split())[:200] + "); free some space, then "
                    "run the same command again (with --resume where it has one: the unfinished output is kept)")
        e = e.__cause__ or e.__context__
    return None


def main_for(tool: str, description: str, commands: Commands) -> Callable[[], None]:
    """The console-script entry point of a tool.

    Give commands as 'package.module:function' strings so that `--help`, answered
    from the help cache, imports none of the command modules.
    """

    def main() -> None:
        sys.exit(run_tool(tool, description, commands))

    return main


def version_command(tool: str, version: str) -> Callable[[], dict[str, str]]:
    """A `version` command for a tool: its name and version as JSON on stdout."""

    def version_() -> dict[str, str]:
        """Print the tool's name and version."""
        return {"tool": tool, "version": version}

    version_.__module__ = __name__
    return version_
