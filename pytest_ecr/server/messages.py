"""The request and reply every route of the server handles: plain data, no sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    #: the path without the query
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    #: host:port of the registry (what clients reach the server as), for Location headers
    registry: str = ""
    #: host:port of the "pre-signed" blob host
    blob_host: str = ""
    #: ``http`` or ``https``: what the server speaks, for the blob host's URLs
    scheme: str = "http"
    #: the registry the ``Host`` names (``<account>.dkr.ecr.<region>.localhost``); None: the
    #: credential's own
    account: str | None = None
    region: str | None = None
    #: a registry request's body, spooled (see :mod:`.bodies`) instead of held in ``body``
    spool: IO[bytes] | None = None
    spool_size: int = 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def size(self) -> int:
        """The body's length in bytes, read or not."""
        return self.spool_size if self.spool is not None else len(self.body)

    def content(self) -> bytes:
        """The whole body in memory (read from the spool once it is wanted)."""
        if self.spool is None:
            return self.body
        self.spool.seek(0)
        return self.spool.read()

    def param(self, name: str) -> str | None:
        values = parse_qs(self.query, keep_blank_values=True).get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    #: a memoryview lets a blob's byte range go out without copying it
    body: bytes | memoryview = b""
    #: close the connection without answering (a dropped connection)
    drop: bool = False
    #: the Content-Length a HEAD answer announces (its body is empty)
    head_length: int | None = None


def json_reply(status: int, document: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(document).encode()
    )
