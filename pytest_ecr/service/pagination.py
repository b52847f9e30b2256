"""Opaque, key-based pagination tokens (spec §9).

A token names the last item returned (its stable sort key) and a hash of the request's scope
(operation, repository, filters). Resuming after a key, rather than at an offset, keeps pages
consistent when items are added or deleted between calls; replaying a token with other filters, or
a token that is not ours, is an InvalidParameterException at 'nextToken'.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .errors import InvalidParameterException

T = TypeVar("T")

DEFAULT_PAGE = 100


def _scope_hash(scope: Sequence[Any]) -> str:
    return hashlib.sha256(json.dumps(list(scope), sort_keys=True).encode()).hexdigest()[:16]


def _bad_token() -> InvalidParameterException:
    return InvalidParameterException.at("nextToken", "Invalid NextToken value")


def _encode(scope_hash: str, key: Any) -> str:
    raw = json.dumps({"s": scope_hash, "k": key}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode(token: str, scope_hash: str) -> Any:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, RecursionError, binascii.Error, UnicodeEncodeError):
        raise _bad_token() from None
    if not isinstance(data, dict) or data.get("s") != scope_hash or "k" not in data:
        raise _bad_token()
    key = data["k"]
    return tuple(key) if isinstance(key, list) else key


def page(
    items: Iterable[T],
    key: Callable[[T], Any],
    scope: Sequence[Any],
    next_token: str | None,
    max_results: int | None,
    default_page: int = DEFAULT_PAGE,
    seek: Callable[[Any], Iterable[T]] | None = None,
) -> tuple[list[T], str | None]:
    """Items after ``next_token`` (in ``key`` order, which ``items`` must already follow).

    ``seek``, given the token's key, returns the items from about that key on (it may start
    early: items up to the key are still skipped), so that resuming need not walk the items before
    it; ``items`` is then not iterated.
    """
    limit = max_results or default_page
    scope_hash = _scope_hash(scope)
    after = _decode(next_token, scope_hash) if next_token is not None else None
    if after is not None and seek is not None:
        items = seek(after)
    if after is not None:
        # ``items`` follow ``key`` order: skipping ends at the first item past the token.
        items = itertools.dropwhile(lambda item: key(item) <= after, items)
    out = list(itertools.islice(items, limit + 1))
    if len(out) > limit:
        del out[limit:]
        return out, _encode(scope_hash, key(out[-1]))
    return out, None


def forbid_paging_with_ids(
    field: str, things: str, ids: object, next_token: str | None, max_results: int | None
) -> None:
    """ECR refuses ``maxResults`` / ``nextToken`` beside an explicit list of ids (``imageIds``,
    ``repositoryNames``): the ids select exactly what is returned."""
    if ids is not None and (next_token is not None or max_results is not None):
        raise InvalidParameterException.at(
            field, f"maxResults and nextToken cannot be used when {things} are specified with {field}"
        )
