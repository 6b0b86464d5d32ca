import functools
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import call_cli

SLOW = Path(__file__).with_name("slowtool.py")


def _slow(*args, stdin=None, timeout=60):
    return subprocess.run([sys.executable, str(SLOW), *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def slow():
    """Run tests/core/slowtool.py, a tiny tool built on wt-core."""
    return _slow


@pytest.fixture
def slow_here():
    """The same tool through its command line inside this process (helpers.call_cli): for tests of
    what it writes, and for the rest of a bad-input table once one case has run as a subprocess."""
    return functools.partial(call_cli, "wt-slow", module="slowtool")


@pytest.fixture
def slow_script():
    return SLOW
