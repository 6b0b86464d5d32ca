"""`wt_registry.load`: a registered model as a predictor, for inference code.

    import wt_registry
    model = wt_registry.load("models:/aerial-detector@champion")
    detections = model.predict(["survey_001.jpg", rgb_array])   # one list per image
    frame = model.predict_frame(["survey_001.jpg"])              # one row per detection

The reference is what MLflow takes (`models:/name@alias`, `models:/name/3`, also
`name@alias`), or a pulled cache entry (its directory or manifest.json).
"""

from __future__ import annotations

from pathlib import Path

from wt_registry.predictor import Predictor


def load(model: str, device: str | None = None) -> Predictor:
    """The predictor of a registered model version (see `wt_registry.predictor.Predictor`)."""
    import os

    from wt_core import offline

    offline.apply()
    p = Path(str(model)).expanduser()
    if p.exists():
        d = p.parent if p.is_file() else p
        pred = Predictor.from_dir(d / "artifacts", device=device)
        return pred
    from wt_registry.store import connect, parse_ref, resolve

    ref = parse_ref(model)
    version = resolve(connect(), ref)  # an unknown model, version or alias is one clear BadInput
    if device:
        os.environ["WT_DEVICE"] = device
    import mlflow

    pyfunc = mlflow.pyfunc.load_model(f"models:/{ref.name}/{version.version}")
    pred = pyfunc.unwrap_python_model().predictor
    pred.metadata = dict(pyfunc.metadata.metadata or {})
    pred.uri, pred.version = ref.uri, str(version.version)
    return pred
