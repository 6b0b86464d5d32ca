"""wt-tune: Optuna studies over any WildTrain tool's config.

From Python: `run` and `show` are the commands; `Objective(spec, study_dir)` is
a plain Optuna objective that runs the target tool as a subprocess.
"""

__version__ = "0.1.0"
__all__ = ["Objective", "Spec", "run", "show"]


_LAZY = {"run": "wt_tune.tuning", "show": "wt_tune.showing", "Objective": "wt_tune.objective", "Spec": "wt_tune.study"}


def __getattr__(name: str):  # keep `import wt_tune` light: the CLI's --help imports it
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
