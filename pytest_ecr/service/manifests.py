"""Reading image manifests: media type, digest, referenced blobs and children (spec §3.2-3.4)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameterException

SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

LIST_TYPES = frozenset({DOCKER_LIST, OCI_INDEX})
SCHEMA1_TYPES = frozenset({SCHEMA1, SCHEMA1_SIGNED})
SUPPORTED = frozenset({DOCKER_V2, OCI_MANIFEST, *LIST_TYPES, *SCHEMA1_TYPES})

#: Undocumented; about 500 is what users report hitting (spec §3.5, §13).
MAX_LAYERS = 500

DIGEST_RE = re.compile(r"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+")
TAG_RE = re.compile(r"[a-zA-Z0-9-_.]+")


@dataclass(frozen=True)
class Descriptor:
    digest: str
    size: int
    media_type: str | None


@dataclass(frozen=True)
class Manifest:
    media_type: str
    #: config and layer blobs that must be available in the repository (foreign layers excluded)
    blobs: tuple[Descriptor, ...] = ()
    #: schema 1 layers, whose sizes only the repository's blobs know
    schema1_blob_digests: tuple[str, ...] = ()
    #: manifests a list / index references
    children: tuple[str, ...] = ()
    declared_size: int = 0
    artifact_media_type: str | None = None
    subject_digest: str | None = None

    @property
    def is_list(self) -> bool:
        return self.media_type in LIST_TYPES

    @property
    def blob_digests(self) -> tuple[str, ...]:
        """Every blob digest the manifest needs in the repository, once each, config first."""
        return tuple(dict.fromkeys([*(d.digest for d in self.blobs), *self.schema1_blob_digests]))


def digest_of(text: str) -> str:
    """ECR's image digest: sha256 of the exact manifest bytes, no canonicalisation (spec §3.3)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _invalid(constraint: str) -> InvalidParameterException:
    return InvalidParameterException.at("ImageManifest", constraint)


def _descriptor(value: Any) -> Descriptor:
    if not isinstance(value, dict):
        raise _invalid("Invalid JSON syntax")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if (
        not isinstance(digest, str)
        or not DIGEST_RE.fullmatch(digest)
        or isinstance(size, bool)
        or not isinstance(size, int)
        or size < 0
        or not (media_type is None or isinstance(media_type, str))
    ):
        raise _invalid("Invalid JSON syntax")
    return Descriptor(digest, size, media_type)


def _descriptors(doc: dict[str, Any], key: str) -> list[tuple[Descriptor, dict[str, Any]]]:
    items = doc.get(key)
    if not isinstance(items, list):
        raise _invalid("Invalid JSON syntax")
    return [(_descriptor(item), item) for item in items]


def _media_type(doc: dict[str, Any], declared: str | None) -> str:
    found = doc.get("mediaType")
    if declared is not None:
        if found is not None and found != declared:
            raise InvalidParameterException.at(
                "imageManifestMediaType",
                f"The media type '{declared}' does not match the manifest's mediaType '{found}'",
            )
        media_type = declared
    elif isinstance(found, str):
        media_type = found
    elif doc.get("schemaVersion") == 1:
        media_type = SCHEMA1_SIGNED if "signatures" in doc else SCHEMA1
    else:
        # What ECR answers for OCI manifests and artifacts pushed without a media type.
        raise _invalid("Invalid JSON syntax")
    if media_type not in SUPPORTED:
        raise InvalidParameterException.at(
            "imageManifestMediaType", f"Unsupported manifest media type '{media_type}'"
        )
    return media_type


def parse(text: str, declared_media_type: str | None) -> Manifest:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # nesting too deep for the parser is malformed too
        raise _invalid("Invalid JSON syntax") from None
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON syntax")
    media_type = _media_type(doc, declared_media_type)
    subject = _descriptor(doc["subject"]).digest if "subject" in doc else None
    if media_type in LIST_TYPES:
        children = [d for d, _ in _descriptors(doc, "manifests")]
        return Manifest(
            media_type, children=tuple(dict.fromkeys(d.digest for d in children)), subject_digest=subject
        )
    if media_type in SCHEMA1_TYPES:
        layers = doc.get("fsLayers")
        if not isinstance(layers, list) or not all(
            isinstance(x, dict) and isinstance(x.get("blobSum"), str) and DIGEST_RE.fullmatch(x["blobSum"])
            for x in layers
        ):
            raise _invalid("Invalid JSON syntax")
        return Manifest(media_type, schema1_blob_digests=tuple(dict.fromkeys(x["blobSum"] for x in layers)))
    config = _descriptor(doc.get("config"))
    layers = _descriptors(doc, "layers")
    if not layers:
        raise _invalid("Image has to have at least 1 layer")
    if len(layers) > MAX_LAYERS:
        raise _invalid("Limit on number of layers per image exceeded")
    # Foreign (non-distributable) layers carry `urls` and are never uploaded to the registry.
    local = [d for d, raw in layers if not raw.get("urls")]
    artifact_type = doc.get("artifactType")
    return Manifest(
        media_type,
        blobs=(config, *local),
        declared_size=config.size + sum(d.size for d, _ in layers),
        artifact_media_type=artifact_type if isinstance(artifact_type, str) else config.media_type,
        subject_digest=subject,
    )
