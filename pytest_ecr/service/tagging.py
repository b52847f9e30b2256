"""Resource tags on repositories: TagResource, UntagResource, ListTagsForResource (spec §2.7)."""

from __future__ import annotations

import re
from typing import Any

from ..store import Repository
from .context import Context
from .errors import (
    InvalidParameterException,
    InvalidTagParameterException,
    RepositoryNotFoundException,
    TooManyTagsException,
)
from .registry import operation

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256

_ARN = re.compile(r"arn:(aws[a-z-]*):ecr:([a-z0-9-]+):([0-9]{12}):repository/(.+)")


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise InvalidTagParameterException(f"Tag key must have length between 1 and {MAX_KEY}: '{key}'")
    if key.lower().startswith("aws:"):
        raise InvalidTagParameterException(f"Tag keys with the prefix 'aws:' are reserved: '{key}'")


def merged_tags(current: dict[str, str], tags: list[dict[str, str]]) -> dict[str, str]:
    """``current`` with ``tags`` applied, or the error ECR gives; ``current`` is not modified."""
    result = dict(current)
    for tag in tags:
        key, value = tag.get("Key", ""), tag.get("Value")
        _check_key(key)
        if value is None:
            raise InvalidTagParameterException(f"Tag value must not be null: key '{key}'")
        if len(value) > MAX_VALUE:
            raise InvalidTagParameterException(
                f"Tag value must have length less than or equal to {MAX_VALUE}: key '{key}'"
            )
        result[key] = value
    if len(result) > MAX_TAGS:
        raise TooManyTagsException(
            f"A repository cannot have more than {MAX_TAGS} tags; this request would give it {len(result)}"
        )
    return result


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _repository_for_arn(ctx: Context, arn: str) -> Repository:
    match = _ARN.fullmatch(arn)
    if match is None:
        raise InvalidParameterException.at("resourceArn", "Invalid ARN")
    partition, region, account, name = match.groups()
    if partition != ctx.partition or region != ctx.region:
        raise InvalidParameterException.at("resourceArn", "Invalid ARN")
    repo = ctx.store.registry(account, region).repositories.get(name)
    if repo is None:
        raise RepositoryNotFoundException.named(name, account)
    return repo


@operation("TagResource")
def tag_resource(ctx: Context, *, resourceArn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    repo = _repository_for_arn(ctx, resourceArn)
    repo.resource_tags = merged_tags(repo.resource_tags, tags)
    return {}


@operation("UntagResource")
def untag_resource(ctx: Context, *, resourceArn: str, tagKeys: list[str]) -> dict[str, Any]:
    repo = _repository_for_arn(ctx, resourceArn)
    for key in tagKeys:
        _check_key(key)
    for key in tagKeys:
        repo.resource_tags.pop(key, None)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, *, resourceArn: str) -> dict[str, Any]:
    return {"tags": tag_list(_repository_for_arn(ctx, resourceArn).resource_tags)}
