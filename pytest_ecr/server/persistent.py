"""``serve --state``: a server whose fake's state is saved after every request that changed it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .http import EcrServer
from .messages import Reply, Request
from .state import StateError, StateFile, load

if TYPE_CHECKING:
    from ..fake import FakeECR


class PersistentServer(EcrServer):
    """An :class:`EcrServer` that saves ``state`` before each reply leaves: a client never sees
    an answer whose effect a ``kill -9`` could lose (only the request in flight is)."""

    def __init__(self, fake: FakeECR, state: StateFile, **kwargs: Any) -> None:
        super().__init__(fake, **kwargs)
        self.state = state

    def answer(self, request: Request) -> Reply:
        reply = super().answer(request)
        try:
            self.state.save()
        except OSError as err:  # the disk, not the client: say so rather than pretend it was kept
            return Reply(
                500, {"Content-Type": "text/plain"}, f"pytest-ecr: cannot save the state: {err}\n".encode()
            )
        return reply


def open_state(fake: FakeECR, path: str) -> StateFile:
    """The state file at ``path``, its state loaded into ``fake`` if it exists (``loaded``); a
    file that is not a whole pytest-ecr state file ends the command with its reason."""
    state = StateFile(fake, Path(path))
    if state.path.exists():
        try:
            load(fake, state.path)
        except (StateError, OSError) as err:
            raise SystemExit(
                f"pytest-ecr: {err}; refusing to start (move the file away to start empty)"
            ) from None
        state.loaded = True
    return state
