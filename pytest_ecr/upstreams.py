"""The fake's upstream registries: what a pull-through cache rule pulls from (Docker Hub, Quay...).

Tests seed upstream content (``FakeECR.upstream_image``, the ``ecr_seed`` marker's ``upstream``
argument) or supply it on demand (the ``pytest_ecr_upstream_image`` hook). Content is a synthetic
image, multi-arch included, built like ``FakeECR.push_image`` builds one; an upstream repository
can also be made to fail with one of ECR's upstream failure codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store holds Upstreams, and synthetic images are built from the store's Blob
    from .synthetic import SyntheticImage

#: the per-image failure codes BatchGetImage reports for an upstream that refuses (ImageFailureCode)
UPSTREAM_FAILURES = ("UpstreamAccessDenied", "UpstreamTooManyRequests", "UpstreamUnavailable")


@dataclass(frozen=True)
class UpstreamImage:
    """One upstream image: for a multi-arch image the platform images, then the index."""

    images: tuple[SyntheticImage, ...]

    @property
    def top(self) -> SyntheticImage:
        return self.images[-1]


@dataclass(frozen=True)
class UpstreamRequest:
    """What a pull through the cache asks an upstream registry for (the hook's argument)."""

    registry_url: str
    repository: str
    #: a tag, or a digest (``sha256:...``)
    reference: str


#: supplies an upstream image the tests did not seed (the pytest hook, in the plugin)
UpstreamProvider = Callable[[UpstreamRequest], "UpstreamImage | None"]


@dataclass
class Upstreams:
    """Upstream content by registry URL and repository: tags, digests, failures."""

    #: (registry url, repository) -> tag -> image
    tags: dict[tuple[str, str], dict[str, UpstreamImage]] = field(default_factory=dict)
    #: (registry url, repository) -> failure code every pull from it gets
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, registry_url: str, repository: str, tag: str, image: UpstreamImage) -> None:
        self.tags.setdefault((registry_url, repository), {})[tag] = image

    def find(self, registry_url: str, repository: str, reference: str) -> UpstreamImage | None:
        for tag, image in self.tags.get((registry_url, repository), {}).items():
            if reference == tag or reference == manifest_digest(image):
                return image
        return None


def manifest_digest(image: UpstreamImage) -> str:
    from .service.manifests import digest_of

    return digest_of(image.top.manifest)
