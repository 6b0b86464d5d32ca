"""wt-cls test helpers (importable as cls_helpers: tests/cls/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("wt_tests_root_cls", Path(__file__).parents[1] / "conftest.py")
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)
run_cli, manifest_of, assert_bad_input = root.run_cli, root.manifest_of, root.assert_bad_input

BACKBONE = "resnet10t"
FAST = ["--model.backbone", BACKBONE, "--model.input_size", "64", "--data.batch_size", "16",
        "--data.num_workers", "0", "--trainer.progress_bar", "false"]


def imagefolder_dataset(folder: Path, out: Path, val_every: int = 4, test_every: int = 0) -> Path:
    """A classification dataset manifest over `folder/<class>/*.jpg` (every n-th image of a class to val/test).

    Written with wt-core directly, the way `wt-data import --format imagefolder` writes one.
    """
    from wt_core.manifest import DatasetManifest, DatasetSplit
    from wt_core.manifest_io import build
    from wt_core.outputs import Output

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    splits: dict[str, list[tuple[str, int]]] = {"train": [], "val": []}
    if test_every:
        splits["test"] = []
    for ci, name in enumerate(classes):
        for j, img in enumerate(sorted((folder / name).glob("*.jpg"))):
            if test_every and j % test_every == 1:
                split = "test"
            elif j % val_every == 0:
                split = "val"
            else:
                split = "train"
            splits[split].append((f"{name}/{img.name}", ci))
    output = Output("wt-data", "import", out, overwrite=True)
    body = {}
    for split, items in splits.items():
        coco = {"images": [{"id": i + 1, "file_name": f, "width": 96, "height": 96} for i, (f, _) in enumerate(items)],
                "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": c} for i, (_, c) in enumerate(items)],
                "categories": [{"id": i, "name": n} for i, n in enumerate(classes)]}
        output.path(f"{split}.json").write_text(json.dumps(coco))
        output.add(f"{split}_annotations", f"{split}.json")
        per_class = [sum(1 for _, c in items if c == k) for k in range(len(classes))]
        body[split] = DatasetSplit(annotations=f"{split}_annotations", image_root=str(folder.resolve()),
                                   images=len(items), per_class=per_class)
    m = build(DatasetManifest, id=output.id, task="classify", classes=classes, splits=body)
    return output.commit(m).path


