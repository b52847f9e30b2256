"""The repository's image table: its seq order, parents and referrers indexes follow every change."""

from __future__ import annotations

import copy

from pytest_ecr import FakeECR
from pytest_ecr.store import Image, ImageTable


def _image(seq: int, children: tuple[str, ...] = ()) -> Image:
    return Image(f"sha256:{seq:064x}", "{}", "m", 1, 0.0, seq, children=children)


def test_from_seq_skips_deleted_images_and_survives_compaction() -> None:
    table = ImageTable()
    images = [_image(seq) for seq in range(300)]
    for image in images:
        table[image.digest] = image
    for image in images[:250]:
        del table[image.digest]
    assert [i.seq for i in table.from_seq(0)] == list(range(250, 300))
    assert [i.seq for i in table.from_seq(290)] == list(range(290, 300))
    late = _image(1000)
    table[late.digest] = late
    assert [i.seq for i in table.from_seq(299)] == [299, 1000]


def test_parents_follow_pushes_and_deletes() -> None:
    child = _image(1)
    first, second = _image(2, (child.digest,)), _image(3, (child.digest,))
    table = ImageTable((i.digest, i) for i in (child, first, second))
    assert table.parents(child.digest) == [first.digest, second.digest]
    table.pop(first.digest)
    assert table.parents(child.digest) == [second.digest]
    clone = copy.deepcopy(table)
    assert list(clone) == list(table)
    assert clone.parents(child.digest) == [second.digest]
    table.clear()
    assert table.parents(child.digest) == []
    assert list(table.from_seq(0)) == []


def test_referrers_follow_pushes_and_deletes() -> None:
    subject = _image(1)
    later, earlier = (
        Image(f"sha256:{seq:064x}", "{}", "m", 1, 0.0, seq, subject_digest=subject.digest) for seq in (5, 4)
    )
    table = ImageTable((i.digest, i) for i in (subject, later, earlier))
    assert table.has_referrers(subject.digest)
    assert table.referrers(subject.digest) == [earlier, later]  # in seq order, not insertion order
    del table[later.digest]
    assert table.referrers(subject.digest) == [earlier]
    assert copy.deepcopy(table).referrers(subject.digest) == [earlier]
    table.pop(earlier.digest)
    assert not table.has_referrers(subject.digest)
    assert table.referrers(subject.digest) == []
    table[earlier.digest] = earlier
    table.clear()
    assert not table.has_referrers(subject.digest)


def test_push_images_seeds_real_images() -> None:
    with FakeECR() as fake:
        fake.create_repository("many")
        digests = fake.push_images("many", 5, size=4096, tag="v{n}")
        client = fake.client()
        described = client.describe_images(repositoryName="many")["imageDetails"]
        assert [d["imageDigest"] for d in described] == digests
        assert [d["imageTags"] for d in described] == [[f"v{n}"] for n in range(5)]
        assert {d["imageSizeInBytes"] for d in described} == {4096}
