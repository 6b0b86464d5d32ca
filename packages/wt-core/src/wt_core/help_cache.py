"""A cache of `--help` texts, so help answers without importing jsonargparse.

Building the parser costs about half a second here (jsonargparse's import alone
0.35 s); the text only changes when a tool's source does. The key is the
command line, the terminal width and the size and mtime of every source file
of the tool and of wt-core; any change rebuilds it.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

HELP_FLAGS = ("-h", "--help")


def is_help_request(argv: list[str], commands: dict[str, Any]) -> bool:
    if len(argv) == 1:
        return argv[0] in HELP_FLAGS
    return len(argv) == 2 and argv[0] in commands and argv[1] in HELP_FLAGS


def _package_dirs(commands: dict[str, Callable[..., Any] | str]) -> set[Path]:
    """The source directories of wt-core and of the packages the commands live in."""
    import importlib.util

    dirs = {Path(__file__).parent}
    for ref in commands.values():
        module = ref.partition(":")[0] if isinstance(ref, str) else getattr(ref, "__module__", "")
        loaded = sys.modules.get(module)
        if loaded is not None and getattr(loaded, "__spec__", None) is None:  # a script run as __main__
            if loaded.__file__:
                dirs.add(Path(loaded.__file__).resolve().parent)
            continue
        try:
            spec = importlib.util.find_spec(module.split(".")[0]) if module else None
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            dirs.update(Path(p) for p in spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            dirs.add(Path(spec.origin).parent)
    return dirs


def _fingerprint(tool: str, commands: dict[str, Callable[..., Any] | str], argv: list[str]) -> str:
    h = hashlib.sha256()
    h.update(repr((tool, argv, shutil.get_terminal_size().columns, sys.version)).encode())
    for d in sorted(_package_dirs(commands)):
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = sorted(x for x in dirnames if x != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def cached_help(tool: str, description: str, commands: dict[str, Callable[..., Any] | str], argv: list[str]) -> str | None:
    """The help text for `argv` when it asks for help; None when it does not."""
    if not is_help_request(argv, commands):
        return None
    from wt_core.offline import wt_home

    cache = wt_home() / "help" / f"{tool}-{_fingerprint(tool, commands, argv)}.txt"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    from wt_core.parser import build_parser

    parser = build_parser(tool, description, commands)
    buf = io.StringIO()
    with redirect_stdout(buf):
        try:
            parser.parse_args(argv)
        except SystemExit:
            pass
    text = buf.getvalue()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass
    return text
