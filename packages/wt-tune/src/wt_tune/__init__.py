"""wt-tune: Optuna studies over any WildTrain tool's config.

From Python: `run` and `show` are the commands; `Objective(spec, study_dir)` is
a plain Optuna objective that runs the target tool as a subprocess.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"
__all__ = ["Objective", "Spec", "run", "show"]


_LAZY = {"run": "wt_tune.tuning", "show": "wt_tune.showing", "Objective": "wt_tune.objective", "Spec": "wt_tune.study"}


__getattr__ = lazy_attributes(__name__, _LAZY)
