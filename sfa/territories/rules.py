"""Pure tree logic: closure pairs and cycle detection over a ``{id: parent_id}`` mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


def find_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """A list of nodes forming a cycle through parent links, or None if the links form a forest.
    Parents missing from the mapping count as roots."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = known to reach a root
    for start in parents:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parents and state.get(node) != 2:
            if state.get(node) == 1:
                return path[path.index(node) :]
            state[node] = 1
            path.append(node)
            node = parents[node]
        for seen in path:
            state[seen] = 2
    return None


def closure_pairs(parents: Mapping[str, str | None]) -> Iterator[tuple[str, str, int]]:
    """``(ancestor, descendant, depth)`` for every node and each of its ancestors, self at 0.
    The mapping must be acyclic."""
    for node in parents:
        depth, current = 0, node
        while current is not None:
            yield current, node, depth
            current = parents.get(current)
            depth += 1
