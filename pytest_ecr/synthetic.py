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


def _format(fmt: str) -> tuple[str, str, str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; use one of {sorted(FORMATS)}")
    return FORMATS[fmt]


def parse_platform(platform: str) -> dict[str, str]:
    """``linux/arm64/v8`` -> {"os": "linux", "architecture": "arm64", "variant": "v8"}."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"a platform is os/architecture[/variant], such as linux/arm64; got {platform!r}")
    return dict(zip(("os", "architecture", "variant"), parts, strict=False))


_UNIQUE = "@@pytest-ecr unique@@"
_LAYER = "@@pytest-ecr layer@@"
_CONFIG_DIGEST = "@@pytest-ecr config digest@@"
_CONFIG_SIZE = "@@pytest-ecr config size@@"


@functools.cache
def _config_template(platform: str) -> str:
    """The config blob's JSON with placeholders for the image's unique label and layer digest."""
    return json.dumps(
        {
            **parse_platform(platform),
            "config": {"Labels": {"pytest-ecr.image": _UNIQUE}},
            "rootfs": {"type": "layers", "diff_ids": [_LAYER]},
        },
        sort_keys=True,
    )


@functools.cache
def _manifest_template(fmt: str, layer_digest: str, layer_size: int) -> str:
    """The manifest's JSON with placeholders for the config blob's digest and size."""
    manifest_type, config_type, layer_type = _format(fmt)
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": _CONFIG_DIGEST, "size": _CONFIG_SIZE},
            "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer_size}],
        },
        indent=3,
    )


def build(
    unique: str, size: int | None = None, fmt: str = "oci", platform: str = "linux/amd64"
) -> SyntheticImage:
    """An image of exactly ``size`` bytes (config + layer, as ECR counts imageSizeInBytes).

    The JSON documents are filled-in templates (the same bytes ``json.dumps`` would give), so that
    seeding many images costs no JSON encoding per image.
    """
    manifest_type, config_type, layer_type = _format(fmt)
    total = DEFAULT_SIZE if size is None else size
    template = _config_template(platform)
    label = json.dumps(unique)  # as json.dumps encodes it inside the document

    # A digest's length is fixed, so the config's size is known before the layer's digest is.
    layer_size = total - (len(template) - len(json.dumps(_UNIQUE)) + len(label) - len(_LAYER) + 71)
    if layer_size < 1:
        raise ValueError(
            f"a synthetic image needs size > {total - layer_size} bytes (its config blob), got {total}"
        )
    layer_digest = _filler_digest(layer_size)
    config = template.replace(_LAYER, layer_digest).replace(json.dumps(_UNIQUE), label, 1).encode()
    config_digest = _sha256(config)
    manifest = (
        _manifest_template(fmt, layer_digest, layer_size)
        .replace(_CONFIG_DIGEST, config_digest)
        .replace(json.dumps(_CONFIG_SIZE), str(len(config)))
    )
    blobs = (
        Blob(config_digest, len(config), config_type, config),
        Blob(layer_digest, layer_size, layer_type, None),  # content: filler(layer_size), made on demand
    )
    return SyntheticImage(manifest, manifest_type, blobs)


def build_index(children: list[SyntheticImage], platforms: list[str], fmt: str = "oci") -> SyntheticImage:
    """An OCI index (or Docker manifest list) over already built platform images."""
    list_type = manifests.OCI_INDEX if fmt == "oci" else manifests.DOCKER_LIST
    doc = {
        "schemaVersion": 2,
        "mediaType": list_type,
        "manifests": [
            {
                "mediaType": child.media_type,
                "digest": manifests.digest_of(child.manifest),
                "size": len(child.manifest.encode()),
                "platform": parse_platform(platform),
            }
            for child, platform in zip(children, platforms, strict=True)
        ],
    }
    return SyntheticImage(json.dumps(doc, indent=3), list_type, ())


#: OCI 1.1's empty descriptor, the config of artifacts that have none.
EMPTY_CONFIG = b"{}"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"


def build_artifact(
    subject: str,
    subject_media_type: str,
    subject_size: int,
    artifact_type: str,
    payload: bytes,
    annotations: dict[str, str] | None = None,
) -> SyntheticImage:
    """An OCI 1.1 artifact (signature, SBOM...) whose ``subject`` is the given manifest."""
    layer_type = "application/octet-stream"
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": manifests.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": _sha256(EMPTY_CONFIG), "size": len(EMPTY_CONFIG)},
        "layers": [{"mediaType": layer_type, "digest": _sha256(payload), "size": len(payload)}],
        "subject": {"mediaType": subject_media_type, "digest": subject, "size": subject_size},
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    blobs = (
        Blob(_sha256(EMPTY_CONFIG), len(EMPTY_CONFIG), EMPTY_MEDIA_TYPE, EMPTY_CONFIG),
        Blob(_sha256(payload), len(payload), layer_type, payload),
    )
    return SyntheticImage(json.dumps(doc, indent=3), manifests.OCI_MANIFEST, blobs)
