"""The MLflow pyfunc flavour of a WildTrain model, as `mlflow models serve` and `mlflow.pyfunc` run it.

`mlflow.pyfunc.load_model("models:/name@alias").predict(frame)` takes a DataFrame
with one column `image` and returns one row per detection. What it reads:

- by default, image bytes only: base64 strings, as a REST client sends them;
- local files only under a root the operator names: the environment variable
  `WT_SERVE_ROOT`, or `model_config={"image_root": DIR}` at `mlflow.pyfunc.load_model`.
  A path is resolved (symlinks, `..`) and read only when it lies inside the root.

A request it cannot take gets one message (`image N is not an image this model
accepts: ...`, HTTP 400): no stack trace, no server path, and nothing that tells
whether a file exists. Any other failure is logged on the server and answered
with one line (HTTP 500).

`mlflow models serve` (MLflow 3: FastAPI under uvicorn) calls `predict` of one loaded model from
several threads at once, one per request in flight (`asyncio.to_thread`); `--workers N` starts N
processes, each loading its own model. `params={"conf": ...}` is therefore passed down as an argument
of the forward pass (`wt_core.predictor`), never set on the shared model.

`unwrap_python_model().predictor` is the `wt_registry.predictor.Predictor`, which Python
code uses directly (`wt_registry.load`): it also takes arrays and any local path.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import mlflow.pyfunc
from wt_core import library_logs

library_logs.silence()  # MLflow warns at the class below that PythonModel.predict has no type hints: ours on purpose

ARTIFACT_CONFIG = "model.json"
ROOT_ENV = "WT_SERVE_ROOT"
log = logging.getLogger("wildtrain.wt-registry.serve")


def image_root(model_config: dict | None) -> Path | None:
    """The directory local image paths may be read from (model_config image_root, else WT_SERVE_ROOT), or None."""
    from wt_core.errors import BadInput

    given = (model_config or {}).get("image_root")
    text, field = (given, "model_config.image_root") if given else (os.environ.get(ROOT_ENV), ROOT_ENV)
    if not text:
        return None
    root = Path(str(text)).expanduser().resolve()
    if not root.is_dir():
        raise BadInput("the serving root is not a directory", root, field)
    return root


class WildTrainModel(mlflow.pyfunc.PythonModel):
    """A detector, optionally with a crop classifier, or a classifier alone (see predictor.py)."""

    def load_context(self, context) -> None:
        from wt_core import offline

        from wt_registry.predictor import Predictor

        offline.apply()
        self.root = image_root(getattr(context, "model_config", None))
        with open(context.artifacts[ARTIFACT_CONFIG]) as f:
            config = json.load(f)
        self.predictor = Predictor(config, dict(context.artifacts), device=os.environ.get("WT_DEVICE") or None)

    def predict(self, context, model_input, params=None):
        import pandas as pd
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST, INTERNAL_ERROR
        from wt_core.errors import BadInput

        if isinstance(model_input, pd.DataFrame):
            column = "image" if "image" in model_input.columns else model_input.columns[0]
            images = list(model_input[column])
        elif isinstance(model_input, dict):
            images = list(model_input.get("image", []))
        else:
            images = list(model_input) if isinstance(model_input, (list, tuple)) else [model_input]
        conf = (params or {}).get("conf")
        try:
            return self.predictor.predict_frame(images, conf=float(conf) if conf is not None else None,
                                                paths=getattr(self, "root", None))
        except BadInput as e:
            raise MlflowException(e.line().removeprefix("error: "), error_code=BAD_REQUEST) from None
        except Exception:
            log.exception("prediction failed")
            raise MlflowException("the model failed on this request (the server's log has the details)",
                                  error_code=INTERNAL_ERROR) from None
