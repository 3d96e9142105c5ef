"""The skeleton as a pixel graph and its branches, in scipy alone.

Nodes are pixels of degree other than 2; a branch runs from a node through degree-2 pixels
to the next node; what is left is isolated cycles (skan's decomposition). skan builds the
branches with a numba jitclass, which numba cannot cache (2-4 s of compiling in every new
process); a numba kernel that caches still cost about 0.8 s per process here (importing
numba, loading the cache). The branches below come from scipy's connected components and
breadth-first order instead: the same branches, in the same order, with no compiling.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from rootrepair.pixels import argwhere, foreground_box

_OFFSETS = ((0, 1), (1, -1), (1, 0), (1, 1))  # each undirected 8-neighbour pair once


def _walk_paths(graph: sparse.csr_matrix, degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The branches of ``graph`` (CSR, sorted indices): (ptr, nodes), branch i's pixel
    indices in order being ``nodes[ptr[i]:ptr[i + 1]]``.

    The order is that of a walk that takes, for each node in index order and each of its
    edges in order, the branch that edge starts unless it was walked already (from the
    other end); then each isolated cycle from its lowest pixel towards its lower
    neighbour, back to that pixel. A chain of degree-2 pixels (a connected component of
    them) touches the rest of the graph by exactly two edges, from nodes; it is walked
    from the one met first. A chain is a path, so a breadth-first search from the pixel
    that edge enters meets its pixels in order; a cycle, cut between its lowest pixel and
    that pixel's higher neighbour, is such a path too. One search from a virtual root
    joined to every start does all of them in time linear in the pixels (a depth-first
    search rescans the root's edges after each chain: hours on a mask of noise).
    """
    from scipy.sparse import csgraph

    n = len(degrees)
    row = np.repeat(np.arange(n), degrees)  # each directed edge's source, in CSR order
    col = graph.indices.astype(np.int64)
    node = degrees != 2
    direct = node[row] & node[col] & (row < col)  # node to node: a branch of two pixels, from the lower
    inner = ~node[row] & ~node[col]  # edges between degree-2 pixels

    def csr(keep: np.ndarray, root_to: np.ndarray | None = None) -> sparse.csr_matrix:
        """The edges ``keep`` (cut from the CSR arrays as they are, no re-sorting); with
        ``root_to``, one more row, a virtual root's, with edges to those pixels."""
        ptr = np.r_[0, np.cumsum(np.bincount(row[keep], minlength=n))]
        if root_to is None:
            return sparse.csr_matrix((np.ones(ptr[-1], np.int8), col[keep], ptr), shape=(n, n))
        ptr = np.r_[ptr, ptr[-1] + len(root_to)]
        return sparse.csr_matrix((np.ones(ptr[-1], np.int8), np.r_[col[keep], np.sort(root_to)], ptr), shape=(n + 1, n + 1))

    n_comp, label = csgraph.connected_components(csr(inner), directed=False)
    size = np.bincount(label[~node], minlength=n_comp)  # degree-2 pixels per component (0: a node's own)
    entry = np.flatnonzero(node[row] & ~node[col])  # edges from a node into a chain
    by_chain = np.lexsort((entry, label[col[entry]]))
    first, last = entry[by_chain[0::2]], entry[by_chain[1::2]]  # each chain's two entries, the first met first
    chain = label[col[first]]
    is_chain = np.zeros(n_comp, bool)
    is_chain[chain] = True
    deg2 = np.flatnonzero(~node)
    in_cycle = deg2[~is_chain[label[deg2]]]
    cycle, at = np.unique(label[in_cycle], return_index=True)
    cycle_start = in_cycle[at]  # the lowest pixel of each cycle
    # cut each cycle between its start and the start's higher neighbour (its second edge)
    cut = np.zeros(len(col), bool)
    cut[graph.indptr[cycle_start] + 1] = True
    higher = col[graph.indptr[cycle_start] + 1]
    back = graph.indptr[higher] + (col[graph.indptr[higher]] != cycle_start)  # the same edge from the other side
    cut[back] = True
    root = n
    order = csgraph.breadth_first_order(csr(inner & ~cut, np.r_[col[first], cycle_start]), root, directed=True,
                                        return_predecessors=False)[1:]
    # branches: from nodes by their first edge's position, then cycles by their start
    n_direct = int(direct.sum())
    by_edge = np.argsort(np.r_[np.flatnonzero(direct), first], kind="stable")
    length = np.r_[np.full(n_direct, 2), size[chain] + 2]
    ptr = np.r_[0, np.cumsum(np.r_[length[by_edge], size[cycle] + 1])].astype(np.int64)
    nodes = np.empty(ptr[-1], np.int64)
    off = np.empty(len(by_edge), np.int64)
    off[by_edge] = ptr[: len(by_edge)]
    nodes[off[:n_direct]] = row[direct]
    nodes[off[:n_direct] + 1] = col[direct]
    chain_off = off[n_direct:]
    nodes[chain_off] = row[first]
    nodes[chain_off + 1 + size[chain]] = row[last]
    cycle_off = ptr[len(by_edge) : -1]
    nodes[cycle_off + size[cycle]] = cycle_start
    # each component's pixels in the search's order are its pixels along the walk
    seg_at = np.zeros(n_comp, np.int64)
    seg_at[chain], seg_at[cycle] = chain_off + 1, cycle_off
    comp = label[order]
    by_comp = np.argsort(comp, kind="stable")
    comp = comp[by_comp]
    seg_first = np.searchsorted(comp, comp)  # where each pixel's component starts in the sorted list
    nodes[seg_at[comp] + np.arange(len(comp)) - seg_first] = order[by_comp]
    return ptr, nodes


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
        # on the box around the skeleton (the same pixels in the same row-major order; a
        # root system's skeleton is a small share of its image)
        box = foreground_box(skeleton) or (slice(0, 0), slice(0, 0))
        local = argwhere(skeleton[box])
        self.coordinates = local + np.array([box[0].start, box[1].start])
        k = len(local)
        # each pixel's index in a flat grid with a 1-px frame of -1 (int32: half the memory
        # to fill; a flat take is several times faster than 2-D indexing)
        w = box[1].stop - box[1].start + 2
        padded = np.full((box[0].stop - box[0].start + 2) * w, -1, np.int32 if k < 2**31 else np.int64)
        at = (local[:, 0] + 1) * w + local[:, 1] + 1
        padded[at] = np.arange(k)
        rows, cols, dist = [], [], []
        for dr, dc in _OFFSETS:
            other = padded.take(at + (dr * w + dc)).astype(np.int64)
            ok = other >= 0
            rows.append(np.arange(k)[ok])
            cols.append(other[ok])
            dist.append(np.full(ok.sum(), math.hypot(dr, dc)))
        a, b, d = np.concatenate(rows), np.concatenate(cols), np.concatenate(dist)
        graph = sparse.csr_matrix((np.r_[d, d], (np.r_[a, b], np.r_[b, a])), shape=(k, k))
        self.graph = _thin_junctions(graph)
        self.graph.sort_indices()
        self.degrees = np.diff(self.graph.indptr)
        ptr, nodes = _walk_paths(self.graph, self.degrees)
        self._ptr, self._nodes, self.n_paths = ptr, nodes, len(ptr) - 1

    def gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pixel indices of branches ``ids``, each from one end to the other, one branch
        after another, and where each branch starts among them."""
        ids = np.asarray(ids, np.int64)
        a, n = self._ptr[ids], self._ptr[ids + 1] - self._ptr[ids]
        starts = np.cumsum(n) - n
        return self._nodes[np.repeat(a - starts, n) + np.arange(int(n.sum()))], starts

    def chained(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every branch's pixel coordinates (float), one branch after another, and each
        branch's first and last index into them."""
        return self.coordinates[self._nodes].astype(float), self._ptr[:-1], self._ptr[1:] - 1

    def branches(self) -> dict[str, np.ndarray]:
        """Per branch: its end nodes, their kind and the branch's length.

        ``kind``: 0 end point to end point, 1 junction to end point, 2 junction to
        junction, 3 a cycle (skan's ``branch_type``).
        """
        ptr = self._ptr
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
