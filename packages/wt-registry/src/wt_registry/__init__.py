"""wt-registry: the MLflow model registry for WildTrain models.

    import wt_registry
    model = wt_registry.load("models:/aerial-detector@champion")
    model.predict(["survey_001.jpg"])

`from wt_registry import register, alias, promote, pull` gives the commands as
functions. mlflow, torch and the trainers are imported on first use.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "load": "wt_registry.loading",
    "Predictor": "wt_registry.predictor",
    "register": "wt_registry.registration",
    "alias": "wt_registry.aliases",
    "promote": "wt_registry.aliases",
    "pull": "wt_registry.pulling",
    "lineage": "wt_registry.inspect_",
    "show": "wt_registry.inspect_",
    "list_": "wt_registry.inspect_",
}
__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_attributes(__name__, _LAZY)
