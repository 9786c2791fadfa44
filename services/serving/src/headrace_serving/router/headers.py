"""HTTP/1.1 framing the router writes: which headers it never forwards, and whole messages."""

from __future__ import annotations

import json

__all__ = ["HOP_BY_HOP", "error_response", "request_bytes", "response_bytes"]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
        # Not hop-by-hop, but the router sets it from the body it buffered.
        b"content-length",
    }
)

REVISION_HEADER = b"x-headrace-revision"
_REASONS = {
    500: b"Internal Server Error",
    404: b"Not Found",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    400: b"Bad Request",
}


def request_bytes(method: bytes, url: bytes, headers: list[bytes], body: bytes) -> bytes:
    """The request to a replica: the client's, with its body's length (and keep-alive, the
    HTTP/1.1 default)."""
    return b"%s %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n%s" % (
        method,
        url,
        b"".join(headers),
        len(body),
        body,
    )


def response_bytes(
    status: int,
    reason: bytes,
    headers: list[bytes],
    body: bytes,
    revision: bytes,
    keep_alive: bool,
    head: bool = False,
) -> bytes:
    """The replica's answer to the client, with the revision that served it; to a HEAD
    request the headers only."""
    return b"HTTP/1.1 %d %s\r\n%s%s: %s\r\ncontent-length: %d\r\n%s\r\n%s" % (
        status,
        reason,
        b"".join(headers),
        REVISION_HEADER,
        revision,
        len(body),
        b"" if keep_alive else b"connection: close\r\n",
        b"" if head else body,
    )


def error_response(status: int, message: str, keep_alive: bool, revision: str = "") -> bytes:
    """``{"error": message}`` with ``status``, as the model server answers its errors."""
    headers = [b"content-type: application/json\r\n"]
    if revision:
        headers.append(REVISION_HEADER + b": " + revision.encode() + b"\r\n")
    body = json.dumps({"error": message}).encode()
    return b"HTTP/1.1 %d %s\r\n%scontent-length: %d\r\n%s\r\n%s" % (
        status,
        _REASONS.get(status, b"Error"),
        b"".join(headers),
        len(body),
        b"" if keep_alive else b"connection: close\r\n",
        body,
    )
