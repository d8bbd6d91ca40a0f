"""Small summaries shared by the study tables: mean ± std over seeds, and the text table."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_std", "fmt", "text_table", "first_step"]


def mean_std(vals) -> tuple[float | None, float | None, int]:
    """(mean, std, count) of the finite entries of ``vals`` (``None`` entries are skipped)."""
    v = [x for x in vals if x is not None and math.isfinite(x)]
    if not v:
        return None, None, 0
    return float(np.mean(v)), float(np.std(v)), len(v)


def fmt(vals, digits: int = 3) -> str:
    """``mean±std`` of ``vals`` (one value: the value; missing entries counted as ``(n/N)``)."""
    m, s, n = mean_std(vals)
    if m is None:
        return "-"
    if len(vals) == 1:
        return f"{m:.{digits}g}"
    return f"{m:.{digits}g}±{s:.2g}" + ("" if n == len(vals) else f" ({n}/{len(vals)})")


def text_table(header, rows) -> str:
    """Fixed-width text table: first column left-aligned, the others right-aligned."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].rjust(w[i]) if i else c[i].ljust(w[i]) for i in range(len(header))) for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def first_step(mask, steps) -> int | None:
    """The first entry of ``steps`` where ``mask`` holds, or ``None``."""
    idx = np.nonzero(np.asarray(mask))[0]
    return int(np.asarray(steps)[idx[0]]) if idx.size else None
