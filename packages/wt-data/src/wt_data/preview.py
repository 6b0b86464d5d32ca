"""`wt-data preview`: a PNG contact sheet of sampled images or tiles, boxes, points and class names drawn.

The first look at a dataset: N images drawn with a seed (the same sheet for the
same seed), filtered by split, by class or to empty images, each scaled into
a square cell with its boxes (one colour per class, the class name above the
box), its points (a dot) and, for a classification dataset, its label under it.
A legend of the class colours runs along the top. Large rasters are read
decimated (wt_core.raster.overview), never whole.

The drawing is `wt_core.contact_sheet` (the training harness logs one of every
fit's training split); this module is the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.contact_sheet import contact_sheet
from wt_core.invocation import command
from wt_core.outputs import output_file
from wt_core.readers import read_dataset

log = get_logger("wt-data")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def preview_path(out: Path | str | None, default_name: str) -> Path:
    """Where the sheet goes: `out` with an image extension (.png added when it has none), or the default
    name inside `out` when it is a folder (an existing one, or one written with a trailing slash)."""
    if out is None:
        return Path.cwd() / "runs" / "data" / "preview" / default_name
    path = Path(out)
    if path.is_dir() or str(out).endswith(("/", "\\")):
        return path / default_name
    return path if path.suffix.lower() in IMAGE_SUFFIXES else path.with_name(path.name + ".png")


@command("wt-data", "preview")
def preview(dataset: str, n: int = 16, seed: int = 0, splits: list[str] | None = None, classes: list[str] | None = None,
            empty: bool = False, size: int = 320, out: Path | None = None, overwrite: bool = False,
            json: bool = False) -> dict[str, Any] | None:
    """Write a PNG contact sheet of sampled images or tiles with their boxes, points and class names.

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        n: How many images to show.
        seed: The seed of the sample (the same seed shows the same images).
        splits: Only images of these splits (default all).
        classes: Only images holding at least one of these classes.
        empty: Only images without any annotation (the background a detector learns from).
        size: The side of each image's cell in pixels.
        out: The PNG to write (default runs/data/preview/<dataset id>-<seed>.png); a name without an image
            extension gets .png (`--out prev` writes prev.png), an existing folder gets <dataset id>-<seed>.png.
        overwrite: Replace an existing PNG.
        json: Print {path, cells} as JSON on stdout (else the path is logged on stderr).
    """
    ds = read_dataset(dataset)
    target = output_file(preview_path(out, f"{ds.id}-{seed}.png"), overwrite)
    result = contact_sheet(ds, target, n=n, seed=seed, splits=splits, classes=classes, empty=empty, size=size)
    log.info("preview of %d images: %s", len(result["cells"]), result["path"])
    return result if json else None
