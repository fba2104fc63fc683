"""No import cycles in attnviz (issue 14): a module never imports, directly or through others,
a module that imports it, not even inside a function. Such a cycle works only while the
in-function import stays in its function, and it hides which layer depends on which."""

from __future__ import annotations

import grimp


def cycles(graph: grimp.ImportGraph, package: str) -> list[tuple[str, ...]]:
    """One shortest chain per import that closes a cycle: importer -> … -> importer."""
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if not imported.startswith(package):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.append((module, *back))
    return found


def test_attnviz_has_no_import_cycles():
    graph = grimp.build_graph("attnviz", exclude_type_checking_imports=True, cache_dir=None)
    found = cycles(graph, "attnviz")
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_a_cycle_is_found(tmp_path, monkeypatch):
    """The check can fail: two modules that import each other, one inside a function."""
    pkg = tmp_path / "cyclic_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclic_pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyclic_pkg import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic_pkg", exclude_type_checking_imports=True, cache_dir=None)
    assert cycles(graph, "cyclic_pkg") == [
        ("cyclic_pkg.a", "cyclic_pkg.b", "cyclic_pkg.a"),
        ("cyclic_pkg.b", "cyclic_pkg.a", "cyclic_pkg.b"),
    ]
