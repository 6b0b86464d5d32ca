"""Lazy package attributes: `from wt_cls import fit` imports torch only when `fit` is used.

In a package's `__init__.py`:

    __getattr__ = lazy_attributes(__name__, {"fit": "wt_cls.fit", ...})

A command function often shares its name with its module (`wt_cls.fit.fit`).
Importing a submodule normally sets it as an attribute of its package, which
would hide the function: the package keeps its lazy name instead (the module
stays importable by its full name).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `names[name]` on first use and returns its attribute `name`."""

    class LazyPackage(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in names and isinstance(value, types.ModuleType) and value.__name__ == f"{package}.{name}":
                return
            super().__setattr__(name, value)

    module = sys.modules.get(package)
    if module is not None and type(module) is types.ModuleType:
        module.__class__ = LazyPackage

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
