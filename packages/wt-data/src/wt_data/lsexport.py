"""Label Studio tasks from a dataset (annotations) or from a predictions manifest (pre-annotations).

Each task's `data` holds `image` (what Label Studio loads: `/data/local-files/?d=<path under
the local-files root>`, or a URL prefix joined with the file name), `split`, `wt_image_id`,
`wt_path` (the image's absolute path, which `wt-data import --format labelstudio` uses
first) and `wt_classes` (the class order), so corrected tasks come back to the same images,
ids and class ids. Boxes are
`rectanglelabels` (from_name `label`), points `keypointlabels` (from_name `point`), in
percent of the image size; predictions carry `model_version` and each result its `score`.
`label_config.xml` is the labelling interface that matches.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest, PredictionsManifest

from wt_data.dataset import annotations_by_image, load_split


def label_config(classes: list[str]) -> str:
    labels = "".join(f"<Label value={quoteattr(c)}/>" for c in classes)
    return ('<View>\n  <Image name="image" value="$image" zoom="true"/>\n'
            f'  <RectangleLabels name="label" toName="image">{labels}</RectangleLabels>\n'
            f'  <KeyPointLabels name="point" toName="image">{labels}</KeyPointLabels>\n</View>\n')


def result(a: dict, classes: list[str], im: dict, k: int) -> dict[str, Any]:
    """One annotation (or prediction row) as a Label Studio result, in percent of the image."""
    w, h = im["width"], im["height"]
    name = classes[a["category_id"]]
    base = {"id": f"wt{im['id']}_{k}", "to_name": "image", "original_width": w, "original_height": h,
            "image_rotation": 0}
    if a.get("bbox") is None and a.get("point") is not None:
        x, y = a["point"]
        out = {**base, "from_name": "point", "type": "keypointlabels",
               "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 0.5, "keypointlabels": [name]}}
    else:
        x, y, bw, bh = a["bbox"]
        out = {**base, "from_name": "label", "type": "rectanglelabels",
               "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 100 * bw / w, "height": 100 * bh / h,
                         "rotation": 0, "rectanglelabels": [name]}}
    if "score" in a:
        out["score"] = round(float(a["score"]), 6)
    return out


class ImageRefs:
    """How tasks name images: under a local-files root, or after a URL prefix."""

    def __init__(self, local_files_root: Path | None, url_prefix: str | None, roots: list[Path]):
        if local_files_root is not None and url_prefix is not None:
            raise BadInput("give either a local-files root or a URL prefix, not both", None, "url_prefix")
        self.prefix = url_prefix.rstrip("/") + "/" if url_prefix else None
        # paths normalised before they are compared: `../images` is a folder, not the text ".."
        self.root = Path(os.path.abspath(Path(local_files_root).expanduser())) if local_files_root else \
            Path(os.path.commonpath([os.path.abspath(r) for r in roots])) if roots else Path("/")

    def __call__(self, path: Path, file_name: str) -> str:
        if self.prefix:
            return self.prefix + quote(file_name)
        try:
            rel = Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            raise BadInput(f"image {path} is not under the local-files root {self.root}", None, "local_files_root") from None
        return f"/data/local-files/?d={quote(rel)}"


def tasks_for(ds: DatasetManifest, refs: ImageRefs, predictions: PredictionsManifest | None = None,
              conf: float = 0.25) -> list[dict]:
    """One task per image of every split (of the predictions' splits for pre-annotations)."""
    from wt_core.manifest_io import load_json

    tasks = []
    splits = list(predictions.splits) if predictions else list(ds.splits)
    for split in splits:
        if split not in ds.splits:
            raise BadInput(f"the predictions hold split {split!r}, which the dataset does not", predictions.path, "splits")
        coco, root = load_split(ds, split)
        if predictions:
            rows = load_json(predictions.artifact_path(predictions.splits[split]))
            by_image: dict = {}
            for r in rows:
                if r.get("score", 1.0) >= conf:
                    by_image.setdefault(r["image_id"], []).append(r)
        else:
            by_image = annotations_by_image(coco)
        for im in coco["images"]:
            path = root / im["file_name"]
            results = [result(a, ds.classes, im, k) for k, a in enumerate(by_image.get(im["id"], []))]
            task: dict[str, Any] = {"data": {"image": refs(path, im["file_name"]), "split": split,
                                             "wt_image_id": im["id"], "wt_path": str(path.absolute()),
                                             "wt_classes": list(ds.classes)}}
            if predictions:
                scores = [r["score"] for r in results]
                version = predictions.run_id or predictions.id
                task["predictions"] = [{"model_version": version, "result": results,
                                        "score": round(sum(scores) / len(scores), 6) if scores else 0.0}]
            else:
                task["annotations"] = [{"result": results, "ground_truth": False}]
            tasks.append(task)
    return tasks


def write_labelstudio(out: Path, ds: DatasetManifest, tasks: list[dict]) -> list[str]:
    (out / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False, indent=1))
    (out / "label_config.xml").write_text(label_config(list(ds.classes)))
    return ["tasks.json", "label_config.xml"]
