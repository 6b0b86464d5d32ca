"""A trainer the registry has never heard of, installed for a test as a module and its dist-info on a path.

Its detector keeps the predictor protocol (`wt_core.predictor`): it finds three boxes of fixed scores
(the run's weights file holds the best score; the others are 0.6 and 0.2 of it), the middle of the
image and two smaller ones inside it, and keeps those scoring at least the call's `conf`. `oldtoy` is
the same detector under the older protocol (a settable `conf`, no per-call argument).
"""

from __future__ import annotations

from pathlib import Path

SOURCE = '''
import shutil
from pathlib import Path

import numpy as np
from wt_core.readers import run_weights
from wt_core.slicing import Detections


class ToyDetector:
    def __init__(self, score, conf, max_det):
        self.score, self.conf, self.max_det = score, conf, max_det

    def boxes(self, img):
        h, w = img.shape[:2]
        boxes = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4], [w / 4, h / 4, w / 2, h / 2],
                          [w / 2, h / 2, 3 * w / 4, 3 * h / 4]])
        return boxes, self.score * np.array([1.0, 0.6, 0.2])

    def predict_arrays(self, images, *, conf=None, max_det=None):
        conf = self.conf if conf is None else conf
        top = self.max_det if max_det is None else max_det
        for img in images:
            boxes, scores = self.boxes(img)
            keep = np.flatnonzero(scores >= conf)[:top]
            yield Detections(boxes[keep], scores[keep], np.zeros(len(keep), np.int64))


class OldToyDetector(ToyDetector):
    def predict_arrays(self, images):
        return ToyDetector.predict_arrays(self, images)


class ToyPlugin:
    task = "detect"
    requirements = ("numpy",)
    detector = ToyDetector

    def stage(self, run, weights, directory, role):
        shutil.copyfile(run_weights(run, weights), Path(directory) / f"{role}.toy")
        return [f"{role}.toy"]

    def load(self, files, spec, device=None):
        return self.detector(float(Path(files[0]).read_text()), float(spec["conf"]), int(spec["max_det"]))


class OldToyPlugin(ToyPlugin):
    detector = OldToyDetector


plugin = ToyPlugin()
old_plugin = OldToyPlugin()
'''

REGISTER = r"""
import sys
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output

def toy_run(base, framework="toy"):
    out = Output("wt-toy", "fit", f"{base}/run-{framework}")
    out.path("best.toy").write_text("0.75")
    out.add("best", "best.toy")
    return out.commit(build(RunManifest, id=out.id, framework=framework, task="detect", classes=["zebra"],
                            dataset_id="d", weights={"best": "best"}))
"""
"""Python code (for a script run with the toy on its path) defining `toy_run(base, framework)`: a run manifest
of the toy trainer whose weights file holds the score 0.75."""


def install(site: Path) -> Path:
    """The toy trainer as an installed distribution under `site` (put `site` on PYTHONPATH / sys.path)."""
    (site / "toy_trainer-0.1.dist-info").mkdir(parents=True, exist_ok=True)
    (site / "toy_trainer.py").write_text(SOURCE)
    (site / "toy_trainer-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-trainer\n"
                                                                  "Version: 0.1\n")
    (site / "toy_trainer-0.1.dist-info" / "entry_points.txt").write_text(
        "[wildtrain.predictors]\ntoy = toy_trainer:plugin\noldtoy = toy_trainer:old_plugin\n")
    return site
