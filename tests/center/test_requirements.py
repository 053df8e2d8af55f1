"""Everything the site imports at run time is in requirements.txt (``make run`` installs only that)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("center", "publications", "authors", "newsletter")


def imported_top_level_modules() -> set[str]:
    modules = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - set(APPS) - {"__future__"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(normalized(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0]))
    return names


def test_every_runtime_import_is_a_runtime_requirement():
    """Each third-party module the apps import belongs to a distribution listed in requirements.txt."""
    distributions = packages_distributions()
    required = runtime_requirements()
    missing = {
        module: distributions.get(module)
        for module in imported_top_level_modules()
        if not {normalized(name) for name in distributions.get(module, [module])} & required
    }
    assert not missing, missing
