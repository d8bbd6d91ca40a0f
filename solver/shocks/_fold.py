"""Locating the first fold (zero of a Jacobian determinant) on a time grid."""

from __future__ import annotations

import numpy as np

__all__ = ["first_folds"]


def first_folds(ts: np.ndarray, det: np.ndarray, touch_tol: float = 0.01):
    r"""First zero of each row of ``det`` (samples at times ``ts``), ``inf`` when none.

    A simple fold is a sign change (root by the parabola through three samples, linear at the
    edge). An umbilic fold, where two directions focus at once (e.g. rotationally symmetric
    data), makes :math:`\det \propto (t^*-t)^2` touch zero without changing sign; it is caught
    as a local minimum whose parabolic vertex value is below ``touch_tol`` times its neighbours.
    Rows are normalised by their initial sign; non-finite values end a row.

    Returns ``(times, err, k)``: fold times, the linear-vs-parabolic disagreement, bracket index.
    """
    ts = np.asarray(ts, float)
    det = np.asarray(det, float)
    s = det * np.sign(det[:, :1])
    B, T = s.shape
    finite = np.cumsum(~np.isfinite(s), axis=1) == 0
    times = np.full(B, np.inf)
    err = np.zeros(B)
    kk = np.zeros(B, int)
    for b in range(B):
        row = s[b, finite[b]]
        n = len(row)
        if n < 2:
            continue
        neg = np.nonzero(row <= 0)[0]
        k_neg = neg[0] if neg.size else n
        # umbilic touch before the first sign change
        mid = np.arange(1, min(k_neg, n - 1))
        touch = None
        if mid.size:
            lm = mid[(row[mid] <= row[mid - 1]) & (row[mid] <= row[mid + 1])]
            for k in lm:
                a, c0, c = row[k - 1], row[k], row[k + 1]
                curv = a - 2 * c0 + c
                if curv <= 0:
                    continue
                off = 0.5 * (a - c) / curv
                vert = c0 - 0.25 * (a - c) * off
                if vert <= touch_tol * max(a, c):
                    touch = (ts[k] + off * (ts[1] - ts[0]), k)
                    break
        if touch is not None:
            times[b], kk[b] = touch
            err[b] = ts[1] - ts[0]
            continue
        if not neg.size:
            continue
        k = k_neg
        t0, t1, d0, d1 = ts[k - 1], ts[k], row[k - 1], row[k]
        lin = t0 + (t1 - t0) * d0 / (d0 - d1) if d0 != d1 else t1
        quad = lin
        if k >= 2:
            c = np.polyfit(ts[k - 2:k + 1], row[k - 2:k + 1], 2)
            roots = np.roots(c)
            roots = roots[np.isreal(roots)].real
            roots = roots[(roots >= t0 - 1e-12) & (roots <= t1 + 1e-12)]
            if roots.size:
                quad = float(roots[np.argmin(np.abs(roots - lin))])
        times[b], err[b], kk[b] = quad, abs(quad - lin), k
    return times, err, kk
