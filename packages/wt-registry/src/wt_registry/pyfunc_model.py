"""The MLflow pyfunc flavour of a WildTrain model.

`mlflow.pyfunc.load_model("models:/name@alias").predict(frame)` takes a DataFrame
with one column `image` (a file path on the machine that predicts, or base64-encoded
image bytes, as a REST client sends them) and returns one row per detection.
`unwrap_python_model().predictor` is the `wt_registry.predictor.Predictor`, which
also takes arrays.
"""

from __future__ import annotations

import json
import os

import mlflow.pyfunc

ARTIFACT_CONFIG = "model.json"


class WildTrainModel(mlflow.pyfunc.PythonModel):
    """A detector, optionally with a crop classifier, or a classifier alone (see predictor.py)."""

    def load_context(self, context) -> None:
        from wt_core import offline

        from wt_registry.predictor import Predictor

        offline.apply()
        with open(context.artifacts[ARTIFACT_CONFIG]) as f:
            config = json.load(f)
        self.predictor = Predictor(config, dict(context.artifacts), device=os.environ.get("WT_DEVICE") or None)

    def predict(self, context, model_input, params=None):
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            column = "image" if "image" in model_input.columns else model_input.columns[0]
            images = list(model_input[column])
        elif isinstance(model_input, dict):
            images = list(model_input.get("image", []))
        else:
            images = list(model_input) if isinstance(model_input, (list, tuple)) else [model_input]
        conf = (params or {}).get("conf")
        return self.predictor.predict_frame(images, conf=float(conf) if conf is not None else None)
