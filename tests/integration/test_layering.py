"""The import graph runs one way, counting imports inside functions too.

Packages: ``eat_cli`` -> ``flows`` -> ``tasks`` -> ``eat_core``; ``eat_core`` never imports Prefect. Inside
``eat_core``, each folder sits on a layer and imports only its own layer or lower ones (``LAYERS``, lowest first):
orchestration (``evaluation``, ``results``, the applications) above the domain (engine, methods, scoring) above the
models and storage above the kernel. No module takes part in an import cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PACKAGES = ("eat_core", "tasks", "flows", "eat_cli")  # lowest first
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "errors types bio languages hashing registry",  # the kernel: modules at the top of eat_core
    "data",
    "config",
    "store prompts",
    "weights",
    "llm extractors",
    "engine scoring projection",
    "methods",
    "evaluation",
    "results",
    "tagging distill eacl training",
))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, level: int, current: str, is_package: bool) -> str:
    if level == 0:
        return module
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph() -> dict[str, set[str]]:
    """Edges between first-party modules, from every import statement (top level and inside functions)."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node.level, name, is_package)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def layer_of(module: str) -> int:
    """The layer of an eat_core module (its folder, or its own name for a kernel module)."""
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else ""
    for index, layer in enumerate(LAYERS):
        if key in layer:
            return index
    raise AssertionError(f"{module}: not on any layer of tests/integration/test_layering.py LAYERS; "
                         "place its folder there")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every component of more than one module is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return components


def test_no_import_cycles():
    assert strongly_connected(import_graph()) == []


def test_packages_import_downwards_only():
    rank = {pkg: i for i, pkg in enumerate(PACKAGES)}
    upward = [f"{a} -> {b}" for a, targets in import_graph().items() for b in targets
              if rank[b.split(".")[0]] > rank[a.split(".")[0]]]
    assert upward == []


def test_eat_core_layers_import_downwards_only():
    graph = import_graph()
    upward = [f"{a} (layer {layer_of(a)}) -> {b} (layer {layer_of(b)})"
              for a, targets in graph.items() if a.startswith("eat_core.")
              for b in targets if b.startswith("eat_core.") and layer_of(b) > layer_of(a)]
    assert upward == []


def test_kernel_is_small():
    """Only kernel modules sit at the top of eat_core; everything else lives in a folder named for its concept."""
    loose = sorted(p.stem for p in (REPO / "eat_core").glob("*.py") if p.stem != "__init__")
    assert set(loose) <= LAYERS[0], f"loose modules outside the kernel: {sorted(set(loose) - LAYERS[0])}"


def test_the_checker_sees_cycles_and_upward_imports():
    """The checks above can fail: a planted cycle and a planted upward import are found."""
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert layer_of("eat_core.errors") < layer_of("eat_core.store.base") < layer_of("eat_core.evaluation.loop")


def test_no_prefect_import_in_eat_core_source():
    offenders = [f"{a} -> {b}" for a, targets in import_graph().items() if a.startswith("eat_core")
                 for b in targets if b.startswith(("tasks", "flows", "eat_cli"))]
    for path in (REPO / "eat_core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "prefect"]
    assert offenders == []


def loaded_in_a_fresh_process(imports: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after running ``imports``."""
    code = f"import sys\n{imports}\nprint(' '.join(m for m in {watched!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return out.stdout.split()


def test_importing_every_eat_core_module_loads_no_prefect():
    every_module = ("import importlib, pkgutil, eat_core\n"
                    "for m in pkgutil.walk_packages(eat_core.__path__, 'eat_core.'):\n"
                    "    importlib.import_module(m.name)")
    assert loaded_in_a_fresh_process(every_module, ("prefect",)) == []


def test_every_first_party_import_names_an_existing_module():
    """A stale import of a moved module fails here, not at run time (an editable install may mask it in tests)."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    missing = []
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] in PACKAGES:
                if node.module not in files:
                    missing.append(f"{name}: from {node.module}")
                    continue
                init = files[node.module]
                if init.name == "__init__.py":
                    defined = init.read_text(encoding="utf-8")
                    missing += [f"{name}: from {node.module} import {a.name}" for a in node.names
                                if f"{node.module}.{a.name}" not in files and a.name not in defined]
            elif isinstance(node, ast.Import):
                missing += [f"{name}: import {a.name}" for a in node.names
                            if a.name.split(".")[0] in PACKAGES and a.name not in files]
    assert missing == []


def function_level_eat_core_imports(root: Path) -> list[str]:
    """``path:line`` of each ``from eat_core... import`` inside a function of ``root`` without a ``# lazy:`` reason."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for fn in ast.walk(ast.parse(source)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("eat_core")) \
                        and not any("# lazy:" in line for line in lines[node.lineno - 1: node.end_lineno]):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return sorted(set(found))


def test_eat_core_imports_eat_core_at_top_level_only(tmp_path):
    """Inside eat_core an import of eat_core sits at the top of the module, where a reader sees the dependencies;
    imports inside functions are for heavy optional libraries, or carry ``# lazy: <reason>`` (a cycle, torch)."""
    assert function_level_eat_core_imports(REPO / "eat_core") == []
    planted = tmp_path / "eat_core" / "m.py"
    planted.parent.mkdir()
    planted.write_text("def f():\n    from eat_core.bio import x\n\n\n"
                       "def g():\n    from eat_core.bio import y  # lazy: pulls in torch\n", encoding="utf-8")
    assert function_level_eat_core_imports(tmp_path / "eat_core") == ["eat_core/m.py:2: from eat_core.bio import x"]


def test_light_modules_load_no_heavy_library():
    """Settings, the store, run identity and the checks are imported by every command and Prefect worker: none may
    pull in torch, transformers, pandas or matplotlib (those load inside the functions that need them)."""
    light = "import eat_core.config.run, eat_core.store, eat_core.evaluation.identity, eat_core.evaluation.checks"
    heavy = ("torch", "transformers", "pandas", "matplotlib", "datasets", "peft")
    assert loaded_in_a_fresh_process(light, heavy) == []
