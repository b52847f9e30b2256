"""Synthetic images that are real: valid manifests whose blobs exist with matching digests and sizes.

Each image gets a unique config blob (so a distinct digest) and one layer of filler bytes. Filler
layers of the same size are identical, like the shared base layers of real images, so seeding many
images hashes each filler size once.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import struct
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from .blobs import Blob
from .service import manifests

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


#: the smallest gzip-compressed tar a filler layer can be (a header, no file data, the end blocks)
MIN_ARCHIVE = 1561
_STORED_BLOCK = 65535  # the most a deflate "stored" block holds


@functools.lru_cache(maxsize=16)
def filler(size: int) -> bytes:
    """The bytes of a synthetic layer of exactly ``size`` bytes (deterministic): a gzip-compressed
    tar holding one file of pseudo-random bytes, so that real clients (skopeo, containerd) pulling
    a synthetic image from server mode see a valid layer and copy it as is, digest unchanged. The
    data is "compressed" as deflate stored blocks, whose overhead is exact, and the gzip header's
    extra field takes up the last few bytes. Below ``MIN_ARCHIVE`` bytes no archive fits: the layer
    is then raw pseudo-random bytes."""
    if size < MIN_ARCHIVE:
        return hashlib.shake_256(b"pytest-ecr filler layer").digest(size)
    # The largest file (a multiple of 512: no tar padding) whose archive fits with an empty extra field.
    data = (size - MIN_ARCHIVE) // 512 * 512
    while _gzip_size(1536 + data, 0) > size:
        data -= 512
    extra = size - _gzip_size(1536 + data, 0)
    info = tarfile.TarInfo("filler.bin")
    info.size, info.mode, info.mtime = data, 0o644, 0
    archive = info.tobuf(format=tarfile.USTAR_FORMAT) + hashlib.shake_256(b"pytest-ecr filler").digest(data)
    archive += bytes(1024)  # two empty blocks end a tar
    blocks = []
    for start in range(0, len(archive), _STORED_BLOCK):
        chunk = archive[start : start + _STORED_BLOCK]
        last = start + _STORED_BLOCK >= len(archive)
        blocks.append(struct.pack("<BHH", int(last), len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    # ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=unknown, then the extra field's length and bytes.
    header = b"\x1f\x8b\x08\x04" + bytes(4) + b"\x00\xff" + struct.pack("<H", extra) + bytes(extra)
    trailer = struct.pack("<II", zlib.crc32(archive), len(archive) & 0xFFFFFFFF)
    layer = header + b"".join(blocks) + trailer
    assert len(layer) == size, (len(layer), size)
    return layer


def _gzip_size(archive: int, extra: int) -> int:
    blocks = -(-archive // _STORED_BLOCK)
    return 10 + 2 + extra + archive + 5 * blocks + 8


@functools.cache
def _filler_digest(size: int) -> str:
    return "sha256:" + hashlib.sha256(filler(size)).hexdigest()


@functools.cache
def _filler_diff_id(size: int) -> str:
    """The config's ``rootfs.diff_ids`` entry: the digest of the layer's uncompressed tar."""
    layer = filler(size)
    return _sha256(gzip.decompress(layer)) if size >= MIN_ARCHIVE else _sha256(layer)


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
    config = (
        template.replace(_LAYER, _filler_diff_id(layer_size)).replace(json.dumps(_UNIQUE), label, 1).encode()
    )
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


def build_images(
    unique: str, size: int | None = None, fmt: str = "oci", platforms: Sequence[str] = ()
) -> tuple[SyntheticImage, ...]:
    """One image, or with ``platforms`` one image per platform then the index over them (the order
    they must be pushed in)."""
    if not platforms:
        return (build(unique, size, fmt),)
    children = [build(f"{unique}/{p}", size, fmt, p) for p in platforms]
    return (*children, build_index(children, list(platforms), fmt))


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
