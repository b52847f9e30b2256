"""Request bodies off the socket, in bounded pieces: framed by ``Content-Length`` or chunked.

A body is never read before its request is authenticated (see :mod:`.http`); then it is read
into memory when it declares at most :data:`SPOOL_IN_MEMORY` bytes, spooled otherwise (past that
size to a temporary file: concurrent large bodies hold at most that much memory each until the
fake, one request at a time under its lock, reads them), or discarded piece by piece (a refused
request's body, a body no route takes).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from typing import IO, Protocol

#: a request body larger than this is refused (400, connection closed): a monolithic layer upload
#: of up to 1 GiB passes (ECR takes layers of up to 52,000 MiB, a size no test should need).
MAX_BODY = 1024 * 1024 * 1024
#: bytes read from the socket at a time
PIECE = 64 * 1024
#: an upload body past this size is spooled to a temporary file until the fake stores it
SPOOL_IN_MEMORY = 1024 * 1024
#: the longest chunk-size or trailer line read
_MAX_LINE = 1024


class Reader(Protocol):
    def read(self, size: int, /) -> bytes: ...
    def readline(self, size: int, /) -> bytes: ...


class BadBody(Exception):
    """A body the server cannot frame or will not take: answered 400, the connection closed."""


class IncompleteBody(ConnectionError):
    """The client stopped sending before the end of the body (disconnected, or cut a chunk)."""

    def __init__(self, received: int, expected: int | None) -> None:
        of = f" of {expected}" if expected is not None else ""
        super().__init__(f"incomplete body: {received}{of} bytes received")
        self.received = received


_LENGTH = re.compile(r"[0-9]{1,20}")


class Body:
    """The body of one request, not yet read: its framing is checked on creation."""

    def __init__(self, rfile: Reader, transfer_encoding: str | None, content_length: str | None) -> None:
        self._rfile = rfile
        self.chunked = "chunked" in (transfer_encoding or "").lower()
        self.length: int | None = None
        if not self.chunked:
            raw = (content_length or "0").strip()
            # ASCII digits only: str.isdigit takes '\u0661' (read as 1), and int() refuses 5,000 digits
            if not _LENGTH.fullmatch(raw) or int(raw) > MAX_BODY:
                raise BadBody("bad Content-Length")
            self.length = int(raw)
        self.consumed = False

    @property
    def empty(self) -> bool:
        return self.length == 0

    @property
    def small(self) -> bool:
        """Declared to fit in what a spool keeps in memory anyway: read directly."""
        return self.length is not None and self.length <= SPOOL_IN_MEMORY

    def pieces(self) -> Iterator[bytes]:
        """The body in pieces of at most :data:`PIECE` bytes; raises :class:`BadBody` past
        :data:`MAX_BODY` or on bad chunk framing, :class:`IncompleteBody` when the client stops."""
        self.consumed = True
        if self.length is not None:
            yield from self._exactly(self.length, 0)
            return
        received = 0
        while True:
            line = self._line(received)
            try:
                size = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                raise BadBody("bad chunk size") from None
            if size < 0 or received + size > MAX_BODY:
                raise BadBody("body too large")
            if size == 0:
                while self._line(received) not in (b"\r\n", b"\n"):
                    pass  # trailers
                return
            yield from self._exactly(size, received)
            received += size
            if not self._rfile.readline(3).endswith(b"\n"):
                raise IncompleteBody(received, None)

    def _line(self, received: int) -> bytes:
        """A chunk-size or trailer line; a line that stops short of its end is a cut body."""
        line = self._rfile.readline(_MAX_LINE)
        if line.endswith(b"\n"):
            return line
        if len(line) == _MAX_LINE:
            raise BadBody("chunk line too long")
        raise IncompleteBody(received, None)

    def _exactly(self, size: int, before: int) -> Iterator[bytes]:
        left = size
        while left:
            piece = self._rfile.read(min(left, PIECE))
            if not piece:
                raise IncompleteBody(before + size - left, self.length)
            left -= len(piece)
            yield piece

    def read(self) -> bytes:
        """The whole body, in memory."""
        return b"".join(self.pieces())

    def spool(self) -> tuple[IO[bytes], int]:
        """The whole body in a file (in memory up to :data:`SPOOL_IN_MEMORY` bytes), and its size."""
        # closed by the caller once the fake has the body, or here if reading it fails
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="pytest-ecr-body-")  # noqa: SIM115
        size = 0
        try:
            for piece in self.pieces():
                file.write(piece)
                size += len(piece)
        except BaseException:
            file.close()
            raise
        file.seek(0)
        return file, size

    def discard(self) -> None:
        """Read and drop the body, a piece at a time: a refused body is never buffered."""
        for _ in self.pieces():
            pass
