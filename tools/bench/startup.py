"""Start-up time: median wall time of `wt-<tool> --help` for every tool, beside `python -c pass` and `yolo help`.

    python tools/bench/startup.py [--runs 7] [--quick]

The first `--help` of a tool builds its parser and caches the text; the table
shows the cached (what users see every time after) and the cold time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ["wt-data", "wt-yolo", "wt-mmdet", "wt-cls", "wt-eval", "wt-tune", "wt-registry"]
BIN = Path(sys.executable).parent


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WT_HOME": home, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": home}
        rows = [("python -c pass", statistics.median(wall([sys.executable, "-c", "pass"], env) for _ in range(runs)), None)]
        yolo = BIN / "yolo"
        if yolo.exists():
            rows.append(("yolo help", statistics.median(wall([str(yolo), "help"], env) for _ in range(runs)), None))
        for tool in TOOLS:
            cold = wall([str(BIN / tool), "--help"], env)
            warm = statistics.median(wall([str(BIN / tool), "--help"], env) for _ in range(runs))
            rows.append((f"{tool} --help", warm, cold))
    base = rows[0][1]
    print(f"{'command':<24}{'median s':>10}{'x python':>10}{'cold s':>10}{'goal <0.3s':>12}")
    for name, t, cold in rows:
        goal = "" if cold is None else ("ok" if t < 0.3 else "MISSED")
        print(f"{name:<24}{t:>10.3f}{t / base:>10.1f}{'' if cold is None else f'{cold:.3f}':>10}{goal:>12}")


if __name__ == "__main__":
    main()
