"""`wt-eval compare --save x.html`: two or more evaluations side by side in one page.

The metrics side by side (the best of each marked), per class, each evaluation's
curves, and the photos where the evaluations disagree most: the largest spread of
predicted counts (then of mistakes), each with every evaluation's counts and its
annotated photo. The page's images are copied into `x_files/` beside it, so the
page opens anywhere, without the evaluations' directories.
"""

from __future__ import annotations

import csv
import shutil
from html import escape
from pathlib import Path
from typing import Any

from wt_core.manifest import EvaluationManifest

from wt_eval import report_page as hp
from wt_eval.report import FOLDER, MEANING, photo_name

DISAGREE = 24
CLASS_METRIC = {"detect": "AP50", "classify": "f1"}


def files_dir(page: Path) -> Path:
    return page.with_name(page.stem + "_files")


def per_image(m: EvaluationManifest) -> dict[str, dict[str, Any]]:
    """An evaluation's rows per image id (counts.csv), empty when it has none."""
    art = m.artifacts.get("counts")
    if art is None or not (m.root / art.path).is_file():
        return {}
    with (m.root / art.path).open(newline="") as fh:
        return {r["image_id"]: r for r in csv.DictReader(fh)}


def disagreements(tables: list[dict[str, dict[str, Any]]], limit: int = DISAGREE) -> list[str]:
    """Image ids in every table, where the predicted counts spread most (then the mistakes), at most `limit`."""
    common = set.intersection(*(set(t) for t in tables)) if tables else set()

    def spread(image_id: str) -> tuple:
        predicted = [int(t[image_id].get("predicted") or 0) for t in tables]
        wrong = [int(t[image_id].get("false_positives") or 0) + int(t[image_id].get("missed") or 0) for t in tables]
        return (-(max(predicted) - min(predicted)), -(max(wrong) - min(wrong)), image_id)

    ranked = sorted(common, key=spread)
    return [i for i in ranked if spread(i)[:2] != (0, 0)][:limit]


def _copy(src: Path, dst: Path) -> bool:
    if not src.is_file():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return True


def compare_report(page: Path, ms: list[EvaluationManifest], rows: list[dict[str, Any]], columns: list[str],
                   best: dict[str, list[int]]) -> Path:
    """Write the page and its files; returns the page's path."""
    files = files_dir(page)
    if files.exists():
        shutil.rmtree(files)
    rel = f"{files.name}"
    names = [r["name"] for r in rows]
    metrics = [[c, *[r["metrics"].get(c, "") for r in rows], MEANING.get(c, "")] for c in columns]
    marks = [{1 + i for i in best[c]} for c in columns]
    sections = [hp.section("Metrics", hp.para("The best value of each metric is marked."),
                           hp.table(["metric", *names, "what it means"], metrics, best=marks, left=[0, len(names) + 1]),
                           id="metrics")]
    task = ms[0].task
    metric = CLASS_METRIC.get(task, "f1")
    classes = list(dict.fromkeys(c for m in ms for c in m.per_class))
    if classes:
        per_class = [[c, *[m.per_class.get(c, {}).get(metric, "") for m in ms]] for c in classes]
        sections.append(hp.section(f"Per class ({metric})", hp.table(["class", *names], per_class, sortable=True,
                                                                     left=[0]), id="per-class"))
    rows_of_figs = []  # one row per plot, the evaluations side by side
    for file in ("pr_curve.png", "f1_curve.png", "confusion_matrix.png"):
        figs = [(f"{rel}/{k}/{file}", f"{names[k]}: {file.removesuffix('.png').replace('_', ' ')}")
                for k, m in enumerate(ms) if _copy(m.root / file, files / f"{k}" / file)]
        if figs:
            rows_of_figs.append(hp.figures(figs))
    if rows_of_figs:
        sections.append(hp.section("Curves", *rows_of_figs, id="curves"))
    if task == "detect":
        sections.append(_disagreement_section(ms, names, files, rel))
    page.parent.mkdir(parents=True, exist_ok=True)
    title = f"Comparison of {len(ms)} evaluations"
    subtitle = f"{task} on dataset {ms[0].dataset_id}, split {ms[0].split}: " + ", ".join(names)
    page.write_text(hp.page(title, subtitle, sections), encoding="utf-8")
    return page


def _disagreement_section(ms: list[EvaluationManifest], names: list[str], files: Path, rel: str) -> str:
    tables = [per_image(m) for m in ms]
    chosen = disagreements(tables)
    if not chosen:
        return hp.section("Where they disagree", hp.para("The evaluations predict the same counts on every photo "
                                                         "they share."), id="disagree")
    head = ["photo", "true", *[f"{n}: predicted / false pos. / missed" for n in names]]
    rows, attrs = [], []
    for image_id in chosen:
        first = tables[0][image_id]
        cells = [escape(first.get("file_name", "")), escape(str(first.get("true", "")))]
        for k, (m, t) in enumerate(zip(ms, tables, strict=True)):
            r = t[image_id]
            name = photo_name(image_id)
            thumb = _copy(m.root / FOLDER / "thumbs" / name, files / f"{k}" / "thumbs" / name)
            full = _copy(m.root / FOLDER / "photos" / name, files / f"{k}" / "photos" / name)
            text = f"{r.get('predicted', '')} / {r.get('false_positives', '')} / {r.get('missed', '')}"
            if thumb and full:
                text = (f'<a href="{rel}/{k}/photos/{name}" target="_blank"><img class="thumb" loading="lazy" '
                        f'src="{rel}/{k}/thumbs/{name}" alt=""></a>{escape(text)}')
            else:
                text = escape(text)
            cells.append(text)
        rows.append(cells)
        attrs.append({"data-image-id": image_id})
    note = (f"The {len(chosen)} photo{'s' if len(chosen) > 1 else ''} where the predicted counts differ most between the evaluations "
            "(then the mistakes); a thumbnail opens that evaluation's photo with its boxes.")
    return hp.section("Where they disagree", hp.para(note),
                      hp.table(head, rows, sortable=False, id="disagree-table", row_attrs=attrs,
                               raw=list(range(len(head))), left=list(range(len(head)))), id="disagree")
