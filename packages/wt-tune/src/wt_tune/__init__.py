"""wt-tune: Optuna studies over any WildTrain tool's config.

From Python: `run` and `show` are the commands; `Objective(spec, study_dir)` is
a plain Optuna objective that runs the target tool as a subprocess.
"""

__version__ = "0.1.0"
__all__ = ["Objective", "Spec", "run", "show"]


def __getattr__(name: str):  # keep `import wt_tune` light: the CLI's --help imports it
    if name == "run":
        from wt_tune.run import run

        return run
    if name == "show":
        from wt_tune.show import show

        return show
    if name == "Objective":
        from wt_tune.objective import Objective

        return Objective
    if name == "Spec":
        from wt_tune.study import Spec

        return Spec
    raise AttributeError(name)
