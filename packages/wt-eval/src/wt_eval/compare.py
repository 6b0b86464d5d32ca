"""`wt-eval compare`: several evaluations side by side, the best value per column marked."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

from wt_core.console import get_logger, print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest
from wt_core.manifest_io import read_manifest
from wt_core.readers import read_evaluation

from wt_eval import __version__

log = get_logger("wt-eval")

DEFAULT_COLUMNS = {
    "detect": ["mAP", "mAP50", "mAP75", "precision", "recall", "f1", "best_f1", "best_f1_threshold", "count_mae",
               "count_bias"],
    "classify": ["accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1",
                 "top5_accuracy"],
}
LOWER_IS_BETTER = {"count_mae", "count_rmse", "fp", "fn", "loss"}
CLOSEST_TO_ZERO = {"count_bias"}
NOT_RANKED = {"best_f1_threshold", "score_threshold", "iou_threshold", "tp", "count_true", "count_predicted",
              "nms_iou", "class_aware"}


def expand_refs(refs: list[str]) -> list[str]:
    """'-' reads one manifest reference per line from standard input."""
    out: list[str] = []
    for r in refs:
        if r == "-":
            out += [line.strip() for line in sys.stdin if line.strip()]
        else:
            out.append(r)
    return out


def best_rows(rows: list[dict[str, Any]], column: str) -> list[int]:
    """Indices of the rows holding the best value of a column (several on ties; none when not ranked)."""
    if column in NOT_RANKED:
        return []
    vals = [(i, r["metrics"].get(column)) for i, r in enumerate(rows)]
    vals = [(i, v) for i, v in vals if isinstance(v, int | float)]
    if len(vals) < 2:
        return []
    if column in CLOSEST_TO_ZERO:
        key = [abs(v) for _, v in vals]
        target = min(key)
    elif column in LOWER_IS_BETTER:
        key = [v for _, v in vals]
        target = min(key)
    else:
        key = [v for _, v in vals]
        target = max(key)
    return [i for (i, _), k in zip(vals, key, strict=True) if abs(k - target) <= 1e-12]


def source_of(m: EvaluationManifest) -> str:
    """Which tool made the predictions evaluated (e.g. `wt-yolo predict`), from the parent manifest when it exists."""
    parent = m.parent("predictions")
    if parent is None:
        return ""
    try:
        p = read_manifest(m.parent_path(parent), "predictions", hashes=False, parents=False)
    except BadInput:
        return ""
    return f"{p.producer.tool} {p.producer.command}".strip()


def label_of(m: EvaluationManifest, taken: set[str]) -> str:
    name = m.root.name
    if name in taken:
        name = f"{name} ({m.id})"
    taken.add(name)
    return name


def as_markdown(columns: list[str], rows: list[dict[str, Any]], best: dict[str, list[int]]) -> str:
    head = "| evaluation | " + " | ".join(columns) + " |"
    sep = "|---|" + "|".join("---:" for _ in columns) + "|"
    lines = [head, sep]
    for i, r in enumerate(rows):
        cells = []
        for c in columns:
            v = r["metrics"].get(c)
            text = "" if v is None else f"{v:.4f}"
            cells.append(f"**{text}**" if i in best[c] else text)
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def as_csv(columns: list[str], rows: list[dict[str, Any]], best: dict[str, list[int]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["evaluation", "id", "dataset_id", "split", *columns, "best"])
    for i, r in enumerate(rows):
        w.writerow([r["name"], r["id"], r["dataset_id"], r["split"],
                    *[r["metrics"].get(c, "") for c in columns], ";".join(c for c in columns if i in best[c])])
    return buf.getvalue()


@command("wt-eval", "compare", __version__)
def compare(evaluations: list[str], columns: list[str] | None = None, force: bool = False, save: Path | None = None,
            json: bool = False) -> dict[str, Any] | None:
    """Compare evaluation manifests in one table, the best value per column marked.

    Refuses evaluations of different datasets, splits or tasks unless --force.
    The table goes to standard error; --json prints it as JSON on standard output.

    Args:
        evaluations: Evaluation manifests (files or directories), e.g. `--evaluations a b c`; '-' reads one per
            line from standard input.
        columns: Metrics to show (default: the main metrics of the task).
        force: Compare evaluations made on different datasets, splits or tasks.
        save: Also write the comparison to this file: Markdown (.md), CSV (.csv), or an HTML page (.html: the
            metrics, per class and curves side by side and the photos where the evaluations disagree most, its
            images in a folder beside it named after the page, x_files/ for x.html).
        json: Print the comparison as JSON on standard output.
    """
    refs = expand_refs(list(evaluations))
    if not refs:
        raise BadInput("nothing to compare: give at least one evaluation manifest", None, "evaluations")
    if save is not None and Path(save).suffix.lower() not in (".md", ".csv", ".html"):
        raise BadInput(f"--save writes Markdown (.md), CSV (.csv) or HTML (.html), got {Path(save).name!r}", str(save),
                       "save")
    ms = [read_evaluation(r, hashes=False) for r in refs]
    first = ms[0]
    for m in ms[1:]:
        for field in ("task", "dataset_id", "split"):
            if getattr(m, field) != getattr(first, field) and not force:
                raise BadInput(f"these evaluations differ in {field} ({getattr(first, field)} in {first.root.name}, "
                               f"{getattr(m, field)} in {m.root.name}): their numbers are not comparable; "
                               "pass --force to compare anyway", m.path, field)
    cols = list(columns) if columns else [c for c in DEFAULT_COLUMNS.get(first.task, [])
                                          if any(c in m.metrics for m in ms)]
    if not cols:
        cols = sorted({k for m in ms for k in m.metrics})
    taken: set[str] = set()
    rows = [{"name": label_of(m, taken), "id": m.id, "path": str(m.path), "source": source_of(m),
             "dataset_id": m.dataset_id, "split": m.split, "metrics": {c: m.metrics[c] for c in cols if c in m.metrics}}
            for m in ms]
    best = {c: best_rows(rows, c) for c in cols}
    table = [[r["name"], r["source"], *[("" if r["metrics"].get(c) is None else
                                         f"{r['metrics'][c]:.4f}{' *' if i in best[c] else ''}") for c in cols]]
             for i, r in enumerate(rows)]
    print_table("wt-eval compare (* best)", ["evaluation", "predictions from", *cols], table)
    if save is not None and Path(save).suffix.lower() == ".html":
        from wt_eval.report_compare import compare_report

        log.info("report: %s", compare_report(Path(save).absolute(), ms, rows, cols, best))
    elif save is not None:
        text = as_markdown(cols, rows, best) if Path(save).suffix.lower() == ".md" else as_csv(cols, rows, best)
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        Path(save).write_text(text, encoding="utf-8")
    if json:
        return {"columns": cols, "rows": rows, "best": {c: [rows[i]["name"] for i in idx] for c, idx in best.items()}}
    return None
