"""Write tests/slow_tests.txt: the tests a `--durations=0` run measured at or over a threshold.

`just test-fast` leaves out the `slow` tests (tests/conftest.py marks the ones that train, serve or run a
pipeline, and every node id listed in tests/slow_tests.txt). Refresh the list when the fast loop grows past
3 minutes on 2 cores:

    uv run pytest -n 2 -m "not slow" --durations=0 -q > /tmp/durations.log
    python tools/slow_tests.py /tmp/durations.log            # adds to the list; --threshold 1.5 (seconds)

A test whose setup was slow (a module fixture) is listed too: the next test of that module then pays the
setup, and shows up in the next measurement.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

LIST = Path(__file__).resolve().parent.parent / "tests" / "slow_tests.txt"
LINE = re.compile(r"^([0-9.]+)s (?:call|setup|teardown)\s+tests/(.+)$")
HEADER = ("# Tests left out of `just test-fast` because a run measured them at 1.5 s or more (node ids below tests/).\n"
          "# Made by tools/slow_tests.py from a --durations=0 run; tests/conftest.py marks them `slow`.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path, help="the output of a pytest --durations=0 run")
    ap.add_argument("--threshold", type=float, default=1.5, help="seconds")
    a = ap.parse_args()
    known = {ln for ln in LIST.read_text().splitlines() if ln and not ln.startswith("#")} if LIST.exists() else set()
    slow = {m.group(2).strip() for ln in a.log.read_text().splitlines()
            if (m := LINE.match(ln)) and float(m.group(1)) >= a.threshold}
    LIST.write_text(HEADER + "".join(f"{n}\n" for n in sorted(known | slow)))
    print(f"{len(slow - known)} added, {len(known | slow)} listed: {LIST}")


if __name__ == "__main__":
    main()
