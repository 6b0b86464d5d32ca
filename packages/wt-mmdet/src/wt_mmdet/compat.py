"""What MMDetection needs before it is imported, on today's Python packaging and torch.

`prepare()` is called by every command before the first mmdet import:
- the ops backend (`ops_backend.install`: pure-torch `mmcv._ext` unless mmcv is compiled);
- mmengine resolves `_base_ = 'mmdet::...'` with `pkg_resources`, which setuptools 81+
  no longer ships: its two lookups are given importlib-based equivalents;
- mmdet's registries are set up (`register_all_modules`), with 'mmdet' as default scope.
"""

from __future__ import annotations

import importlib.util
import os

_prepared: str | None = None


def _find_package(package: str):
    module = package.replace("-", "_")
    if module == "mmcv_full":
        module = "mmcv"
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def is_installed(package: str) -> bool:
    spec = _find_package(package)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    spec = _find_package(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"package {package!r} is not installed")
    return os.path.dirname(spec.origin)


def patch_config_lookup() -> None:
    """Let mmengine's Config resolve `mmdet::` bases without pkg_resources (cheap: no mmdet import)."""
    import mmengine.config.config as mm_config
    import mmengine.utils.package_utils as pkg_utils

    for mod in (mm_config, pkg_utils):
        mod.is_installed = is_installed
        mod.get_installed_path = get_installed_path


def prepare() -> str:
    """Make MMDetection importable and usable; returns the ops backend in use."""
    global _prepared
    if _prepared is not None:
        return _prepared
    from wt_mmdet import ops_backend

    backend = ops_backend.install()
    patch_config_lookup()
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    _prepared = backend
    return backend
