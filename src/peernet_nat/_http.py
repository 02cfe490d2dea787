"""A minimal, bounded HTTP/1.1 client: sans-IO request encoding and response parsing, plus a
thin trio shell (one request per connection, ``Connection: close``)."""

from __future__ import annotations

import urllib.parse

import attrs
import trio

from ._errors import HttpError

__all__ = [
    "MAX_HTTP_RESPONSE",
    "HttpResponse",
    "encode_http_request",
    "http_request",
    "parse_http_head",
    "parse_http_response",
    "split_http_url",
]

MAX_HTTP_RESPONSE = 128 * 1024
MAX_HEAD = 8 * 1024
MAX_HEADERS = 64


@attrs.frozen
class HttpResponse:
    """A parsed HTTP/1.1 response from a gateway; header names are lower-case."""
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def split_http_url(url: str) -> tuple[str, int, str]:
    """``http://host:port/path`` -> (host, port, path). Only plain http is spoken to routers."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise HttpError(f"bad URL: {url[:100]!r}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise HttpError(f"not an http URL: {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise HttpError(f"bad port in URL: {url!r}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, port, path


def encode_http_request(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """An HTTP/1.1 request for ``url`` (http only) with ``Connection: close``.

    Header names and values must not contain CR or LF.
    """
    host, port, path = split_http_url(url)
    host_header = f"[{host}]" if ":" in host else host
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host_header}:{port}", "Connection: close"]
    for name, value in (headers or {}).items():
        if any(c in name + value for c in "\r\n"):
            raise HttpError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_http_head(data: bytes) -> tuple[str, int, str, dict[str, str], bytes]:
    """Split a response head: (version, status, reason, headers, rest after the blank line)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEAD:
            raise HttpError("HTTP head too large")
        raise HttpError("HTTP head is incomplete")
    if end > MAX_HEAD:
        raise HttpError("HTTP head too large")
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad HTTP status line: {lines[0][:80]!r}")
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError("too many HTTP headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise HttpError(f"bad HTTP header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, data[end + 4 :]


def parse_http_response(data: bytes, *, complete: bool = True) -> HttpResponse | None:
    """Parse a whole response. With ``complete=False`` (the peer has not closed yet) return
    None when more bytes are needed."""
    if len(data) > MAX_HTTP_RESPONSE:
        raise HttpError(f"HTTP response exceeds {MAX_HTTP_RESPONSE} bytes")
    try:
        _, status, reason, headers, rest = parse_http_head(data)
    except HttpError:
        if not complete and b"\r\n\r\n" not in data and len(data) <= MAX_HEAD:
            return None
        raise
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(rest, complete=complete)
        if body is None:
            return None
    elif "content-length" in headers:
        length_text = headers["content-length"]
        if not length_text.isdigit():
            raise HttpError(f"bad Content-Length {length_text!r}")
        length = int(length_text)
        if len(rest) < length:
            if complete:
                raise HttpError("HTTP body shorter than its Content-Length")
            return None
        body = rest[:length]
    elif complete:
        body = rest
    else:
        return None
    return HttpResponse(status, reason, headers, body)


def _dechunk(data: bytes, *, complete: bool) -> bytes | None:
    body = bytearray()
    offset = 0
    while True:
        line_end = data.find(b"\r\n", offset)
        if line_end < 0:
            if complete:
                raise HttpError("chunked body is truncated")
            return None
        size_text = data[offset:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return bytes(body)
        start = line_end + 2
        if len(data) < start + size + 2:
            if complete:
                raise HttpError("chunked body is truncated")
            return None
        body += data[start : start + size]
        offset = start + size + 2


async def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 3.0,
) -> HttpResponse:
    """One request, bounded in time and size. Raises HttpError or OSError (TimeoutError)."""
    try:
        with trio.fail_after(timeout):
            return await _exchange(url, encode_http_request(method, url, headers, body))
    except trio.TooSlowError:
        raise TimeoutError(f"HTTP {method} {url} took longer than {timeout} s") from None


async def _exchange(url: str, request: bytes) -> HttpResponse:
    host, port, _ = split_http_url(url)
    received = bytearray()
    async with await trio.open_tcp_stream(host, port) as stream:
        await stream.send_all(request)
        while chunk := await stream.receive_some(16384):
            received += chunk
            if len(received) > MAX_HTTP_RESPONSE:
                raise HttpError(f"HTTP response exceeds {MAX_HTTP_RESPONSE} bytes")
            response = parse_http_response(bytes(received), complete=False)
            if response is not None:
                return response
    response = parse_http_response(bytes(received))
    assert response is not None
    return response
