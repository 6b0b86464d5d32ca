"""The command line every tool shares (contract section 4): the run loop and its exit statuses.

A tool's `cli.py` is a map from command names to typed functions; `run_tool` answers `--help` from
the help cache, builds the parser (wt_core.parser), makes argv what it takes (wt_core.argv), turns a
refusal into one line (wt_core.parse_errors), keeps standard output for the one manifest path, and
maps failures to exit statuses: 0 success, 2 bad input, 1 failure while running, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType

from wt_core import library_logs, offline
from wt_core.errors import BadInput, disk_full_line
from wt_core.parser import RESERVED, Commands, build_parser, load_command

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "Commands", "main_for", "run_tool",
           "version_command"]


def _error(line: str) -> None:
    sys.stderr.write(line.rstrip() + "\n")
    sys.stderr.flush()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class _StdoutToStderr:
    """While a command runs, file descriptor 1 points at stderr: library output never pollutes stdout."""

    def __enter__(self) -> _StdoutToStderr:
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)
        return self

    def write_result(self, text: str) -> None:
        sys.stdout.flush()
        os.write(self.saved, (text.rstrip("\n") + "\n").encode())

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)


def run_tool(tool: str, description: str, commands: Commands, argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, print its manifest path; returns the exit status."""
    from wt_core import console, invocation
    from wt_core.argv import normalize
    from wt_core.help_cache import cached_help
    from wt_core.parse_errors import parse_error_line

    argv = list(sys.argv[1:] if argv is None else argv)
    offline.apply()
    library_logs.silence()  # before the parser imports the command's module (and with it the libraries)
    if (text := cached_help(tool, description, commands, argv)) is not None:
        sys.stdout.write(text)
        return EXIT_OK
    verbose = "--verbose" in argv or "--verbose=true" in argv
    parser = build_parser(tool, description, commands)
    try:
        argv = normalize(tool, parser, argv)
    except BadInput as e:  # an option given in its old and its new spelling
        _error(e.line())
        return EXIT_BAD_INPUT
    try:
        cfg = parser.parse_args(argv)
    except SystemExit as e:  # --help, --print_config
        return int(e.code or 0)
    except Exception as e:  # jsonargparse's ArgumentError and friends
        _error(parse_error_line(str(e), parser, argv, tool))
        return EXIT_BAD_INPUT
    name = cfg.command
    fn = load_command(commands[name])
    try:
        init = parser.instantiate(cfg)
    except BadInput as e:
        _error(e.line())
        return EXIT_BAD_INPUT
    except Exception as e:
        _error(f"error: {' '.join(str(e).split())[:300]} ({tool} {name})")
        return EXIT_BAD_INPUT
    kwargs = {k: v for k, v in dict(init[name]).items() if k not in RESERVED}
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
            if (line := disk_full_line(e)) is not None:
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
