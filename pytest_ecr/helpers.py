"""The helpers every ``ecr`` fixture offers: the in-process :class:`~pytest_ecr.FakeECR` and
contract mode's :class:`~pytest_ecr.remote.RemoteECR` alike (see :doc:`contract`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .seeding import SeedTarget


class EcrHelpers(SeedTarget, Protocol):
    """What a test may ask of ``ecr`` in either mode: ``account_id``, ``region``, ``client()``,
    ``name()``, ``create_repository()``, ``has_repository()``, ``push_image()``, ``seed()``."""

    @property
    def client(self) -> Callable[..., Any]: ...
    @property
    def name(self) -> Callable[[str], str]: ...
    @property
    def seed(self) -> Callable[..., None]: ...


if TYPE_CHECKING:  # mypy checks that both facades satisfy the protocol
    from .fake import FakeECR
    from .remote import RemoteECR

    def _facades(fake: FakeECR, remote: RemoteECR) -> tuple[EcrHelpers, EcrHelpers]:
        return fake, remote
