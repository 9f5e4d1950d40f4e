"""The package's layers (pyproject.toml, [tool.importlinter]) hold: no import runs back up,
no module sits outside a layer, and cli.py reaches the library only through the commands."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def _layers() -> list[str]:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_the_layer_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_every_module_of_the_package_is_in_a_layer():
    modules = {path.stem for path in (PROJECT / "repro").glob("*.py") if path.stem != "__init__"}
    packages = {path.parent.name for path in (PROJECT / "repro").glob("*/__init__.py")}
    layered = {name.removeprefix("repro.") for name in _layers()}
    assert modules | packages == layered


def test_cli_reaches_the_library_only_through_the_commands():
    tree = ast.parse((PROJECT / "cli.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    library = {name for name in imported if name.split(".")[0] == "repro"}
    # errors: the one-line error type; progress: the terminal progress bar it hands down;
    # sandbox_client: the sandbox service's client, which `repro sandbox` tries before its imports.
    assert library <= {"repro.commands", "repro.sandbox_command", "repro.store_command", "repro.review_command",
                       "repro.train_command", "repro.archive_command", "repro.pair_command", "repro.errors",
                       "repro.progress", "repro.sandbox_client"}, library
