"""Lazy package attributes: `from wt_cls import fit` imports torch only when `fit` is used.

In a package's `__init__.py`:

    __getattr__ = lazy_attributes(__name__, {"fit": "wt_cls.fit", ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `names[name]` on first use and returns its attribute `name`."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
