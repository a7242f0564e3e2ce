"""The project's import graph has no cycles (imports under ``if TYPE_CHECKING:`` are not edges).

import-linter's contracts (``make lint``) check the layering; this checks module-level cycles with
the same graph builder (grimp), so a cycle names every module on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import grimp
import pytest

PACKAGES = ("huabei_watch", "watcher", "consumers")


def cycles(edges: Mapping[str, Set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself
    (Tarjan, iterative). Each is sorted; the list is sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"a"}}, [["a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_cycle_finder_reports_every_cycle_and_only_cycles(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_the_project_import_graph_has_no_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert len(edges) > 100  # the whole project, not an empty graph
    assert cycles(edges) == []


def test_roles_and_framework_do_not_import_across_the_layers() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    for importer, imported in (("consumers", "watcher"), ("watcher", "consumers")):
        assert not graph.find_shortest_chain(importer, imported, as_packages=True), f"{importer} imports {imported}"
    framework = [m for m in graph.find_children("huabei_watch") if m != "huabei_watch.root"]
    for module in framework:
        for role in ("watcher", "consumers", "huabei_watch.root"):
            chain = graph.find_shortest_chain(module, role, as_packages=True)
            assert not chain, f"the framework module {module} reaches {role}: {' -> '.join(chain or ())}"
