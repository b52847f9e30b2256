"""Tag mutability, with exclusion filters (spec §3.5.1)."""

from __future__ import annotations

import functools
import re

from ..store import Repository
from .errors import InvalidParameterException

WITH_EXCLUSION = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
MAX_WILDCARDS = 2


@functools.cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    # '*' matches any run of characters (also none); everything else is literal; whole-tag match.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def matches(pattern: str, tag: str) -> bool:
    return _wildcard(pattern).fullmatch(tag) is not None


def check_settings(mutability: str, filters: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Validate a mutability mode with its filters; return the filters to store."""
    field = "imageTagMutabilityExclusionFilters"
    if mutability in WITH_EXCLUSION and not filters:
        raise InvalidParameterException.at(
            field,
            f"ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as {mutability}",
        )
    if mutability not in WITH_EXCLUSION and filters:
        raise InvalidParameterException.at(
            field,
            f"ImageTagMutabilityExclusionFilters can only be set when imageTagMutability is set as "
            f"{' or '.join(WITH_EXCLUSION)}",
        )
    for f in filters or []:
        if f["filter"].count("*") > MAX_WILDCARDS:
            raise InvalidParameterException.at(
                field, f"Each filter can contain at most {MAX_WILDCARDS} wildcards (*)"
            )
    return [dict(f) for f in filters or []]


def tag_is_immutable(repo: Repository, tag: str) -> bool:
    excluded = any(matches(f["filter"], tag) for f in repo.mutability_exclusions)
    if repo.tag_mutability == "IMMUTABLE":
        return True
    if repo.tag_mutability == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if repo.tag_mutability == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False
