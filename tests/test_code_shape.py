"""The shape of the source: small classes and functions, and a docstring on every public name.

An AST scan of ``src/`` (so nothing is imported for the size checks) and an import of the five
top-level packages for their ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = ("peernet_proto", "peernet_dht", "peernet_chain", "peernet_nat", "peernet")
MAX_CLASS_LINES = 450
MAX_FUNCTION_LINES = 60


def _definitions() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = path.relative_to(SRC).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                yield relative, node


def _length(node: ast.AST) -> int:
    assert isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return (node.end_lineno or node.lineno) - first + 1


def _too_long(kind: type[ast.AST] | tuple[type[ast.AST], ...], limit: int) -> dict[str, int]:
    return {
        f"{path}:{node.name}": _length(node)  # type: ignore[attr-defined]
        for path, node in _definitions()
        if isinstance(node, kind) and _length(node) > limit
    }


def test_no_class_is_longer_than_450_lines() -> None:
    assert _too_long(ast.ClassDef, MAX_CLASS_LINES) == {}


def test_no_function_is_longer_than_60_lines() -> None:
    assert _too_long((ast.FunctionDef, ast.AsyncFunctionDef), MAX_FUNCTION_LINES) == {}


def _undocumented(package: str) -> set[str]:
    module = importlib.import_module(package)
    missing = set()
    for name in module.__all__:
        if name.startswith("__"):  # module dunders such as __version__
            continue
        value = getattr(module, name)
        wrapped = hasattr(value, "__wrapped__")  # e.g. functools.lru_cache: the wrapper carries the docstring
        if inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value) or wrapped:
            documented = bool(value.__doc__ and value.__doc__.strip())
        else:  # constants and type aliases: a comment where they are defined, or named in a docstring
            documented = name in (module.__doc__ or "") or _commented_at_definition(module, name)
        if not documented:
            missing.add(name)
    return missing


def _commented_at_definition(package: object, name: str) -> bool:
    """``name`` is assigned at the top of a module of ``package`` with a comment on its line or a
    comment line (``#:`` or ``#``) just above, or the module's docstring names it."""
    for path in Path(inspect.getfile(package)).parent.rglob("*.py"):  # type: ignore[arg-type]
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        lines = text.splitlines()
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                continue
            above = lines[node.lineno - 2].lstrip() if node.lineno > 1 else ""
            if "#" in lines[node.lineno - 1] or above.startswith("#") or name in (ast.get_docstring(tree) or ""):
                return True
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package: str) -> None:
    assert _undocumented(package) == set()
