"""Finite-horizon Gittins indices of Bernoulli arms (Beta prior, undiscounted), cached on disk.

The index of an arm with posterior ``Beta(a, b)`` and ``r`` pulls left in the trial is the
*calibration* value ``lambda`` of a known arm paying ``lambda`` per pull at which one is
indifferent between retiring to the known arm now and pulling the unknown arm once more (with
the option of retiring later)::

    V(a, b, r; lam) = max(r * lam, p + p V(a+1, b, r-1; lam) + (1-p) V(a, b+1, r-1; lam)),
    p = a / (a + b),   V(., ., 0; lam) = 0,
    index(a, b, r) = the lam where  C(a, b, r; lam) := [forced pull value] - r * lam  = 0.

With ``W = V - r*lam`` (the excess over retiring) the recursion is
``C = p - lam + p W(a+1, b, r-1) + (1-p) W(a, b+1, r-1)``, ``W = max(0, C)``. ``C`` is convex,
piecewise linear and decreasing in ``lam`` with slope ``-T``, ``T`` the expected number of pulls
before retiring under the optimal stopping rule; so ``lam' = lam + C(lam) / T(lam)`` (Newton on a
convex piecewise-linear function, i.e. Dinkelbach's ratio iteration) climbs monotonically to the
root from any lower bound and reaches it *exactly* after finitely many steps (when the stopping
rule stops changing). This is the calibration/bisection method with the bisection replaced by an
exact root finder; ``method="bisection"`` keeps the plain bisection as a check.

Two table builders share the layout ``values[r, n, i]`` (``n = a + b - 2`` pulls of the arm so
far, ``i = a - 1`` successes, ``r = 1..H`` pulls left, ``n <= H - r``):

``"exact"``
    For each ``r``, the root of every state is found by the iteration above, warm-started at the
    index with one pull fewer to go (a lower bound: indices grow with ``r``), with one dynamic
    programme over the ``r``-step subtree of every state per iteration, vectorised over all
    states of the layer. Cost ``O(H^5)``: horizon 100 takes seconds, 500 would take hours.
``"grid"``
    For every ``lam`` of a uniform grid, ONE dynamic programme over the whole ``(r, n, i)``
    lattice gives ``C`` and ``T`` of every state exactly at that ``lam``; each index is then
    located in its grid cell and placed by cubic Hermite interpolation of ``C`` (exact end values
    and slopes). Cost ``O(G H^3)``; the result is within the cell's certified bracket (tangents
    below, secant above), typically ``1e-3`` of the exact index. Used beyond
    :data:`EXACT_MAX_HORIZON`; ``docs/baselines.md`` measures what that changes in play.

Tables are cached as ``.npy`` files under :func:`cache_dir` (``$RL2_CACHE_DIR``, else
``$XDG_CACHE_HOME/rl2``, else ``~/.cache/rl2``): float64 for exact tables, float32 for grid ones
(84 MB at horizon 500). The file name carries :data:`CACHE_VERSION`
(``gittins_v<version>_<method>_H<horizon>.npy``): bump it whenever a builder's output changes, so
that tables of an older algorithm are never reused.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meta_envs.validation import check_choice, check_positive_int

logger = logging.getLogger(__name__)

__all__ = ["CACHE_VERSION", "EXACT_MAX_HORIZON", "GittinsTable", "cache_dir", "cache_path", "gittins_table", "solve_layer"]

CACHE_VERSION = 2
"""Version of the table builders, part of every cache file name: bump it when a builder's output changes
(version 1 was the unversioned ``gittins_<method>_H<horizon>.npy`` of earlier releases, never read now)."""

EXACT_MAX_HORIZON = 128
"""``method="auto"`` builds exact tables up to this horizon, grid tables beyond it."""

GRID_SIZE = 32
"""Number of calibration values of the ``"grid"`` builder."""

METHODS = ("auto", "exact", "bisection", "grid")
_CHUNK_CELLS = 4_000_000  # max (roots x subtree width) cells per vectorised dynamic programme


def cache_path(horizon: int, method: str) -> Path:
    """Cache file of the ``method`` table (``"exact"``, ``"bisection"`` or ``"grid"``) for ``horizon``."""
    tag = f"grid{GRID_SIZE}" if method == "grid" else method
    return cache_dir() / f"gittins_v{CACHE_VERSION}_{tag}_H{int(horizon)}.npy"


def cache_dir() -> Path:
    """Folder of cached tables: ``$RL2_CACHE_DIR``, else ``$XDG_CACHE_HOME/rl2``, else ``~/.cache/rl2``."""
    if os.environ.get("RL2_CACHE_DIR"):
        return Path(os.environ["RL2_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rl2"


# --------------------------------------------------------------------------------------
# packed (r, n, i) layout
# --------------------------------------------------------------------------------------
def _layer_offsets(horizon: int) -> np.ndarray:
    """``offsets[r]`` = start of layer ``r`` (``r = 1..H``) in the packed array; ``offsets[H+1]`` = size."""
    sizes = np.zeros(horizon + 2, dtype=np.int64)
    rows = horizon - np.arange(1, horizon + 1) + 1  # rows n = 0..H-r of layer r
    sizes[2:] = rows * (rows + 1) // 2
    return np.cumsum(sizes)


def _triangle(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, i)`` of the packed triangle ``0 <= i <= n < rows``, row-major."""
    n = np.repeat(np.arange(rows), np.arange(1, rows + 1))
    i = np.arange(n.size) - n * (n + 1) // 2
    return n, i


@dataclass(frozen=True)
class GittinsTable:
    """Index table for one trial horizon; look up with :meth:`index`.

    Attributes
    ----------
    horizon:
        Longest number of pulls left ``r`` covered (the trial length).
    method:
        ``"exact"``, ``"bisection"`` or ``"grid"`` (see the module docstring).
    values:
        Packed indices: layer ``r`` (``r = 1..H``) holds rows ``n = 0..H-r``, row ``n`` holds
        ``i = 0..n``.
    """

    horizon: int
    method: str
    values: np.ndarray

    def index(self, successes: np.ndarray, failures: np.ndarray, remaining: np.ndarray | int) -> np.ndarray:
        """Index of arms with the given success / failure counts and ``remaining`` pulls left.

        All arguments broadcast; counts are observations only (the ``Beta(1, 1)`` prior is
        added here), ``1 <= remaining`` and ``successes + failures + remaining <= horizon``.
        """
        s = np.asarray(successes, dtype=np.int64)
        f = np.asarray(failures, dtype=np.int64)
        r = np.asarray(remaining, dtype=np.int64)
        n = s + f
        if np.any(r < 1) or np.any(n + r > self.horizon) or np.any(s < 0) or np.any(f < 0):
            raise ValueError(f"need counts >= 0, remaining >= 1 and pulls + remaining <= {self.horizon}")
        off = _layer_offsets(self.horizon)
        return self.values[off[r] + n * (n + 1) // 2 + s]


# --------------------------------------------------------------------------------------
# the exact calibration (per layer, vectorised over the states of the layer)
# --------------------------------------------------------------------------------------
def _calibrate(n0: np.ndarray, i0: np.ndarray, lam: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """``C`` and ``T`` at the roots ``(n0, i0)`` with ``r`` pulls left, each root at its own ``lam``.

    One backward dynamic programme over the ``r``-step subtree of every root (forced first pull,
    then the optimal retirement rule for that root's ``lam``).
    """
    k = n0.size
    W = np.zeros((k, r + 1))
    T = np.zeros((k, r + 1))
    lam = lam[:, None]
    for m in range(r - 1, -1, -1):  # depth in the subtree: m pulls already made, r - m left
        j = np.arange(m + 1)
        p = (i0[:, None] + j + 1) / (n0[:, None] + m + 2)
        W1, W0 = W[:, 1 : m + 2], W[:, : m + 1]
        go1, go0 = W1 > 0, W0 > 0
        C = W0 + p * (W1 - W0) + p - lam
        T0 = T[:, : m + 1] * go0
        T = T0 + p * (T[:, 1 : m + 2] * go1 - T0) + 1.0
        W = C if m == 0 else np.maximum(C, 0.0)
    return W[:, 0], T[:, 0]


def solve_layer(n0: np.ndarray, i0: np.ndarray, r: int, lower: np.ndarray | None = None, method: str = "exact") -> np.ndarray:
    """Exact indices of the states ``(n0, i0)`` with ``r`` pulls left.

    Parameters
    ----------
    n0, i0:
        Pulls made and successes of each state (1-d int arrays).
    r:
        Pulls left (>= 1).
    lower:
        Optional lower bounds of the indices (warm start); the posterior mean otherwise.
    method:
        ``"exact"`` (Newton/Dinkelbach on the convex calibration function) or ``"bisection"``.
    """
    n0 = np.asarray(n0, dtype=np.int64)
    i0 = np.asarray(i0, dtype=np.int64)
    p = (i0 + 1) / (n0 + 2)
    if r == 1:
        return p.astype(np.float64)
    lam = np.maximum(p, lower) if lower is not None else p.copy()
    chunk = max(1, _CHUNK_CELLS // (r + 1))
    for start in range(0, n0.size, chunk):
        sl = slice(start, start + chunk)
        if method == "bisection":
            lam[sl] = _bisect(n0[sl], i0[sl], lam[sl], r)
            continue
        active = np.arange(lam[sl].size)
        view = lam[sl]
        for _ in range(200):
            C, T = _calibrate(n0[sl][active], i0[sl][active], view[active], r)
            step = np.maximum(C, 0.0) / T
            view[active] += step
            active = active[step > 1e-15 * np.maximum(view[active], 1e-300)]
            if active.size == 0:
                break
        else:  # pragma: no cover - finite convergence makes this unreachable
            raise RuntimeError(f"Gittins calibration did not converge at r={r}")
    return lam


def _bisect(n0: np.ndarray, i0: np.ndarray, lo: np.ndarray, r: int, tol: float = 1e-13) -> np.ndarray:
    lo = lo.copy()
    hi = np.ones_like(lo)
    while np.max(hi - lo) > tol:
        mid = 0.5 * (lo + hi)
        C, _ = _calibrate(n0, i0, mid, r)
        lo = np.where(C > 0, mid, lo)
        hi = np.where(C > 0, hi, mid)
    return 0.5 * (lo + hi)


def _build_exact(horizon: int, method: str, progress: bool) -> np.ndarray:
    off = _layer_offsets(horizon)
    values = np.empty(off[-1])
    prev: np.ndarray | None = None
    for r in _progress(range(1, horizon + 1), progress, f"Gittins indices (exact, horizon {horizon})"):
        n0, i0 = _triangle(horizon - r + 1)
        lower = None if prev is None else prev[: n0.size]  # same (n, i) with one pull fewer to go
        layer = solve_layer(n0, i0, r, lower, method)
        values[off[r] : off[r + 1]] = layer
        prev = layer
    return values


# --------------------------------------------------------------------------------------
# the calibration grid (one dynamic programme per calibration value, whole lattice at once)
# --------------------------------------------------------------------------------------
def _hermite_root(c0: np.ndarray, c1: np.ndarray, m0: np.ndarray, m1: np.ndarray, iters: int = 8) -> np.ndarray:
    """Root in [0, 1] of the cubic Hermite interpolant (values c0 > 0 >= c1, slopes m0, m1)."""
    t = np.clip(c0 / np.maximum(c0 - c1, 1e-300), 0.0, 1.0)  # secant start
    for _ in range(iters):
        t2, t3 = t * t, t * t * t
        f = (2 * t3 - 3 * t2 + 1) * c0 + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * c1 + (t3 - t2) * m1
        d = (6 * t2 - 6 * t) * c0 + (3 * t2 - 4 * t + 1) * m0 + (-6 * t2 + 6 * t) * c1 + (3 * t2 - 2 * t) * m1
        t = np.clip(t - f / np.where(d < 0, d, -1.0), 0.0, 1.0)
    return t


def _build_grid(horizon: int, grid_size: int, progress: bool) -> np.ndarray:
    G = grid_size
    lam = ((np.arange(G) + 0.5) / G).astype(np.float32)
    h = 1.0 / G
    off = _layer_offsets(horizon)
    values = np.empty(off[-1], np.float32)  # the method's error (~1e-3) is far above float32 rounding
    nmax = np.arange(horizon + 1, dtype=np.float32)
    prob = np.minimum((nmax[None, :] + 1) / (nmax[:, None] + 2), 1.0)[:, :, None]  # p[n, i] (clipped where i > n)
    # layers as square arrays [n, i, g] (only i <= n is meaningful); ping-pong buffers, layer 0 = 0
    W_prev, T_prev = np.zeros((horizon + 1, horizon + 1, G), np.float32), np.zeros((horizon + 1, horizon + 1, G), np.float32)
    W_cur, T_cur = np.zeros_like(W_prev), np.zeros_like(T_prev)
    for r in _progress(range(1, horizon + 1), progress, f"Gittins indices (grid {G}, horizon {horizon})"):
        rows = horizon - r + 1
        blocks = np.linspace(0, rows, min(8, rows // 16 + 1) + 1).astype(int)
        for na, nb in zip(blocks[:-1], blocks[1:]):  # row blocks: only columns i < nb can be valid
            p = prob[na:nb, :nb]
            W1, W0 = W_prev[na + 1 : nb + 1, 1 : nb + 1], W_prev[na + 1 : nb + 1, :nb]
            T1 = np.where(W1 > 0, T_prev[na + 1 : nb + 1, 1 : nb + 1], 0.0)
            T0 = np.where(W0 > 0, T_prev[na + 1 : nb + 1, :nb], 0.0)
            C = W_cur[na:nb, :nb]
            np.subtract(W1, W0, out=C)
            C *= p
            C += W0
            C += p
            C -= lam
            Tn = T_cur[na:nb, :nb]
            np.subtract(T1, T0, out=Tn)
            Tn *= p
            Tn += T0
            Tn += 1.0
        # locate each index in its cell [lam_k, lam_k+1] (C decreases in lam), then Hermite
        nn, ii = _triangle(rows)
        Cg = W_cur[nn, ii]
        k = np.clip(np.count_nonzero(Cg > 0, axis=-1) - 1, 0, G - 2)
        at = np.arange(nn.size)
        c0, c1 = Cg[at, k].astype(np.float64), Cg[at, k + 1].astype(np.float64)
        t0, t1 = T_cur[nn, ii, k].astype(np.float64), T_cur[nn, ii, k + 1].astype(np.float64)
        est = lam[k] + h * _hermite_root(c0, c1, -t0 * h, -t1 * h)
        est = np.where(c0 <= 0, lam[0] + c0 / t0, est)  # below / above the grid: tangent
        est = np.where(c1 > 0, lam[-1] + c1 / t1, est)
        p_state = (ii + 1) / (nn + 2)
        values[off[r] : off[r + 1]] = p_state if r == 1 else np.clip(est, p_state, 1.0)
        np.maximum(W_cur[:rows, :rows], 0.0, out=W_cur[:rows, :rows])
        W_prev, W_cur, T_prev, T_cur = W_cur, W_prev, T_cur, T_prev
    return values


def _progress(it: range, enabled: bool, desc: str):  # noqa: ANN202 - a plain iterator
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, leave=False, mininterval=1.0)


# --------------------------------------------------------------------------------------
# public entry point with the disk cache
# --------------------------------------------------------------------------------------
def gittins_table(horizon: int, method: str = "auto", use_cache: bool = True, progress: bool = True) -> GittinsTable:
    """Index table for trials of ``horizon`` pulls (loaded from the cache, or built and cached).

    Parameters
    ----------
    horizon:
        Trial length in pulls (>= 1).
    method:
        ``"auto"`` (exact up to :data:`EXACT_MAX_HORIZON`, grid beyond), ``"exact"``,
        ``"bisection"`` or ``"grid"``.
    use_cache:
        Read and write :func:`cache_path` (``gittins_v<CACHE_VERSION>_<method>_H<horizon>.npy`` under
        :func:`cache_dir`).
    progress:
        Show a progress bar while building.
    """
    horizon = check_positive_int("horizon", horizon)
    check_choice("method", method, tuple(METHODS))
    if method == "auto":
        method = "exact" if horizon <= EXACT_MAX_HORIZON else "grid"
    path = cache_path(horizon, method)
    expected = int(_layer_offsets(horizon)[-1])
    if use_cache and path.exists():
        try:
            values = np.load(path)
            if values.shape == (expected,):
                return GittinsTable(horizon, method, values)
            logger.warning("ignoring %s: wrong size %s", path, values.shape)
        except (OSError, ValueError) as err:
            logger.warning("ignoring unreadable cache file %s: %s", path, err)
    start = time.perf_counter()
    if method == "grid":
        values = _build_grid(horizon, GRID_SIZE, progress)
    else:
        values = _build_exact(horizon, method, progress)
    logger.info("built %s Gittins table for horizon %d in %.1f s", method, horizon, time.perf_counter() - start)
    if use_cache:
        _atomic_save(path, values)
    return GittinsTable(horizon, method, values)


def _atomic_save(path: Path, values: np.ndarray) -> None:
    """Write ``values`` to ``path`` through a temporary file (safe with concurrent readers)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, values)
        os.replace(tmp, path)
    except OSError as err:
        logger.warning("could not cache the Gittins table at %s: %s", path, err)
