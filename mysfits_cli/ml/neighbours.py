"""Exact k-nearest-neighbour search for point sets with many duplicates, on faiss.

Points are ordered by (squared L2 distance, position), where positions refer to the
points sorted lexicographically by vector (`GroupedFlatIndex.order`), so equal
vectors are contiguous "groups". A `faiss.IndexFlatL2` holds each distinct vector once;
the k nearest points are then whole groups in (distance, group) order, the last one
cut short.

Two things keep it fast when vectors repeat (100,000 questionnaire answers have at
most 8^5 distinct values):

* identical queries are answered once, and the neighbours of likely queries are
  worked out when the index is built (every possible answer row when the data are
  small integers, else every distinct training vector), so those are a table look-up;
* other queries are searched in chunks of similar queries, each chunk only among
  the vectors inside its bounding box grown by a radius; a query is settled once its
  k-th neighbour provably lies inside that box, the rest go round with twice the
  radius (until the box holds everything).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import faiss
import numpy as np

_CHUNK = 256
_MAX_TABLE = 1 << 21  # entries (vectors x k) worth working out in advance
_FEW = 64  # queries looked up one by one rather than matched against every key at once


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows in lexicographic order, index of each input row among them)."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


@contextlib.contextmanager
def _one_thread_for(queries: int) -> Iterator[None]:
    """A few queries are searched in this thread alone: waking faiss's OpenMP threads for them costs more than
    the search (0.07 ms alone against up to 3.5 ms with two threads, for one query on a busy 2-core machine).
    OpenMP's thread count is a setting of the calling thread, so other threads' searches keep theirs."""
    if queries > _FEW:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _match(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """For each row of `needles`, its index in `haystack` or -1 (both hold distinct rows)."""
    both = np.vstack([haystack, needles])
    order = np.lexsort(both.T[::-1])  # stable, so a haystack row precedes its equal needle
    ordered = both[order]
    equal = np.all(ordered[1:] == ordered[:-1], axis=1)
    equal &= (order[:-1] < len(haystack)) & (order[1:] >= len(haystack))
    found = np.full(len(needles), -1, dtype=np.int64)
    found[order[1:][equal] - len(haystack)] = order[:-1][equal]
    return found


class GroupedFlatIndex:
    """Exact k-NN over `points` (n, d); results are positions in `points[order]`."""

    def __init__(self, points: np.ndarray, k: int, table: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        points = np.ascontiguousarray(points, dtype=np.float32)
        if k > len(points):
            raise ValueError(f"k ({k}) is larger than the number of points ({len(points)})")
        self.k = k
        self.order = np.lexsort(points.T[::-1])  # stable: equal vectors keep their relative order
        self.points = points[self.order]
        new = np.ones(len(points), dtype=bool)
        new[1:] = np.any(self.points[1:] != self.points[:-1], axis=1)
        self._starts = np.flatnonzero(new)
        self._counts = np.diff(np.append(self._starts, len(points)))
        self._groups = self.points[self._starts]
        self._low, self._high = self.points.min(axis=0), self.points.max(axis=0)
        self._index = faiss.IndexFlatL2(points.shape[1])
        self._index.add(self._groups)
        self._lattice: list[int] | None = None  # the sides of the integer box, when its points are the keys
        self._key_positions: dict[bytes, int] | None = None  # made at the first look-up of a few queries
        self._keys = self._worth_tabulating()
        self.table = None
        if self._keys is not None:
            if table is not None and np.array_equal(self.order, np.arange(len(points))) and self._table_fits(table):
                self.table = table
            else:
                self.table = self._search_unique(self._keys)

    def _worth_tabulating(self) -> np.ndarray | None:
        """The query vectors whose neighbours are worked out in advance, if any.

        Every integer point of the data's bounding box when the data are integers and
        the box holds no more points than the data (questionnaire answers: all 8^5
        possible answers), otherwise the distinct vectors when they repeat a lot.
        """
        sides = [int(h - l) + 1 for l, h in zip(self._low, self._high)]
        lattice = math.prod(sides)
        if (
            np.array_equal(self._groups, np.round(self._groups))
            and lattice <= len(self.points)
            and lattice * self.k <= _MAX_TABLE
        ):
            self._lattice = sides
            return (np.indices(sides).reshape(len(sides), -1).T + self._low).astype(np.float32)
        if 2 * len(self._groups) <= len(self.points):
            return self._groups
        return None

    def _table_fits(self, table: tuple[np.ndarray, np.ndarray]) -> bool:
        ids, distances = table
        shape = (len(self._keys), self.k)
        return (
            ids.shape == shape and distances.shape == shape and ids.dtype == np.int64
            and distances.dtype == np.float32 and bool(np.all((ids >= 0) & (ids < len(self.points))))
        )

    def search(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions (n, k), squared distances (n, k)) of each query's k nearest points, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if len(queries) == 0:
            return np.empty((0, self.k), dtype=np.int64), np.empty((0, self.k), dtype=np.float32)
        unique, inverse = unique_rows(queries)
        with _one_thread_for(len(unique)):
            ids, distances = self._looked_up(unique)
        return ids[inverse], distances[inverse]

    def _looked_up(self, unique: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`search` for distinct queries: from the table where it has them, searched otherwise."""
        if self.table is None:
            return self._search_unique(unique)
        known = self._key_rows(unique)
        ids = np.empty((len(unique), self.k), dtype=np.int64)
        distances = np.empty((len(unique), self.k), dtype=np.float32)
        hit = known >= 0
        ids[hit], distances[hit] = self.table[0][known[hit]], self.table[1][known[hit]]
        if not hit.all():
            ids[~hit], distances[~hit] = self._search_unique(unique[~hit])
        return ids, distances

    def _key_rows(self, queries: np.ndarray) -> np.ndarray:
        """Each query's row in the table, or -1. On a lattice it is worked out from the query itself, and a
        few queries are looked up by their bytes: neither makes a pass over all the keys, as `_match` does
        (tens of milliseconds for the 8^5 keys of the questionnaire), which many queries share."""
        if self._lattice is None:
            if len(queries) > _FEW:
                return _match(queries, self._keys)
            if self._key_positions is None:
                self._key_positions = {key.tobytes(): row for row, key in enumerate(self._keys)}
            return np.array([self._key_positions.get(query.tobytes(), -1) for query in queries], dtype=np.int64)
        offsets = queries - self._low
        inside = np.all((offsets >= 0) & (offsets < self._lattice) & (offsets == np.round(offsets)), axis=1)
        rows = np.full(len(queries), -1, dtype=np.int64)
        rows[inside] = np.ravel_multi_index(offsets[inside].astype(np.int64).T, self._lattice)
        return rows

    def _search_unique(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`search` for distinct queries sorted lexicographically (so chunks are compact)."""
        ids = np.empty((len(queries), self.k), dtype=np.int64)
        distances = np.empty((len(queries), self.k), dtype=np.float32)
        span = float(np.max(np.ptp(np.vstack([self._groups, queries]), axis=0)))
        radius = self._initial_radius(queries) or span / 64 or 1.0
        pending = np.arange(len(queries))
        while pending.size:
            chunks = np.array_split(pending, -(-len(pending) // _CHUNK))
            pending = np.concatenate([c[~self._search_box(queries, c, radius, ids, distances)] for c in chunks])
            radius *= 2
        return ids, distances

    def _initial_radius(self, queries: np.ndarray) -> float:
        """A guess at the k-th neighbour distance from up to 256 queries against every vector."""
        sample = queries[np.linspace(0, len(queries) - 1, num=min(256, len(queries))).astype(np.int64)]
        found_d, found_g = self._index.search(sample, min(len(self._groups), 4 * self.k))
        order = np.argsort(found_d, axis=1, kind="stable")
        found_d = np.take_along_axis(found_d, order, axis=1)
        reached = np.cumsum(self._counts[np.take_along_axis(found_g, order, axis=1)], axis=1) >= self.k
        last = np.where(reached.any(axis=1), np.argmax(reached, axis=1), found_d.shape[1] - 1)
        kth = found_d[np.arange(len(sample)), last]
        return float(np.sqrt(max(float(np.quantile(kth, 0.9)), 0.0)) * 1.25)

    def _search_box(self, queries, chunk, radius, ids, distances) -> np.ndarray:
        """Settle what can be settled of `chunk` within its box; returns which queries are done."""
        k, q = self.k, queries[chunk]
        lo = np.where(q.min(axis=0) - radius <= self._low, -np.inf, q.min(axis=0) - radius)
        hi = np.where(q.max(axis=0) + radius >= self._high, np.inf, q.max(axis=0) + radius)
        done = np.zeros(len(chunk), dtype=bool)
        if np.all(np.isinf(lo)) and np.all(np.isinf(hi)):
            candidates, index = np.arange(len(self._groups)), self._index
        else:
            candidates = np.flatnonzero(np.all((self._groups >= lo) & (self._groups <= hi), axis=1))
            if self._counts[candidates].sum() < k:
                return done
            index = faiss.IndexFlatL2(q.shape[1])
            index.add(self._groups[candidates])
        todo, width = np.arange(len(chunk)), min(len(candidates), 4 * k)
        while todo.size:
            found_d, found_g = index.search(q[todo], width)
            found_g = candidates[found_g]
            order = np.lexsort((found_g, found_d), axis=-1)
            found_d = np.take_along_axis(found_d, order, axis=1)
            found_g = np.take_along_axis(found_g, order, axis=1)
            counts = self._counts[found_g]
            before = np.cumsum(counts, axis=1) - counts
            kth = found_d[np.arange(len(todo)), np.argmax(before + counts >= k, axis=1)]
            # faiss returns every candidate nearer than its farthest result, so the k-th
            # point is known once it is strictly nearer than that (or all were returned).
            known = (before[:, -1] + counts[:, -1] >= k) & ((width >= len(candidates)) | (kth < found_d[:, -1]))
            reach = np.sqrt(np.maximum(kth, 0))[:, None] * (1 + 1e-6) + 1e-6
            settled = known & np.all((q[todo] - reach >= lo) & (q[todo] + reach <= hi), axis=1)
            if settled.any():
                take = np.clip(k - before[settled], 0, counts[settled]).ravel()
                run_starts = np.repeat(self._starts[found_g[settled].ravel()], take)
                within = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
                rows = chunk[todo[settled]]
                ids[rows] = (run_starts + within).reshape(-1, k)
                distances[rows] = np.repeat(found_d[settled].ravel(), take).reshape(-1, k)
                done[todo[settled]] = True
            if width >= len(candidates):
                break
            todo, width = todo[~known], min(len(candidates), width * 4)
        return done
