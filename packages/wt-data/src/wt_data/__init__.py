"""wt-data: every command is a typed function; the helpers trainers use are here too.

    from wt_data import import_, split, tile, crops, load_split, yolo_view
"""

from __future__ import annotations

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "import_": "wt_data.importing",
    "load_split": "wt_data.dataset",
    "read_dataset": "wt_core.readers",
    "image_path": "wt_data.dataset",
    "yolo_view": "wt_data.views",
    "validate": "wt_data.validating",
    "stats": "wt_data.summary",
    "split": "wt_data.splitting",
    "tile": "wt_data.tiling",
    "crops": "wt_data.cropping",
    "remap": "wt_data.remapping",
    "merge": "wt_data.remapping",
    "export": "wt_data.exporting",
    "boxes": "wt_data.pointboxes",
    "ClassMap": "wt_data.canon",
    "Metadata": "wt_data.canon",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
__all__ = list(_LAZY)
