"""Seeding: how the fake's helpers put images and repositories into the store, by PutImage's rules.

``FakeECR.push_image``, ``push_images``, ``push_artifact``, ``import_oci_layout`` and ``seed``
are thin wrappers (the lock, the repository lookup) around what is here: storing synthetic images
and their blobs, in bulk for large registries, and walking an ``ecr_seed`` description. The
facade is reached through :class:`SeedTarget`, so this module does not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import seed_schema, synthetic
from .gcpause import paused_gc
from .service.context import Context
from .service.errors import ECRError
from .service.images import store_image, store_with_blobs
from .store import Repository, ScanFailure


class FakeError(Exception):
    """Raised by the fake's helpers with the ECR error they ran into."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RepositoryHandle:
    """A created repository (what ``create_repository`` and the ``ecr_repo`` fixture return)."""

    name: str
    arn: str
    uri: str
    registry_id: str
    region: str


@dataclass(frozen=True)
class PushedImage:
    """An image the fake's helpers pushed: its digest, tags, ``imageSizeInBytes``, manifest text
    and media type, and ``imagePushedAt`` (epoch seconds)."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    size: int
    manifest: str
    media_type: str
    pushed_at: float
    #: for a multi-arch image, the digests of its platform images
    children: tuple[str, ...] = ()


def store_synthetic(
    ctx: Context,
    repo: Repository,
    image: synthetic.SyntheticImage,
    tags: Sequence[str],
    pushed_at: float | None = None,
    findings: list[dict[str, Any]] | ScanFailure | None = None,
    children: tuple[str, ...] = (),
) -> PushedImage:
    """Make ``image``'s blobs available in ``repo``, then store its manifest under each tag, by
    PutImage's rules (a refusal is a :class:`FakeError`)."""
    try:
        stored = store_with_blobs(
            ctx, repo, image.manifest, image.media_type, image.blobs, tags[0] if tags else None, pushed_at
        )
        stored.seeded_findings = findings
        for tag in tags[1:]:
            store_image(ctx, repo, image.manifest, image.media_type, tag, pushed_at=pushed_at)
    except ECRError as err:
        raise FakeError(err.code, err.message) from None
    return PushedImage(
        repo.name,
        stored.digest,
        tuple(stored.tags),
        stored.size,
        stored.manifest,
        stored.media_type,
        stored.pushed_at,
        children,
    )


def store_many(
    ctx: Context,
    repo: Repository,
    count: int,
    build: Callable[[], synthetic.SyntheticImage],
    tag: str | None = None,
    pushed_at: float | None = None,
) -> list[str]:
    """Store ``count`` images made by ``build`` (``tag`` formatted with each index ``n``); their
    digests, in push order. No :class:`PushedImage` each: for large registries."""
    digests: list[str] = []
    blobs = repo.blobs
    # Bulk, acyclic allocation (manifests, images, their push events): collections would
    # only traverse the growing repository, as in a lifecycle run (see gcpause).
    with paused_gc():
        try:
            for n in range(count):
                image = build()
                for blob in image.blobs:
                    if blob.digest not in blobs:
                        blobs[blob.digest] = blob
                stored = store_image(
                    ctx,
                    repo,
                    image.manifest,
                    image.media_type,
                    None if tag is None else tag.format(n=n),
                    pushed_at=pushed_at,
                )
                digests.append(stored.digest)
        except ECRError as err:
            raise FakeError(err.code, err.message) from None
    return digests


class SeedTarget(Protocol):
    """What :func:`seed` needs of the facade (``FakeECR``, or contract mode's ``RemoteECR``): its
    default registry and helpers."""

    account_id: str
    region: str

    @property
    def has_repository(self) -> Callable[..., bool]: ...
    @property
    def create_repository(self) -> Callable[..., RepositoryHandle]: ...
    @property
    def push_image(self) -> Callable[..., PushedImage]: ...
    @property
    def import_oci_layout(self) -> Callable[..., list[PushedImage]]: ...
    @property
    def upstream_image(self) -> Callable[..., str]: ...


def seed(
    target: SeedTarget,
    repositories: Sequence[str | dict[str, Any]] = (),
    images: dict[str, Sequence[Any]] | None = None,
    upstream: dict[str, dict[str, Sequence[Any]]] | None = None,
    *,
    account: str | None = None,
    region: str | None = None,
) -> None:
    """Create repositories, push images and seed upstream registries as the ``ecr_seed``
    marker describes (:doc:`markers`), in the registry of ``account`` in ``region`` (default:
    the fake's). ``repositories``: names or CreateRepository parameter dicts; ``images``:
    repository name to a list of images (a tag, a list of tags, None, a dict of
    ``push_image`` options, or ``{"oci_layout": DIR}``), creating missing repositories;
    ``upstream``: registry URL to repository to images, for pull-through cache rules.

    The whole seed is checked first: a wrong type, key or value is a
    :class:`~pytest_ecr.seed_schema.SeedError` (a TypeError and ValueError) naming each
    problem's key path, and nothing is created."""
    __tracebackhide__ = True
    seed_schema.check_seed(
        {
            "repositories": repositories,
            "images": images,
            "upstream": upstream,
            "account": account,
            "region": region,
        },
        "ecr.seed()",
    )
    for registry_url, repos in (upstream or {}).items():
        for repository, entries in repos.items():
            for entry in entries:
                spec = {"tags": entry} if isinstance(entry, str) else dict(entry)
                target.upstream_image(registry_url, repository, spec.pop("tags", "latest"), **spec)
    where: dict[str, Any] = {"account": account, "region": region}
    for entry in repositories:
        params = {"repositoryName": entry} if isinstance(entry, str) else dict(entry)
        target.create_repository(params.pop("repositoryName"), **where, **params)
    for repo_name, entries in (images or {}).items():
        if not target.has_repository(repo_name, **where):
            target.create_repository(repo_name, **where)
        for entry in entries:
            if isinstance(entry, dict) and "oci_layout" in entry:
                spec = dict(entry)
                target.import_oci_layout(
                    repo_name, spec.pop("oci_layout"), spec.pop("tags", None), **where, **spec
                )
            elif isinstance(entry, dict):
                spec = dict(entry)
                findings = spec.get("findings")
                if isinstance(findings, dict):  # a seed file's scan failure
                    spec["findings"] = ScanFailure(**findings)
                target.push_image(repo_name, spec.pop("tags", None), **where, **spec)
            else:
                target.push_image(repo_name, entry, **where)
