"""The parts of an HTML report page: one self-contained file, plain HTML, inline CSS, a little inline JS.

No network and no CDN: every image is a file beside the page, addressed by a relative path, so
the report opens from disk, from a copy of the output directory or from MLflow's artifact view.
Tables marked sortable sort when a header is clicked (numbers as numbers); a row with a
`data-href` opens that file (the annotated photo) when clicked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1280px;
padding:0 18px 40px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde2e8}
p.sub{color:#5a6570;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{padding:3px 9px;border-bottom:1px solid #e6e9ee;
text-align:right}th:first-child,td:first-child,td.l,th.l{text-align:left}
th{background:#f3f5f8;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";color:#9aa4ae}
table.sortable th[aria-sort=ascending]:after{content:" \\25B2";color:#1d232a}
table.sortable th[aria-sort=descending]:after{content:" \\25BC";color:#1d232a}
tr[data-href]{cursor:pointer}tr[data-href]:hover{background:#eef4ff}
td.bad{color:#b3261e;font-weight:600}td.best{font-weight:700;background:#e3f4e6}td.meaning{text-align:left;color:#4a5560;max-width:640px}
.figs{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:12px}.figs figure{margin:0}.figs img{max-width:100%;width:420px;height:auto;border:1px solid #dde2e8}
figure figcaption{color:#5a6570;font-size:12px}
img.thumb{display:block;height:auto;border:1px solid #ccd3db}
.key span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
.side{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 18px}.side figure{margin:0}
code{background:#f3f5f8;padding:0 3px}p.toc a{margin-right:4px}
"""

JS = """
function cellValue(row, i){
  var c = row.cells[i]; var v = c.getAttribute('data-v'); if (v === null) v = c.textContent.trim();
  var n = parseFloat(v); return (v !== '' && !isNaN(n) && isFinite(v)) ? n : v.toLowerCase();
}
function sortBy(th){
  var table = th.closest('table'), body = table.tBodies[0], i = th.cellIndex;
  var asc = th.getAttribute('aria-sort') !== 'ascending';
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function(h){ h.removeAttribute('aria-sort'); });
  th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function(a, b){
    var x = cellValue(a, i), y = cellValue(b, i);
    if (typeof x !== typeof y){ x = String(x); y = String(y); }
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
  });
  rows.forEach(function(r){ body.appendChild(r); });
}
document.addEventListener('click', function(e){
  var th = e.target.closest('table.sortable thead th'); if (th){ sortBy(th); return; }
  if (e.target.closest('a')) return;
  var tr = e.target.closest('tr[data-href]'); if (tr) window.open(tr.getAttribute('data-href'), '_blank');
});
"""


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    """A whole HTML document."""
    sections = list(sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n"
            f"<p class=\"sub\">{escape(subtitle)}</p>\n" + contents(sections) + "\n".join(sections)
            + f"\n<script>{JS}</script>\n</body></html>\n")


def contents(sections: Iterable[str]) -> str:
    """Links to the sections that have an id."""
    found = (re.match(r'<section id="([^"]+)"><h2>([^<]*)</h2>', s) for s in sections)
    links = [f'<a href="#{m[1]}">{m[2]}</a>' for m in found if m]
    return f'<p class="toc">{" · ".join(links)}</p>\n' if links else ""


def section(heading: str, *parts: str, id: str | None = None) -> str:
    anchor = f' id="{escape(id)}"' if id else ""
    return f"<section{anchor}><h2>{escape(heading)}</h2>\n" + "\n".join(parts) + "\n</section>"


def para(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def number(value: object) -> str:
    """A value as text: integers plain, other numbers with 4 decimals."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, sortable: bool = False,
          id: str | None = None, row_attrs: Sequence[dict[str, str]] | None = None,
          raw: Sequence[int] = (), left: Sequence[int] = (), bad: Sequence[set[int]] | None = None,
          best: Sequence[set[int]] | None = None) -> str:
    """A table; cells are escaped text except the columns in `raw` (HTML made here); `row_attrs[r]` are
    attributes of row r (`data-href` makes the row open that file); `bad[r]` and `best[r]` name the cells of row r to mark as
    mistakes or as the best."""
    cls = ' class="sortable"' if sortable else ""
    anchor = f' id="{escape(id)}"' if id else ""
    head = "".join(f'<th{" class=l" if i in left else ""}>{escape(c)}</th>' for i, c in enumerate(columns))
    out = [f"<table{cls}{anchor}><thead><tr>{head}</tr></thead><tbody>"]
    for r, row in enumerate(rows):
        attr = "".join(f' {k}="{escape(v)}"' for k, v in (row_attrs[r] if row_attrs is not None else {}).items())
        cells = []
        for i, v in enumerate(row):
            marks = []
            if i in left:
                marks.append("l")
            if bad is not None and i in bad[r]:
                marks.append("bad")
            if best is not None and i in best[r]:
                marks.append("best")
            klass = f' class="{" ".join(marks)}"' if marks else ""
            text = v if i in raw else escape(number(v))
            value = f' data-v="{escape(number(v))}"' if i not in raw and isinstance(v, int | float) else ""
            cells.append(f"<td{klass}{value}>{text}</td>")
        out.append(f"<tr{attr}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def figures(items: Iterable[tuple[str, str]]) -> str:
    """Images beside the page (relative path, caption), each opening at full size on click."""
    figs = [f'<figure><a href="{escape(src)}"><img src="{escape(src)}" alt="{escape(cap)}"></a>'
            f"<figcaption>{escape(cap)}</figcaption></figure>" for src, cap in items]
    return '<div class="figs">' + "".join(figs) + "</div>" if figs else ""


def key(items: Iterable[tuple[tuple[int, int, int], str]]) -> str:
    """A colour key: a swatch per meaning."""
    return '<p class="key">' + "".join(
        f'<span style="background:rgb{c}"></span>{escape(text)}' for c, text in items) + "</p>"
