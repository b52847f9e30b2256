"""OCI referrers (spec §3.10): ListImageReferrers over the images whose ``subject`` is a digest."""

from __future__ import annotations

import json
from typing import Any

from ..store import Image
from .context import Context
from .errors import InvalidParameterException
from .manifests import DIGEST_RE
from .pagination import page
from .registry import operation

#: The model's default page (the API reference page says 50; the model's documentation says 20).
DEFAULT_PAGE = 20


def referrer(image: Image) -> dict[str, Any]:
    """The ``ImageReferrer`` for an image that has a subject."""
    annotations = json.loads(image.manifest).get("annotations")
    return {
        "digest": image.digest,
        "mediaType": image.media_type,
        # The OCI rule: the manifest's artifactType, else its config's media type.
        "artifactType": image.artifact_media_type,
        "size": len(image.manifest.encode("utf-8")),
        "annotations": annotations if isinstance(annotations, dict) and annotations else None,
        "artifactStatus": image.status,
    }


@operation("ListImageReferrers")
def list_image_referrers(
    ctx: Context,
    *,
    repositoryName: str,
    subjectId: dict[str, str],
    registryId: str | None = None,
    filter: dict[str, Any] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    subject = subjectId["imageDigest"]
    if not DIGEST_RE.fullmatch(subject):
        raise InvalidParameterException.at(
            "imageDigest", f"must satisfy regular expression '{DIGEST_RE.pattern}'"
        )
    types = set((filter or {}).get("artifactTypes") or [])
    status = (filter or {}).get("artifactStatus", "ACTIVE")
    # An unknown subject is not an error: a registry must list referrers pushed before their subject.
    selected = (
        image
        for image in repo.images.values()
        if image.subject_digest == subject
        and (status == "ANY" or image.status == status)
        and (not types or image.artifact_media_type in types)
    )
    found, token = page(
        selected,
        key=lambda image: image.seq,
        scope=(
            "ListImageReferrers",
            repo.registry_id,
            repo.region,
            repo.name,
            subject,
            sorted(types),
            status,
        ),
        next_token=nextToken,
        max_results=maxResults,
        default_page=DEFAULT_PAGE,
    )
    return {"referrers": [referrer(image) for image in found], "nextToken": token}
