"""Synthetic images that are real: valid manifests whose blobs exist with matching digests and sizes.

Each image gets a unique config blob (so a distinct digest) and one layer of filler bytes. Filler
layers of the same size are identical, like the shared base layers of real images, so seeding many
images hashes each filler size once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from .service import manifests
from .store import Blob

DEFAULT_SIZE = 2 * 1024 * 1024
FORMATS = {
    "oci": (
        manifests.OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    ),
    "docker": (
        manifests.DOCKER_V2,
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ),
}


def filler(size: int) -> bytes:
    """The bytes of a synthetic layer of ``size`` bytes (deterministic)."""
    return hashlib.shake_256(b"pytest-ecr filler layer").digest(size)


@functools.cache
def _filler_digest(size: int) -> str:
    return "sha256:" + hashlib.sha256(filler(size)).hexdigest()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SyntheticImage:
    manifest: str
    media_type: str
    blobs: tuple[Blob, ...]


def build(unique: str, size: int | None = None, fmt: str = "oci") -> SyntheticImage:
    """An image of exactly ``size`` bytes (config + layer, as ECR counts imageSizeInBytes)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; use one of {sorted(FORMATS)}")
    manifest_type, config_type, layer_type = FORMATS[fmt]
    total = DEFAULT_SIZE if size is None else size

    def config_for(layer_digest: str) -> bytes:
        return json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"pytest-ecr.image": unique}},
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            },
            sort_keys=True,
        ).encode()

    # A digest's length is fixed, so the config's size is known before the layer's digest is.
    layer_size = total - len(config_for("sha256:" + "0" * 64))
    if layer_size < 1:
        raise ValueError(
            f"a synthetic image needs size > {total - layer_size} bytes (its config blob), got {total}"
        )
    layer_digest = _filler_digest(layer_size)
    config = config_for(layer_digest)
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": _sha256(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer_size}],
    }
    blobs = (
        Blob(_sha256(config), len(config), config_type, config),
        Blob(layer_digest, layer_size, layer_type, None),  # content: filler(layer_size), made on demand
    )
    return SyntheticImage(json.dumps(manifest, indent=3), manifest_type, blobs)
