"""Reading an OCI image layout directory (what ``skopeo copy ... oci:DIR`` and umoci write), so
tests can seed real images byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .service import manifests
from .store import Blob

REF_NAME = "org.opencontainers.image.ref.name"


class LayoutError(ValueError):
    """The directory is not a valid OCI image layout."""


@dataclass(frozen=True)
class LayoutManifest:
    text: str
    media_type: str
    blobs: tuple[Blob, ...]
    #: the manifests an index references, each pushed before the index
    children: tuple[LayoutManifest, ...]
    #: the tag the layout's index.json gives it, if any
    ref_name: str | None


def _blob(root: Path, digest: str) -> bytes:
    algorithm, _, hexdigest = digest.partition(":")
    path = root / "blobs" / algorithm / hexdigest
    if algorithm != "sha256" or not path.is_file():
        raise LayoutError(f"{root}: blob {digest} is missing (looked for {path})")
    data = path.read_bytes()
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise LayoutError(f"{root}: blob {digest} does not match its digest")
    return data


def _tag(annotations: dict[str, Any] | None) -> str | None:
    name = (annotations or {}).get(REF_NAME)
    if not isinstance(name, str):
        return None
    # A ref name may be a bare tag ("v1") or a full reference ("registry/repo:v1").
    candidate = name.rsplit(":", 1)[-1] if "/" in name or ":" in name else name
    return candidate if manifests.TAG_RE.fullmatch(candidate) else None


def _manifest(root: Path, descriptor: dict[str, Any]) -> LayoutManifest:
    text = _blob(root, descriptor["digest"]).decode("utf-8")
    doc = json.loads(text)
    media_type = descriptor.get("mediaType") or doc.get("mediaType")
    if media_type in manifests.LIST_TYPES:
        children = tuple(_manifest(root, child) for child in doc.get("manifests", []))
        return LayoutManifest(text, media_type, (), children, _tag(descriptor.get("annotations")))
    blobs = []
    for item in [doc["config"], *doc.get("layers", [])]:
        if item.get("urls"):
            continue  # foreign layers live elsewhere
        data = _blob(root, item["digest"])
        blobs.append(Blob(item["digest"], len(data), item.get("mediaType"), data))
    return LayoutManifest(text, str(media_type), tuple(blobs), (), _tag(descriptor.get("annotations")))


def read_layout(path: str | os.PathLike[str]) -> list[LayoutManifest]:
    """The manifests an OCI layout's ``index.json`` lists, with their blobs read and verified."""
    root = Path(path)
    if not (root / "oci-layout").is_file() or not (root / "index.json").is_file():
        raise LayoutError(f"{root} is not an OCI image layout (it needs an oci-layout file and index.json)")
    index = json.loads((root / "index.json").read_text())
    return [_manifest(root, descriptor) for descriptor in index.get("manifests", [])]
