"""Blobs: what the store, synthetic images and upstream registries all hold (below each of them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Blob:
    """A config or layer blob available in one repository."""

    digest: str
    size: int
    media_type: str | None = None
    #: None for a synthetic filler layer, whose bytes are ``synthetic.filler(size)``
    content: bytes | None = None
