"""report.html: one page per evaluation, opened in a real browser (headless Chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from chromium_report import IMAGES_LOAD, Chromium, check_report, tags
from evalcases import coco, write_dataset, write_predictions
from PIL import Image, ImageDraw
from wt_core.manifest_io import read_manifest
from wt_eval import classify, compare, detect
from wt_eval.report import FALSE, MISSED


def small_survey(tmp_path: Path, n: int = 5, missing: int | None = None, points: bool = False):
    """n photos with 0..n-1 animals (squares, or points at their centres); predictions find most, miss the
    third of a photo and add a false one on every other photo."""
    root = tmp_path / "images"
    root.mkdir()
    images, anns, preds = [], [], []
    for i in range(n):
        im = Image.new("RGB", (320, 240), (110, 120, 90))
        d = ImageDraw.Draw(im)
        for k in range(i):
            x, y = 20 + 60 * k, 40 + 30 * (k % 2)
            d.rectangle([x, y, x + 29, y + 29], fill=(230, 230, 230))
            where = {"point": [x + 15, y + 15]} if points else {"bbox": [x, y, 30, 30], "area": 900}
            anns.append({"id": len(anns) + 1, "image_id": 10 + i, "category_id": k % 2, "iscrowd": 0, **where})
            if k != 2:  # the third animal of a photo is missed
                preds.append({"image_id": 10 + i, "category_id": k % 2, "bbox": [x + 1, y, 30, 30], "score": 0.9})
        if i % 2:
            preds.append({"image_id": 10 + i, "category_id": 0, "bbox": [250, 180, 40, 40], "score": 0.6})
        if i != missing:
            im.save(root / f"p{i}.jpg")
        images.append({"id": 10 + i, "file_name": f"p{i}.jpg", "width": 320, "height": 240})
    classes = ["zebra", "gnu"]
    ds = write_dataset(tmp_path / "ds", classes, {"val": coco(images, anns, classes)})
    doc = json.loads(ds.path.read_text())
    doc["splits"]["val"]["image_root"] = str(root)
    ds.path.write_text(json.dumps(doc))
    ds = read_manifest(ds.path)
    return ds, write_predictions(tmp_path / "pred", ds, {"val": preds})


def test_detect_writes_a_report_with_every_photo(tmp_path):
    ds, pred = small_survey(tmp_path, missing=4)
    m = detect(str(ds.path), str(pred.path), out=str(tmp_path / "ev"))
    assert m.artifacts["report"].path == "report.html"
    assert m.details["report"] == {"file": "report.html", "folder": "report", "photos": 4}
    html = (m.root / "report.html").read_text()
    assert not [t for t in tags(html, "script") + tags(html, "link") + tags(html, "img") if "http" in t]
    assert html.count('data-image-id="') == 5 and "photo not found" in html
    for name in ("pr_curve.png", "f1_curve.png", "confusion_matrix.png", "errors_missed.png"):
        assert f'src="{name}"' in html
    # the photo of image 13 (3 animals, the third missed, a false positive) has both marks drawn
    photo = np.asarray(Image.open(m.root / "report" / "photos" / "13.jpg").convert("RGB")).astype(int)
    for colour in (MISSED, FALSE):
        assert (np.abs(photo - colour).sum(axis=2) < 90).sum() > 50, colour
    assert (m.root / "report" / "thumbs" / "13.jpg").is_file()
    assert not (m.root / "report" / "photos" / "14.jpg").exists()


def test_plots_false_writes_no_report(tmp_path):
    ds, pred = small_survey(tmp_path, n=2)
    m = detect(str(ds.path), str(pred.path), plots=False, out=str(tmp_path / "ev"))
    assert "report" not in m.artifacts and not (m.root / "report.html").exists()


def test_classify_writes_a_report(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    images = [{"id": i, "file_name": f"c{i}.png", "width": 32, "height": 32} for i in range(4)]
    for im in images:
        Image.new("RGB", (32, 32), (20 * im["id"], 90, 30)).save(root / im["file_name"])
    anns = [{"id": i + 1, "image_id": i, "category_id": i % 2} for i in range(4)]
    ds = write_dataset(tmp_path / "ds", ["a", "b"], {"val": coco(images, anns, ["a", "b"])}, task="classify")
    doc = json.loads(ds.path.read_text())
    doc["splits"]["val"]["image_root"] = str(root)
    ds.path.write_text(json.dumps(doc))
    ds = read_manifest(ds.path)
    pred = write_predictions(tmp_path / "pred", ds, {"val": [{"image_id": i, "category_id": 0, "score": 0.8}
                                                             for i in range(4)]}, task="classify")
    m = classify(str(ds.path), str(pred.path), out=str(tmp_path / "ev"))
    html = (m.root / m.artifacts["report"].path).read_text()
    assert "balanced_accuracy" in html and 'src="confusion_matrix.png"' in html


def test_report_in_chromium(tmp_path):
    """Every image loads, the table holds the evaluation's rows and counts, sorting works, the page is not blank."""
    ds, pred = small_survey(tmp_path, n=6)
    m = detect(str(ds.path), str(pred.path), out=str(tmp_path / "ev"))
    with Chromium(tmp_path / "profile") as browser:
        shown = check_report(browser, m.root / "report.html", m.details["per_image"], tmp_path / "shot.png")
    # most mistakes first: photo 15 (5 animals, one missed, a false positive) before photo 10 (nothing)
    order = [r[0] for r in shown]
    assert order.index("15") < order.index("10")


def test_compare_html_side_by_side_with_the_photos_they_disagree_on(tmp_path):
    ds, pred = small_survey(tmp_path, n=6)
    a = detect(str(ds.path), str(pred.path), out=str(tmp_path / "a"))
    # a second model that also finds a false animal on photo 12 only
    rows = json.loads((pred.root / pred.artifacts["predictions_val"].path).read_text())
    rows.append({"image_id": 12, "category_id": 1, "bbox": [150, 150, 40, 40], "score": 0.8})
    other = write_predictions(tmp_path / "pred2", ds, {"val": rows})
    b = detect(str(ds.path), str(other.path), out=str(tmp_path / "b"))
    page = tmp_path / "cmp" / "side.html"
    compare([str(a.root), str(b.root)], save=page)
    html = page.read_text()
    assert (tmp_path / "cmp" / "side_files" / "1" / "photos" / "12.jpg").is_file()
    assert html.count('data-image-id="') == 1 and 'data-image-id="12"' in html
    with Chromium(tmp_path / "profile") as browser:
        browser.open(page)
        loaded = browser.js(IMAGES_LOAD)
        assert len(loaded) >= 2 + 4 and all(w > 0 for _, w in loaded), loaded  # 2 photos, 2 x 2 curves at least
        heads = browser.js("Array.from(document.querySelectorAll('section#metrics th'), th => th.textContent)")
        assert heads[1:3] == ["a", "b"]


def test_points_evaluation_writes_a_report_with_rings_at_the_points(tmp_path):
    ds, pred = small_survey(tmp_path, n=4, points=True)
    m = detect(str(ds.path), str(pred.path), match="points", radius=10, out=str(tmp_path / "ev"))
    html = (m.root / m.artifacts["report"].path).read_text()
    assert "Point evaluation" in html and html.count('data-image-id="') == 4
    # photo 13: three points, the third missed (an orange ring), a false positive (red box)
    photo = np.asarray(Image.open(m.root / "report" / "photos" / "13.jpg").convert("RGB")).astype(int)
    for colour in (MISSED, FALSE):
        assert (np.abs(photo - colour).sum(axis=2) < 90).sum() > 30, colour
