"""The command line as jsonargparse reads it, made in one pass over argv.

Forgiving at the edge: `--if-better` is `--if_better`; an old spelling (wt_core.renames) is the new
one, with one warning line, on the command line and in `--config` files; a boolean option alone is a
flag (`--overwrite` means `--overwrite true`); a list option takes several words (`--evaluations a b`
means `--evaluations '["a", "b"]'`, and given again it adds to the list).
"""

from __future__ import annotations

import json
import sys

from wt_core.parser import command_name, command_parser, flag_keys, list_keys, option_keys
from wt_core.renames import given_twice, new_spelling, renamed_config_file, renames_of

BOOL_WORDS = ("true", "false", "yes", "no", "0", "1")


def normalize(tool: str, parser: object, argv: list[str]) -> list[str]:
    """`argv` with dashes, old spellings, flags and list words made what the parser takes."""
    command = command_name(argv)
    sub = command_parser(parser, command)
    known = set(option_keys(sub))
    flags, lists = flag_keys(sub), list_keys(sub)
    renames = renames_of(tool, command)
    warned: set[str] = set()

    def warn(old: str, new: str, where: str = "") -> None:
        if old not in warned:
            warned.add(old)
            sys.stderr.write(f"warning: --{old} is deprecated, use --{new}{where}\n")

    def config_file(path: str) -> str:
        return renamed_config_file(path, renames, known, warn) if renames else path

    given = {a[2:].partition("=")[0].rstrip("+") for a in argv if a.startswith("--")}
    out: list[str] = []
    lists_at: dict[str, int] = {}  # a list option given again adds to its first value: --source a --source b
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if out and out[-1] == "--config":
            out.append(config_file(arg))
            continue
        if not arg.startswith("--"):
            out.append(arg)
            continue
        key, eq, value = arg[2:].partition("=")
        if key == "config" and eq:
            out.append("--config=" + config_file(value))
            continue
        if "-" in key and key not in known and key.replace("-", "_") in known:
            key = key.replace("-", "_")
        if renames and (new := new_spelling(key, renames, known)) is not None:
            if new.rstrip("+") in given:
                raise given_twice(key.rstrip("+"), new.rstrip("+"))
            warn(key.rstrip("+"), new.rstrip("+"))
            key = new
        option = f"--{key}"
        if eq:
            out.append(f"{option}={value}")
        elif option in flags:
            out.append(option)
            if i >= len(argv) or argv[i].startswith("--") or argv[i].lower() not in BOOL_WORDS:
                out.append("true")
        elif option in lists:
            items = []
            while i < len(argv) and not argv[i].startswith("--"):
                items.append(argv[i])
                i += 1
            words = items[0] if len(items) == 1 and items[0].lstrip().startswith("[") else json.dumps(items)
            if option in lists_at:
                try:
                    out[lists_at[option]] = json.dumps(json.loads(out[lists_at[option]]) + json.loads(words))
                    continue
                except (ValueError, TypeError):
                    pass
            out += [option, words]
            lists_at[option] = len(out) - 1
        else:
            out.append(option)
    return out
