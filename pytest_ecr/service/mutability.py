"""Tag mutability, with exclusion filters (spec §3.5.1)."""

from __future__ import annotations

from ..store import Repository
from .errors import InvalidParameterException
from .wildcards import wildcard_match

WITH_EXCLUSION = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
MAX_WILDCARDS = 2


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
    excluded = any(wildcard_match(f["filter"], tag) for f in repo.mutability_exclusions)
    if repo.tag_mutability == "IMMUTABLE":
        return True
    if repo.tag_mutability == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if repo.tag_mutability == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False
