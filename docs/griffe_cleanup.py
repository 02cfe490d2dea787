"""Prepare docstrings for the generated reference.

* Sphinx roles (:class:`~a.B`, :meth:`x`, ...) become plain code spans showing the name the role
  would display; the docstrings are written for Python's help() and readers of the source.
* Parenthesised pointers to the protocol notes the code was checked against ("(spec wire.md §11)")
  are dropped: those notes are not part of the repository; the guides explain the protocol.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["DocstringCleanup"]

_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):`(~?)([^`]+)`")
_SPEC_POINTER = re.compile(r"\s*\((?:see )?spec [a-z]+\.md[^)]*\)")


def _span(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def clean(text: str) -> str:
    """``text`` with roles turned into code spans and spec pointers removed."""
    return _SPEC_POINTER.sub("", _ROLE.sub(_span, text))


class DocstringCleanup(griffe.Extension):
    """Clean every docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring in place."""
        if obj.docstring is not None:
            obj.docstring.value = clean(obj.docstring.value)
