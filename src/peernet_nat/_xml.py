"""Bounded, entity-free XML parsing for replies from routers."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

from ._errors import UnsafeXmlError

__all__ = ["MAX_XML_SIZE", "children_text", "find_all", "local_name", "parse_xml"]

MAX_XML_SIZE = 64 * 1024
_FORBIDDEN = ("<!DOCTYPE", "<!ENTITY")


def parse_xml(data: bytes, *, max_size: int = MAX_XML_SIZE) -> ElementTree.Element:
    """Parse UTF-8 XML of at most ``max_size`` bytes. DOCTYPE and ENTITY declarations are
    refused before parsing, so nothing can be expanded or fetched."""
    if len(data) > max_size:
        raise UnsafeXmlError(f"XML of {len(data)} bytes exceeds {max_size}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXmlError(f"XML is not UTF-8: {exc}") from None
    upper = text.upper()
    for marker in _FORBIDDEN:
        if marker in upper:
            raise UnsafeXmlError(f"XML with {marker} is refused")
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise UnsafeXmlError(f"XML is not well formed: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UnsafeXmlError(f"XML cannot be parsed: {exc}") from None


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def find_all(root: ElementTree.Element, name: str) -> Iterator[ElementTree.Element]:
    """Every element (root included) whose local name is ``name``, whatever its namespace."""
    for element in root.iter():
        if local_name(element.tag) == name:
            yield element


def children_text(element: ElementTree.Element) -> dict[str, str]:
    """Local name -> stripped text of the direct children."""
    return {local_name(child.tag): (child.text or "").strip() for child in element}
