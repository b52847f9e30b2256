"""Blobs: what the store, synthetic images and upstream registries all hold (below each of them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Blob:
    """A config or layer blob available in one repository."""

    digest: str
    size: int
    media_type: str | None = None
    #: None for a synthetic filler layer, whose bytes are ``synthetic.filler(size)``
    content: bytes | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> Blob:
        # a repository holds one per layer and config: copied by hand, the content (bytes) shared
        done: Blob | None = memo.get(id(self))
        if done is None:
            done = memo[id(self)] = Blob(self.digest, self.size, self.media_type, self.content)
        return done
