"""Real aerial bird-survey photos for the small-survey benchmark, from a copy of weecology/BirdDetector.

    python tools/real_survey.py --source PATH --out DIR

PATH is a clone of https://github.com/weecology/BirdDetector (a work tree with
`Figures/`, or a bare git directory: its HEAD is read). Nothing is downloaded:
this machine reaches no repository host, so the copy must be at hand. The
repository ships, beside its paper's figures, crops of drone and aircraft
photos from several bird surveys with their boxes as shapefiles in pixel
coordinates. Seven crops from six sites have boxes that lie on the birds
(checked by eye on each photo); these are written to DIR as `wt-data import
--format wildata` reads them (`DIR/wildata`, one COCO JSON per split, the
`site` of each photo recorded), with `truth.json` and `ATTRIBUTION.md` beside.
The split is by site, so validation and test photos come from sites that no
training photo shows:

    train  Rzepecki Islands chinstrap penguins (110 boxes of ~17 px), a tern
           colony on sand (33, ~28 px), Steeple Jason albatrosses (16, ~95 px)
    val    Dudley, two crops of white birds in trees (13, ~55 px)
    test   a kittiwake cliff (24, ~20 px), ducks and cranes on water (11, ~77 px)

Left out, with the reason: `seabirds_rgb_809` (its 303 boxes lie on bare sand,
not on the birds of the photo), `Dudley_projected_311.png` (its shapefile's
boxes belong to `Dudley_projected_307.png`, the image its records name; 311
itself has birds and no boxes), `JackfishLakeBLTE_Sony_1_373.png` (its
shapefile names another image), `USGS.png` and `seabirds_rgb_564.png` (no
boxes).

The NEON tree-crown samples that ship with DeepForest are our held-out check
and are never read here. A missing or changed source file is a clear error
(exit status 2), never a partial set.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from survey import animals_per_split, write_wildata

SOURCE_URL = "https://github.com/weecology/BirdDetector"
CHECKED_COMMIT = "b2c50d0c840e4a589056d3cfdc923f02969a6672"
"""The commit whose Figures/ were checked by eye (2023-04-14); another commit is read if its files are the same."""


@dataclass(frozen=True)
class Photo:
    image: str  # under Figures/
    shapefile: str  # under Figures/, without the extension
    sha256: str  # of the image, as checked
    site: str
    split: str
    subject: str


PHOTOS = (
    Photo("Rzepecki Islands_south_2016_Chinstrap_penguins_76.png",
          "Rzepecki Islands_south_2016_Chinstrap_penguins_76_annotations",
          "fe02a58cfe90a7f8eeede5342b9fdd8e5df2dbe9ffc39d811b51edf14bb780d1", "rzepecki", "train",
          "chinstrap penguin colony on rock and snow"),
    Photo("seabirds_rgb_775.png", "seabirds_rgb_775_annotations",
          "edbb50d9d7c9d6fb43e2efd4b2d066950df1fbd137aef7d7f2d1d567ffcc8a9e", "seabirds_rgb", "train", "terns on sand"),
    Photo("SteepleJason_Hump_Nov2019_transparent_mosaic_group1---381.png",
          "SteepleJason_Hump_Nov2019_transparent_mosaic_group1---381_annotations",
          "4db1aa0303c7a7bf40143316822739a8b0cdee6f0c91be4e2217a9ea00361bfd", "steeple_jason", "train", "black-browed albatrosses on nests among tussock grass"),
    Photo("Dudley_projected_307.png", "Dudley_projected_311_annotations",
          "92f337780d2dcab93a927c3c2f0577667ae49daccc12906ed875c7b7aa188aec", "dudley", "val", "white birds in tree canopy over water"),
    Photo("Dudley_projected_763.png", "Dudley_projected_763_annotations",
          "8e95423201af55396cbeb0ae46a8b94ab8c8df80cea1c3350b14ebefba89eb92", "dudley", "val", "white birds in tree canopy over water"),
    Photo("KIPPa2016a_000144_3.png", "KIPPa2016a_000144_3",
          "06a179272903c7826452013f132bef36f3a6f99e834c02c99a6fa170ab82c887", "kippa", "test", "kittiwakes on a sea cliff"),
    Photo("BDA_18A4_20181107_1_38.png", "BDA_18A4_20181107_1_38",
          "61abee674a89fa415db586a866e7c7094384e99188c2010de2f9a7a5ed849a5f", "bda", "test", "ducks and cranes on shallow water"),
)


class SourceError(Exception):
    """The source copy is missing, unreadable or not the checked one."""


def read_source(source: Path, rel: str) -> bytes:
    """A file under Figures/ of a work tree or of a bare git directory's HEAD."""
    if (source / "Figures").is_dir():
        path = source / "Figures" / rel
        if not path.is_file():
            raise SourceError(f"error: {rel} is missing ({path}, Figures)")
        return path.read_bytes()
    if (source / "HEAD").is_file() and (source / "objects").is_dir():
        proc = subprocess.run(["git", "--git-dir", str(source), "show", f"HEAD:Figures/{rel}"], capture_output=True)
        if proc.returncode != 0:
            raise SourceError(f"error: {rel} is not in the repository's HEAD ({source}, Figures)")
        return proc.stdout
    raise SourceError(f"error: no BirdDetector copy here: neither Figures/ nor a bare git directory; "
                      f"clone {SOURCE_URL} and pass its path ({source}, --source)")


def source_commit(source: Path) -> str:
    """The commit of the source copy, or 'unknown' for a folder outside git."""
    git = ["git", "--git-dir", str(source)] if (source / "objects").is_dir() else ["git", "-C", str(source)]
    proc = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def read_boxes(dbf: bytes, width: int, height: int) -> list[dict]:
    """Pixel boxes from a shapefile's records (the xmin, ymin, xmax, ymax fields of its .dbf), clipped to the
    photo. (Its geometries hold the same boxes with y negated.)"""
    import pyogrio.raw

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.dbf").write_bytes(dbf)
        meta, _, _, fields = pyogrio.raw.read(Path(tmp) / "a.dbf", read_geometry=False)
    cols = dict(zip(list(meta["fields"]), fields, strict=True))
    boxes = []
    for x0, y0, x1, y1 in zip(cols["xmin"], cols["ymin"], cols["xmax"], cols["ymax"], strict=True):
        x0, y0 = max(0.0, float(x0)), max(0.0, float(y0))
        x1, y1 = min(float(width), float(x1)), min(float(height), float(y1))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            boxes.append({"bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)], "label": "bird"})
    return boxes


def build(source: Path, out: Path) -> dict:
    """Write the photos, the WilData root, truth.json and ATTRIBUTION.md under `out`; returns the truth."""
    from PIL import Image

    (out / "images").mkdir(parents=True, exist_ok=True)
    truth: dict = {"classes": ["bird"], "images": [], "splits": {"train": [], "val": [], "test": []}}
    lines = []
    for k, p in enumerate(PHOTOS, start=1):
        data = read_source(source, p.image)
        digest = hashlib.sha256(data).hexdigest()
        if digest != p.sha256:
            raise SourceError(f"error: {p.image} differs from the checked copy (sha256 {digest[:12]}, "
                              f"expected {p.sha256[:12]}) ({source}, Figures)")
        name = f"{p.split}_{k:02d}_{p.site}.png"
        (out / "images" / name).write_bytes(data)
        with Image.open(out / "images" / name) as im:
            width, height = im.size
        boxes = read_boxes(read_source(source, p.shapefile + ".dbf"), width, height)
        truth["images"].append({"id": k, "file_name": name, "width": width, "height": height, "site": p.site,
                                "flight": f"{p.site}-f0", "boxes": boxes, "source": f"Figures/{p.image}",
                                "sha256": digest})
        truth["splits"][p.split].append(k)
        lines.append(f"| {name} | {p.split} | {p.site} | {p.subject} | {len(boxes)} | `Figures/{p.image}` "
                     f"(boxes: `Figures/{p.shapefile}.dbf`) | `{digest[:16]}` |")
    write_wildata(out, truth)
    commit = source_commit(source)
    (out / "ATTRIBUTION.md").write_text(f"""# Real aerial bird-survey photos (benchmark only)

Source: {SOURCE_URL}, folder `Figures/`, commit {commit} (checked by eye at {CHECKED_COMMIT}).
Licence of that repository: GNU GPL v3.0 (its LICENSE file). The photos are crops of survey
imagery gathered for Weinstein et al. 2022, "A general deep learning model for bird detection in
high-resolution airborne imagery" (Ecological Applications); the paper's data archive is
https://zenodo.org/record/5033174 and each survey's owners are credited there. Use these files for
local benchmarks only; do not commit or redistribute them without checking those terms.

Boxes: the shapefiles' pixel fields xmin, ymin, xmax, ymax (one class, bird), clipped to the photo.
Split by site: no val or test site appears in train.

| file | split | site | subject | boxes | source | sha256 |
| --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(lines) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True,
                    help=f"a clone of {SOURCE_URL} (work tree or bare git directory)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: the output folder is not empty ({args.out}, --out)", file=sys.stderr)
        return 2
    try:
        truth = build(args.source, args.out)
    except SourceError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"{len(truth['images'])} photos, birds per split {animals_per_split(truth)} in {args.out}", file=sys.stderr)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
