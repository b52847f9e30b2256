"""A reference for lifecycle evaluation, written from the ECR user guide and nothing else.

It imports nothing from pytest_ecr: the property tests in test_lifecycle_oracle.py judge the fake
against it through the public API. It is deliberately small and slow, and covers single-image
repositories only (no manifest lists: what freeing a list's children does within one evaluation is
not documented).

The rules, as documented (AWS ECR user guide, "Lifecycle policy properties" and "How lifecycle
policies work" / evaluation rules; echoed in the spec §5.4):

- Rules are applied from the lowest ``rulePriority`` to the highest.
- ``storageClass`` (default ``standard``) picks the images a rule sees: ACTIVE ones for standard,
  ARCHIVED ones for archive.
- ``tagStatus`` ``untagged``: images with no tag; ``any``: every image; ``tagged`` with
  ``tagPrefixList``/``tagPatternList``: "If you specify multiple tags, only the images with all
  specified tags are selected" -- every prefix (pattern) of the list matches some tag of the image.
  A pattern's ``*`` matches any run of characters, none included; everything else is literal and the
  whole tag must match.
- ``imageCountMoreThan N``: the images past the N most recently pushed of the selection.
- ``sinceImagePushed`` / ``sinceImagePulled`` / ``sinceImageTransitioned`` N days: images whose
  push / last recorded pull (or push, if never pulled) / archival is more than N days ago. The user
  guide's example leaves an image pushed exactly one day ago alone under a one-day rule: strictly
  older.
- "An image is expired or transitioned by at most one rule"; an image a higher-priority rule
  selects is never acted on by a lower one, even if that higher rule kept it; and a lower count
  rule still counts images an earlier rule selected ("as if they haven't been expired").
- ``expire`` deletes the image; ``transition`` to ``archive`` archives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DAY = 86400.0


@dataclass
class RefImage:
    """What the rules read of one image: times in epoch seconds."""

    digest: str
    tags: list[str]
    pushed: float
    archived: bool = False
    pulled: float | None = None
    archived_at: float | None = None


@dataclass
class Outcome:
    #: digest -> (action, rulePriority), in no particular order
    acted: dict[str, tuple[str, int]] = field(default_factory=dict)


def pattern_matches(pattern: str, tag: str) -> bool:
    regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, tag, re.DOTALL) is not None


def rule_selects(selection: dict[str, Any], image: RefImage) -> bool:
    wanted_class = selection.get("storageClass", "standard")
    if (wanted_class == "archive") != image.archived:
        return False
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return len(image.tags) == 0
    for prefix in selection.get("tagPrefixList", []):
        if not any(tag.startswith(prefix) for tag in image.tags):
            return False
    for pattern in selection.get("tagPatternList", []):
        if not any(pattern_matches(pattern, tag) for tag in image.tags):
            return False
    return True


def moment(count_type: str, image: RefImage) -> float:
    if count_type == "sinceImagePushed":
        return image.pushed
    if count_type == "sinceImagePulled":
        return image.pulled if image.pulled is not None else image.pushed
    assert count_type == "sinceImageTransitioned"
    assert image.archived_at is not None
    return image.archived_at


def rule_marks(selection: dict[str, Any], selected: list[RefImage], now: float) -> list[RefImage]:
    count = selection["countNumber"]
    if selection["countType"] == "imageCountMoreThan":
        newest_first = sorted(selected, key=lambda i: i.pushed, reverse=True)
        return newest_first[count:]
    assert selection["countUnit"] == "days"
    return [i for i in selected if now - moment(selection["countType"], i) > count * DAY]


def evaluate(policy: dict[str, Any], images: list[RefImage], now: float) -> Outcome:
    """What one evaluation of ``policy`` at ``now`` does to ``images``."""
    outcome = Outcome()
    seen: set[str] = set()  # images a higher-priority rule selected
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        selected = [i for i in images if rule_selects(selection, i)]
        for image in rule_marks(selection, selected, now):
            if image.digest not in seen:
                outcome.acted[image.digest] = (rule["action"]["type"], rule["rulePriority"])
        seen.update(i.digest for i in selected)
    return outcome
