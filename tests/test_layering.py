"""eat_core is pure domain logic: it must never import Prefect (directly or through a module it imports)."""

import ast
import subprocess
import sys

from conftest import REPO


def test_no_prefect_import_in_eat_core_source():
    offenders = []
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


def test_importing_every_eat_core_module_loads_no_prefect():
    code = (
        "import importlib, pkgutil, sys, eat_core\n"
        "for m in pkgutil.walk_packages(eat_core.__path__, 'eat_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
