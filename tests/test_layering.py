"""The packages' layering: no import cycles, no layer importing a higher one, meta_envs free of torch.

Every import of every module of ``rl2_agent`` and ``meta_envs`` is read from its source with ``ast``,
including the imports inside functions and under ``if TYPE_CHECKING:``. The checker itself is tested on
tiny synthetic graphs and packages, so that a passing suite means the rules hold, not that the checker
sees nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("meta_envs", "rl2_agent")

LAYERS: tuple[tuple[str, ...], ...] = (
    ("meta_envs",),
    ("rl2_agent", "rl2_agent.arguments", "rl2_agent.policies", "rl2_agent.buffers", "rl2_agent.envs", "rl2_agent.hyperparams"),
    ("rl2_agent.zoo",),
    ("rl2_agent.evaluation",),
    ("rl2_agent.agents",),
    ("rl2_agent.training",),  # rl2_agent.training.distributed included
    ("rl2_agent.reporting",),
    ("rl2_agent.experiments",),
    ("rl2_agent.cli", "rl2_agent.__main__"),
)
"""The layers, lowest first: a module may import modules of its own layer and of the layers below it. An
entry names a module, and every module of the package of that name (``rl2_agent`` itself: its ``__init__``
only, as the other entries of its layer are single modules)."""

EXACT = frozenset({"rl2_agent"})
"""Entries of :data:`LAYERS` that name one module only, not a package's modules."""

META_ENVS_FORBIDDEN = ("torch", "stable_baselines3", "sb3_contrib", "rl2_agent")
"""Top-level packages that no module of meta_envs may import (it is numpy + gymnasium only)."""


# ----------------------------------------------------------------------------- the checker
def module_name(path: Path, root: Path) -> str:
    """``rl2_agent/training/loop.py`` -> ``rl2_agent.training.loop``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every import in ``path`` (the module ``name``), at the top, in functions, anywhere: ``(module, names)``.

    ``import a.b`` gives ``("a.b", ())``, ``from a.b import c, d`` gives ``("a.b", ("c", "d"))``; relative
    imports are resolved.
    """
    is_package = path.name == "__init__.py"
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.append((source, tuple(alias.name for alias in node.names)))
    return found


def read_packages(root: Path, packages: Iterable[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(graph, imports)``: module -> the modules of ``packages`` it imports, and module -> every module it names.

    ``from a import b`` is an import of the module ``a.b`` when there is one (``a`` is then only its
    parent package, which Python imports first whatever the import), else of ``a``.
    """
    raw = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(path, root)
            raw[name] = imports_of(path, name)
    imports: dict[str, set[str]] = {}
    for name, found in raw.items():
        targets = set()
        for source, names in found:
            submodules = {f"{source}.{n}" for n in names if f"{source}.{n}" in raw}
            targets |= submodules
            if not names or len(submodules) < len(names):
                targets.add(source)
        imports[name] = targets
    graph = {name: {target for target in found if target in raw and target != name} for name, found in imports.items()}
    return graph, imports


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def layer_of(module: str, layers: Sequence[Sequence[str]], exact: frozenset[str] = EXACT) -> int | None:
    """The index in ``layers`` of the layer ``module`` belongs to; None if it is in none."""
    for i, layer in enumerate(layers):
        for entry in layer:
            if module == entry or (entry not in exact and module.startswith(entry + ".")):
                return i
    return None


def layer_violations(
    graph: Mapping[str, Iterable[str]], layers: Sequence[Sequence[str]], exact: frozenset[str] = EXACT
) -> list[str]:
    """One line per module in no layer and per import of a module of a higher layer."""
    problems = []
    for module in sorted(graph):
        if layer_of(module, layers, exact) is None:
            problems.append(f"{module} is in no layer: add it to LAYERS")
    for module in sorted(graph):
        here = layer_of(module, layers, exact)
        for target in sorted(graph[module]):
            there = layer_of(target, layers, exact)
            if here is not None and there is not None and there > here:
                problems.append(f"{module} (layer {here}) imports {target} (layer {there}), a higher layer")
    return problems


def forbidden_imports(imports: Mapping[str, Iterable[str]], package: str, forbidden: Iterable[str]) -> list[str]:
    """One line per import, by a module of ``package``, of a module of a ``forbidden`` top-level package."""
    forbidden = tuple(forbidden)
    return [
        f"{module} imports {target}"
        for module in sorted(imports)
        if module == package or module.startswith(package + ".")
        for target in sorted(imports[module])
        if target.split(".")[0] in forbidden
    ]


# ----------------------------------------------------------------------------- the rules, on this repository
@pytest.fixture(scope="module")
def repository() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return read_packages(ROOT, PACKAGES)


def test_the_repository_has_no_import_cycle(repository):
    graph, _ = repository
    assert find_cycles(graph) == []


def test_no_layer_imports_a_higher_one_and_every_module_has_a_layer(repository):
    graph, _ = repository
    assert layer_violations(graph, LAYERS) == []


def test_meta_envs_imports_neither_torch_nor_sb3_nor_rl2_agent(repository):
    _, imports = repository
    assert forbidden_imports(imports, "meta_envs", META_ENVS_FORBIDDEN) == []


def test_the_checker_reads_the_whole_repository(repository):
    graph, imports = repository
    assert {"rl2_agent.training.loop", "rl2_agent.evaluation.runner", "meta_envs.trial", "rl2_agent.cli"} <= set(graph)
    assert "rl2_agent.evaluation.runner" in graph["rl2_agent.training.callbacks"]
    # a function-level import is an edge too: the train command imports the training loop inside run()
    assert "rl2_agent.training.loop" in graph["rl2_agent.training.command"]
    assert "torch" in imports["rl2_agent.training.loop"]


# ----------------------------------------------------------------------------- the checker, on synthetic input
def test_find_cycles_finds_a_cycle_and_only_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert sorted(find_cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})) == [["a", "b"], ["c", "d"]]


def test_layer_violations_flag_an_upward_import_and_an_unplaced_module():
    layers = (("low",), ("mid", "mid2"), ("high",))
    assert layer_violations({"low.a": set(), "mid.b": {"low.a", "mid2"}, "mid2": set(), "high": {"mid.b"}}, layers) == []
    problems = layer_violations({"low.a": {"high.c"}, "high.c": set(), "stray": set()}, layers)
    assert problems == ["stray is in no layer: add it to LAYERS", "low.a (layer 0) imports high.c (layer 2), a higher layer"]
    # an exact entry names that module only: its submodules are in no layer
    assert layer_violations({"pkg": set(), "pkg.sub": set()}, (("pkg",),), exact=frozenset({"pkg"})) == [
        "pkg.sub is in no layer: add it to LAYERS"
    ]


def test_forbidden_imports_flag_torch_in_the_numpy_package():
    imports = {"envs": {"numpy"}, "envs.fast": {"torch.nn", "numpy"}, "agent": {"torch"}}
    assert forbidden_imports(imports, "envs", ("torch",)) == ["envs.fast imports torch.nn"]


def test_imports_are_read_from_functions_type_checking_blocks_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .low import x\n")
    (package / "low.py").write_text("x = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "high.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import low\n"
        "def f():\n    import torch\n    from .. import x\n    from . import other\n"
    )
    (package / "sub" / "other.py").write_text("def g():\n    from pkg.sub.high import f\n")
    graph, imports = read_packages(tmp_path, ["pkg"])
    # "from pkg import low": the module pkg.low; "from .. import x": a name of pkg itself
    assert graph == {
        "pkg": {"pkg.low"},
        "pkg.low": set(),
        "pkg.sub": set(),
        "pkg.sub.high": {"pkg", "pkg.low", "pkg.sub.other"},
        "pkg.sub.other": {"pkg.sub.high"},
    }
    assert "torch" in imports["pkg.sub.high"]
    assert find_cycles(graph) == [["pkg.sub.high", "pkg.sub.other"]]  # the function-level imports make a cycle
    exact = frozenset({"pkg"})  # the package's __init__ only
    assert layer_violations(graph, (("pkg.low", "pkg"), ("pkg.sub",)), exact) == []
    assert layer_violations(graph, (("pkg.sub",), ("pkg.low", "pkg")), exact) == [
        "pkg.sub.high (layer 0) imports pkg (layer 1), a higher layer",
        "pkg.sub.high (layer 0) imports pkg.low (layer 1), a higher layer",
    ]
