"""The one wildcard grammar ECR uses for tag-mutability exclusions, scanning filters and lifecycle
tag patterns: ``*`` matches any run of characters (none included), everything else is literal, and
the pattern must match the whole value."""

from __future__ import annotations

import functools
import re


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def wildcard_match(pattern: str, value: str) -> bool:
    return _compiled(pattern).fullmatch(value) is not None
