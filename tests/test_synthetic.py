"""Synthetic images are real images: their blobs exist with the digests and sizes they claim."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from pytest_ecr import FakeError
from pytest_ecr.synthetic import MIN_ARCHIVE, filler


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_blobs_match_the_manifest(ecr, fmt):
    ecr.create_repository("app")
    image = ecr.push_image("app", ["v1"], size=10_000, format=fmt)
    manifest = json.loads(image.manifest)
    assert image.digest == sha256(image.manifest.encode())
    blobs = ecr.repository("app").blobs
    config = blobs[manifest["config"]["digest"]]
    assert config.content is not None
    assert sha256(config.content) == config.digest
    assert len(config.content) == manifest["config"]["size"]
    [layer_ref] = manifest["layers"]
    layer = blobs[layer_ref["digest"]]
    assert sha256(filler(layer.size)) == layer.digest
    assert layer.size == layer_ref["size"]
    assert manifest["config"]["size"] + layer_ref["size"] == image.size == 10_000
    # OCI: diff_ids name the uncompressed layers
    assert json.loads(config.content)["rootfs"]["diff_ids"] == [sha256(gzip.decompress(filler(layer.size)))]


@pytest.mark.parametrize("size", [MIN_ARCHIVE, MIN_ARCHIVE + 1, 2047, 4096, 3 * 65535 + 17, 2 * 1024 * 1024])
def test_filler_layers_are_gzipped_tars_of_exactly_their_size(size):
    """What real clients pull from server mode: a valid layer, which skopeo copies as is."""
    layer = filler(size)
    assert len(layer) == size
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        [member] = tar.getmembers()
        data = tar.extractfile(member)
        assert data is not None
        assert len(data.read()) == member.size >= size - MIN_ARCHIVE - 512 - 5 * (size // 65535 + 1)


def test_filler_below_the_smallest_archive_is_raw_bytes():
    assert len(filler(MIN_ARCHIVE - 1)) == MIN_ARCHIVE - 1
    assert filler(100)[:2] != b"\x1f\x8b"


def test_each_push_is_a_distinct_image(ecr, ecr_client):
    ecr.create_repository("app")
    first, second = ecr.push_image("app", size=5000), ecr.push_image("app", size=5000)
    assert first.digest != second.digest
    assert len(ecr_client.list_images(repositoryName="app")["imageIds"]) == 2


def test_helpers_follow_the_api_rules(ecr):
    ecr.create_repository("app", imageTagMutability="IMMUTABLE")
    ecr.push_image("app", "v1")
    with pytest.raises(FakeError) as exc:
        ecr.push_image("app", "v1")
    assert exc.value.code == "ImageTagAlreadyExistsException"
    with pytest.raises(FakeError) as exc:
        ecr.create_repository("Bad Name")
    assert exc.value.code == "InvalidParameterException"
    with pytest.raises(ValueError, match="needs size >"):
        ecr.push_image("app", "tiny", size=10)
    with pytest.raises(ValueError, match="unknown image format"):
        ecr.push_image("app", "x", format="helm")
