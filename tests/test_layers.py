"""The house's shape: arrows point down the layers, no cycles, no imports hidden in functions."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monitor", "collectors", "reports")


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, cycles


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found += [(inner.lineno, alias.name) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.level == 0:
                    found.append((inner.lineno, inner.module or ""))
    return found


def test_imports_inside_functions_only_defer_heavy_libraries_and_say_so():
    offences = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            deferred_block = False
            for lineno, module in sorted(_function_imports(path)):
                where = f"{path.relative_to(ROOT)}:{lineno} {module}"
                if module.split(".")[0] in PACKAGES:
                    offences.append(f"{where}: the project's own module, imported inside a function")
                    continue
                line, before = lines[lineno - 1], lines[lineno - 2] if lineno > 1 else ""
                said = any("#" in text and "defer" in text.split("#", 1)[1] for text in (line, before))
                # an import right below a commented one shares its comment
                deferred_block = said or (deferred_block and before.strip().startswith(("import ", "from ")))
                if not deferred_block:
                    offences.append(f"{where}: deferred without a comment saying why")
    assert not offences, offences
