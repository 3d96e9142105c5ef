"""The skeleton as a pixel graph and its branches, with kernels numba can cache on disk.

skan's path building uses a numba jitclass, which numba cannot cache: every new process
spent 2-4 s compiling it before the first mask was measured. The same decomposition here
(nodes are pixels of degree other than 2; a branch runs from a node through degree-2
pixels to the next node; what is left is isolated cycles) compiles once and loads from
numba's cache afterwards.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from scipy import sparse

_OFFSETS = ((0, 1), (1, -1), (1, 0), (1, 1))  # each undirected 8-neighbour pair once


@numba.njit(cache=True, nogil=True)
def _walk_paths(indptr, indices, degrees, ptr, nodes):  # pragma: no cover - compiled
    """Fill ``nodes`` with the branches' pixel indices in order, ``ptr`` with their starts; return the count."""
    n = degrees.shape[0]
    seen = np.zeros(indices.shape[0], np.bool_)
    k = 0  # paths written
    j = 0  # nodes written
    for phase in range(2):  # 0: from end points and junctions; 1: what is left are cycles
        for start in range(n):
            if phase == 0 and degrees[start] == 2:
                continue
            if phase == 1 and degrees[start] != 2:
                continue
            for e in range(indptr[start], indptr[start + 1]):
                if seen[e]:
                    continue
                ptr[k] = j
                nodes[j] = start
                j += 1
                prev, cur, edge = start, indices[e], e
                while True:
                    seen[edge] = True
                    for f in range(indptr[cur], indptr[cur + 1]):  # the same edge seen from the other side
                        if indices[f] == prev:
                            seen[f] = True
                    nodes[j] = cur
                    j += 1
                    if degrees[cur] != 2 or cur == start:
                        break
                    nxt = -1
                    for f in range(indptr[cur], indptr[cur + 1]):
                        if not seen[f]:
                            nxt = f
                            break
                    if nxt < 0:
                        break
                    prev, cur, edge = cur, indices[nxt], nxt
                k += 1
    ptr[k] = j
    return k


def _thin_junctions(graph: sparse.csr_matrix) -> sparse.csr_matrix:
    """Pixels of degree > 2 that touch each other (a junction drawn as a clump) keep only a
    minimum spanning tree of their mutual edges, so a junction is one node, not a triangle
    of short cycles (as skan does)."""
    from scipy.sparse import csgraph

    junction = np.diff(graph.indptr) > 2
    coo = graph.tocoo()
    both = junction[coo.row] & junction[coo.col]
    if not both.any():
        return graph
    sub = sparse.csr_matrix((coo.data[both], (coo.row[both], coo.col[both])), shape=graph.shape)
    tree = csgraph.minimum_spanning_tree(sub)
    extra = sub - (tree + tree.T)
    out = (graph - extra).tocsr()
    out.eliminate_zeros()
    return out


class PixelGraph:
    """A skeleton's pixels, their 8-neighbour graph and its branches.

    Attributes
    ----------
    coordinates : (K, 2) ndarray of int
    degrees : (K,) ndarray of int
    graph : (K, K) sparse CSR matrix of float, the step length (1 or sqrt 2) between neighbours
    n_paths : int
    """

    def __init__(self, skeleton: np.ndarray):
        skeleton = np.asarray(skeleton, bool)
        self.coordinates = np.argwhere(skeleton)
        k = len(self.coordinates)
        index = np.full(skeleton.shape, -1, np.int64)
        index[self.coordinates[:, 0], self.coordinates[:, 1]] = np.arange(k)
        padded = np.pad(index, 1, constant_values=-1)
        rows, cols, dist = [], [], []
        r, c = self.coordinates[:, 0] + 1, self.coordinates[:, 1] + 1
        for dr, dc in _OFFSETS:
            other = padded[r + dr, c + dc]
            ok = other >= 0
            rows.append(np.arange(k)[ok])
            cols.append(other[ok])
            dist.append(np.full(ok.sum(), math.hypot(dr, dc)))
        a, b, d = np.concatenate(rows), np.concatenate(cols), np.concatenate(dist)
        graph = sparse.csr_matrix((np.r_[d, d], (np.r_[a, b], np.r_[b, a])), shape=(k, k))
        self.graph = _thin_junctions(graph)
        self.graph.sort_indices()
        self.degrees = np.diff(self.graph.indptr)
        # a branch visits each edge once, plus its first node: edges + paths bound the buffer
        n_edges = self.graph.nnz // 2
        ptr = np.zeros(n_edges + k + 2, np.int64)
        nodes = np.zeros(n_edges * 2 + k + 2, np.int64)
        n = _walk_paths(self.graph.indptr.astype(np.int64), self.graph.indices.astype(np.int64), self.degrees.astype(np.int64), ptr, nodes)
        self._ptr, self._nodes, self.n_paths = ptr[: n + 1], nodes, int(n)

    def path(self, i: int) -> np.ndarray:
        """Pixel indices of branch ``i``, from one end to the other."""
        return self._nodes[self._ptr[i] : self._ptr[i + 1]]

    def chained(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every branch's pixel coordinates (float), one branch after another, and each
        branch's first and last index into them."""
        ptr = self._ptr[: self.n_paths + 1]
        c = self.coordinates[self._nodes[ptr[0] : ptr[-1]]].astype(float)
        return c, ptr[:-1] - ptr[0], ptr[1:] - ptr[0] - 1

    def branches(self) -> dict[str, np.ndarray]:
        """Per branch: its end nodes, their kind and the branch's length.

        ``kind``: 0 end point to end point, 1 junction to end point, 2 junction to
        junction, 3 a cycle (skan's ``branch_type``).
        """
        ptr = self._ptr[: self.n_paths + 1]
        if not self.n_paths:
            empty = np.zeros(0, np.int64)
            return {"src": empty, "dst": empty, "kind": empty.astype(int), "length": np.zeros(0)}
        src, dst = self._nodes[ptr[:-1]], self._nodes[ptr[1:] - 1]
        ends = (self.degrees[src] == 1).astype(int) + (self.degrees[dst] == 1).astype(int)
        kind = np.where(ends == 2, 0, np.where(ends == 1, 1, 2))
        kind[src == dst] = 3
        # every step between consecutive pixels of all branches at once
        c, first, last = self.chained()
        step = np.hypot(*np.diff(c, axis=0).T)
        step[last[:-1]] = 0.0  # from one branch's last pixel to the next branch's first: no step
        cum = np.concatenate([[0.0], np.cumsum(step)])
        length = cum[last] - cum[first]
        return {"src": src, "dst": dst, "kind": kind, "length": length}
