"""The output writer checks every row of a page against the shape, on its fast path too."""

from __future__ import annotations

import pytest

from pytest_ecr.protocol import encode
from pytest_ecr.protocol.model import operation

DIGEST = "sha256:" + "a" * 64


def list_images_output(image_ids: object) -> object:
    return encode.write(operation("ListImages").output_shape, {"imageIds": image_ids, "nextToken": None})


def test_rows_of_strings_are_written_as_given() -> None:
    rows = [{"imageDigest": DIGEST, "imageTag": "v1"}, {"imageDigest": DIGEST}]
    assert list_images_output(rows) == {"imageIds": rows}


def test_an_absent_member_is_omitted() -> None:
    rows = [{"imageDigest": DIGEST, "imageTag": None}]
    assert list_images_output(rows) == {"imageIds": [{"imageDigest": DIGEST}]}


def test_rows_given_as_a_tuple_are_written_as_a_list() -> None:
    assert list_images_output(({"imageDigest": DIGEST},)) == {"imageIds": [{"imageDigest": DIGEST}]}


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"imageDigest": DIGEST, "size": "1"}, "'size' is not a member of ImageIdentifier"),
        ({"imageDigest": 7}, "imageIds[1].imageDigest: expected string, got int"),
        ("sha256:abc", "imageIds[1]: expected a structure, got str"),
    ],
)
def test_a_wrong_row_names_where_it_is(row: object, problem: str) -> None:
    with pytest.raises(encode.OutputShapeError) as error:
        list_images_output([{"imageDigest": DIGEST}, row])
    assert problem in str(error.value)
