"""Layers: the question packages are pure cores that import no storage, CLI, web or service."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import purport

SRC = Path(purport.__file__).parent
QUESTIONS = ("reuse", "voice", "timing", "edits", "news")
#: what a question package may not import: storage, the shells, and the service layer
#: above it (which imports storage)
FORBIDDEN = ("purport.archive", "purport.cli", "purport.web", "purport.assess",
             "purport.ingest", "purport.demo")


def _imports(path: Path) -> set[str]:
    """Every module a source file imports, relative imports resolved."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", QUESTIONS)
def test_question_package_sources_import_no_storage_cli_or_web(package):
    files = sorted((SRC / package).rglob("*.py"))
    assert files
    bad = {f"{f.relative_to(SRC)}: {m}" for f in files for m in _imports(f)
           if any(m == x or m.startswith(x + ".") for x in FORBIDDEN)}
    assert not bad, sorted(bad)


def test_importing_every_question_module_loads_no_storage_cli_or_web():
    # the transitive check: a question module importing a helper that imports storage
    modules = [".".join(("purport",) + f.relative_to(SRC).with_suffix("").parts)
               for package in QUESTIONS for f in sorted((SRC / package).rglob("*.py"))]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
