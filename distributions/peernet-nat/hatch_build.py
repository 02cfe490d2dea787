"""Hatch build hook shared by every distribution in ``distributions/``: bundles the layer's sources.

A layer's sources live once, in the repository's ``src/<package>``. Building in the repository,
the hook takes them from there; the sdist gets them as ``src/<package>`` (with this hook, the
readme and the license), so that an sdist alone builds the same wheel. Only ``*.py`` files,
``py.typed`` and the web UI's assets (``*.html``, ``*.css``, ``*.js``) are bundled, never caches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PATTERNS = ("*.py", "py.typed", "*.html", "*.css", "*.js")


class LayerSourcesHook(BuildHookInterface):  # type: ignore[misc]
    """Force-includes ``src/<package>`` (package name = distribution name with ``_``)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        package = self.metadata.name.replace("-", "_")
        bundled, repository = root / "src" / package, root.parent.parent / "src" / package
        source = bundled if (bundled / "__init__.py").is_file() else repository
        if not (source / "__init__.py").is_file():
            raise RuntimeError(f"sources of {package} not found in {bundled} or {repository}")
        prefix = f"src/{package}" if self.target_name == "sdist" else package
        for pattern in PATTERNS:
            for path in sorted(source.rglob(pattern)):
                if "__pycache__" not in path.parts:
                    build_data["force_include"][str(path)] = f"{prefix}/{path.relative_to(source).as_posix()}"
