"""Manifest format conversion on pull by tag (user guide, "Container image manifest format support").

ECR's table, for an image pulled *by tag* whose stored format the client does not accept:

============================  ==================  ==================  ==================
requested \\ stored            schema 1            Docker schema 2     OCI
============================  ==================  ==================  ==================
Docker schema 1               (stored)            converted           not available
Docker schema 2               not available       (stored)            converted
OCI                           not available       converted           (stored)
============================  ==================  ==================  ==================

A pull by digest is never converted. The table names image manifests only: manifest lists and OCI
indexes are served as stored or not at all. Choices where the evidence is silent (documented in
docs/behaviour.rst): an image whose config or layers have no counterpart in the other format
(artifacts, zstd layers, ``subject``) is not converted; a converted manifest's digest is the digest
of the bytes served, or for schema 1 of its unsigned payload, as distribution's manifest handler
computes it; schema 1 conversion needs the config blob's bytes (distribution answers
MANIFEST_INVALID without them) and skips the config history's empty layers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..store import Image, Repository
from . import jws
from .manifests import DOCKER_V2, OCI_MANIFEST, SCHEMA1, SCHEMA1_SIGNED, SCHEMA1_TYPES, digest_of

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
#: OCI media type -> Docker schema 2 media type (image-spec media-types.md, "Compatibility Matrix")
_OCI_TO_DOCKER = {
    OCI_CONFIG: DOCKER_CONFIG,
    "application/vnd.oci.image.layer.v1.tar+gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    ),
}
_DOCKER_TO_OCI = {docker: oci for oci, docker in _OCI_TO_DOCKER.items()}


@dataclass(frozen=True)
class Served:
    """A manifest as a pull answers it: its text, media type and digest."""

    manifest: str
    media_type: str
    digest: str


def stored(image: Image) -> Served:
    return Served(image.manifest, image.media_type, image.digest)


def _accepts(accepted: list[str], media_type: str) -> bool:
    # The two schema 1 variants are one format to a client.
    return media_type in accepted or (media_type in SCHEMA1_TYPES and bool(SCHEMA1_TYPES & set(accepted)))


def negotiate(repo: Repository, image: Image, accepted: list[str] | None, tag: str | None) -> Served | None:
    """What a pull by tag (``tag``) or by digest (``tag`` None) answers; None when nothing accepted."""
    if accepted is None or tag is None or _accepts(accepted, image.media_type):
        return stored(image)
    if image.media_type == DOCKER_V2:
        if OCI_MANIFEST in accepted:
            return _retyped(image, OCI_MANIFEST, _DOCKER_TO_OCI)
        if SCHEMA1_TYPES & set(accepted):
            return _to_schema1(repo, image, tag, SCHEMA1_SIGNED if SCHEMA1_SIGNED in accepted else SCHEMA1)
    if image.media_type == OCI_MANIFEST and DOCKER_V2 in accepted:
        return _retyped(image, DOCKER_V2, _OCI_TO_DOCKER)
    return None


def _retyped(image: Image, media_type: str, types: dict[str, str]) -> Served | None:
    """Docker schema 2 <-> OCI: the same descriptors under the other format's media types."""
    doc: dict[str, Any] = json.loads(image.manifest)
    if "subject" in doc or "artifactType" in doc:
        return None  # Docker schema 2 has neither; dropping them would change what the image is
    descriptors = [doc["config"], *doc["layers"]]
    if any(d.get("mediaType") not in types for d in descriptors):
        return None  # an artifact, or a layer type the other format lacks (zstd, plain tar)
    config, *layers = ({**d, "mediaType": types[d["mediaType"]]} for d in descriptors)
    converted: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config,
        "layers": layers,
    }
    if media_type == OCI_MANIFEST and "annotations" in doc:
        converted["annotations"] = doc["annotations"]
    text = json.dumps(converted, indent=3)
    return Served(text, media_type, digest_of(text))


def _config(repo: Repository, digest: str) -> dict[str, Any] | None:
    blob = repo.blobs.get(digest)
    if blob is None or blob.content is None:
        return None
    try:
        config = json.loads(blob.content)
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def _v1_id(*parts: str) -> str:
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()


def _history(config: dict[str, Any], layer_count: int) -> list[dict[str, Any]]:
    """One history entry per layer: the config's non-empty entries when they match the layers."""
    entries = config.get("history")
    if isinstance(entries, list):
        filled = [h for h in entries if isinstance(h, dict) and not h.get("empty_layer")]
        if len(filled) == layer_count:
            return filled
    return [{} for _ in range(layer_count)]


def _to_schema1(repo: Repository, image: Image, tag: str, media_type: str) -> Served | None:
    """Docker schema 2 -> schema 1 (manifest-v2-1): layers bottom-up reversed, v1 history, signed."""
    doc: dict[str, Any] = json.loads(image.manifest)
    config = _config(repo, doc["config"]["digest"])
    if config is None:
        return None
    layers = [d["digest"] for d in doc["layers"]]
    compat: list[str] = []
    parent = ""
    for position, (blob_sum, entry) in enumerate(zip(layers, _history(config, len(layers)), strict=True)):
        if position == len(layers) - 1:
            # The top layer carries the image config itself, as Docker 1.9 reads it.
            layer_id = _v1_id(parent, blob_sum, doc["config"]["digest"])
            top = {k: v for k, v in config.items() if k not in ("history", "rootfs")}
            v1: dict[str, Any] = {"id": layer_id, **({"parent": parent} if parent else {}), **top}
        else:
            layer_id = _v1_id(parent, blob_sum)
            v1 = {"id": layer_id, **({"parent": parent} if parent else {})}
            v1.update({k: entry[k] for k in ("created", "author", "comment") if k in entry})
            if "created_by" in entry:
                v1["container_config"] = {"Cmd": [entry["created_by"]]}
        compat.append(json.dumps(v1, separators=(",", ":")))
        parent = layer_id
    manifest = {
        "schemaVersion": 1,
        "name": repo.name,
        "tag": tag,
        "architecture": str(config.get("architecture", "")),
        "fsLayers": [{"blobSum": d} for d in reversed(layers)],
        "history": [{"v1Compatibility": c} for c in reversed(compat)],
    }
    text = jws.sign_pretty(manifest, _signed_at(image))
    # Clients (docker, containers/image) take a schema 1 digest over the unsigned payload.
    return Served(text, media_type, digest_of(json.dumps(manifest, indent=3)))


def _signed_at(image: Image) -> str:
    # The signing time in the protected header; the digest (over the payload) does not include it.
    return dt.datetime.fromtimestamp(image.pushed_at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
