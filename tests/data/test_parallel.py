"""Workers forked by `wt_data.parallel` from a process that has used OpenCV's thread pool do not hang.

A forked worker inherits the pool's locks but not its threads; before the fix, `wt-data tile` called in a
process that had resized images with cv2 (a user's script, or an earlier test in the same pytest worker)
waited forever. The scenario runs in a subprocess under a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import cv2
    import numpy as np
    import synth
    from helpers import call_cli, written

    for _ in range(20):  # OpenCV's thread pool started and used in this process
        cv2.resize(np.zeros((2000, 2000, 3), np.uint8), (1000, 1000))
    base = Path(sys.argv[1])
    synth.make_aerial(base / "raw", images=4, width=480, height=320, seed=2, empty_every=0)
    _, imported = written(call_cli("wt-data", "import", "--source", base / "raw" / "coco.json",
                                   "--out", base / "imported"))
    _, tiles = written(call_cli("wt-data", "tile", "--dataset", imported, "--size", "160", "--workers", "2",
                                "--out", base / "tiles"))
    print(len(list((tiles / "images").rglob("*.jpg"))))
""")


def test_tile_workers_forked_after_cv2_threads_finish(tmp_path):
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": f"{root}:{root.parent / 'tools'}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.strip()) >= 16  # 4 images of 480x320 cut into 160-pixel tiles
