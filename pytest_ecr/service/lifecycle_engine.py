"""Lifecycle policy evaluation (spec §5.4): which images the rules act on, and with what.

Pure planning over a snapshot of a repository, so a preview and a run share every decision:

1. Candidates: images not referenced by a manifest list / index still in the repository (those
   children are neither acted on nor counted), and not being restored (ACTIVATING; a restore is
   a transition already under way). Storage class: standard for ACTIVE, archive for ARCHIVED.
2. Selection per rule: same storage class, and tagStatus untagged (no tags), any, or tagged with
   *every* prefix (pattern) of the list matching some tag of the image.
3. Marking per rule, independent of other rules: imageCountMoreThan N marks all but the N most
   recently pushed selected images; since* N marks images whose time is strictly older than N days
   (pushed: lastActivatedAt after a restore, else imagePushedAt; pulled: the last pull since the
   last restore, else lastActivatedAt, else imagePushedAt; transitioned: lastArchivedAt).
4. Application in ascending priority: a marked image no earlier rule selected gets the rule's
   action; then every image the rule *selected* is claimed, marked or not. So an image is acted on
   by at most one rule, and lower-priority count rules still count claimed images.

Expiring a manifest list frees its children, which become candidates in their own right. One
evaluation repeats these passes until a pass changes nothing, so evaluating again at the same
moment is a no-op and a preview lists everything the evaluation then does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from ..store import Image
from .lifecycle_rules import Rule
from .wildcards import wildcard_match

DAY = 86400.0


class Candidate(NamedTuple):
    """What the rules see of one image (a tuple: a policy over 100,000 images builds 100,000)."""

    digest: str
    tags: tuple[str, ...]
    status: str  # ACTIVE, ARCHIVED or ACTIVATING
    pushed_at: float
    seq: int
    children: tuple[str, ...]
    last_pulled_at: float | None
    last_archived_at: float | None
    last_activated_at: float | None

    @classmethod
    def of(cls, image: Image) -> Candidate:
        return cls(
            image.digest,
            tuple(image.tags),
            image.status,
            image.pushed_at,
            image.seq,
            image.children,
            image.last_pulled_at,
            image.last_archived_at,
            image.last_activated_at,
        )

    @property
    def storage_class(self) -> str:
        return "archive" if self.status == "ARCHIVED" else "standard"

    @property
    def pushed(self) -> float:
        return self.last_activated_at if self.last_activated_at is not None else self.pushed_at

    @property
    def pulled(self) -> float:
        pulled, activated = self.last_pulled_at, self.last_activated_at
        if pulled is not None and (activated is None or pulled >= activated):
            return pulled
        return self.pushed

    @property
    def archived(self) -> float:
        return self.last_archived_at if self.last_archived_at is not None else self.pushed


class Decision(NamedTuple):
    """One action of an evaluation: the image as it was when the action was decided."""

    image: Candidate
    rule: Rule

    @property
    def action(self) -> str:
        return self.rule.action


def selects(rule: Rule, image: Candidate) -> bool:
    if image.storage_class != rule.storage_class:
        return False
    if rule.tag_status == "untagged":
        return not image.tags
    if rule.tag_status == "any":
        return True
    if rule.tag_prefixes:
        return all(any(t.startswith(p) for t in image.tags) for p in rule.tag_prefixes)
    return all(any(wildcard_match(p, t) for t in image.tags) for p in rule.tag_patterns)


def _newest_first(image: Candidate) -> tuple[float, int]:
    # Equal push times: the image stored later counts as the newer (the "all images" example B).
    return (-image.pushed, -image.seq)


def _moment(count_type: str, image: Candidate) -> float:
    if count_type == "sinceImagePushed":
        return image.pushed
    if count_type == "sinceImagePulled":
        return image.pulled
    return image.archived


def marks(rule: Rule, selected: list[Candidate], now: float) -> list[Candidate]:
    """The selected images the rule would act on, oldest first."""
    if rule.count_type == "imageCountMoreThan":
        marked = sorted(selected, key=_newest_first)[rule.count_number :]
    else:
        limit = now - rule.count_number * DAY
        marked = [i for i in selected if _moment(rule.count_type, i) < limit]
    return sorted(marked, key=lambda i: (i.pushed, i.seq))


def candidates(images: dict[str, Candidate]) -> list[Candidate]:
    referenced = {child for image in images.values() for child in image.children}
    return [i for i in images.values() if i.digest not in referenced and i.status != "ACTIVATING"]


def one_pass(images: dict[str, Candidate], rules: Iterable[Rule], now: float) -> list[Decision]:
    pool = candidates(images)
    claimed: set[str] = set()
    decisions: list[Decision] = []
    for rule in sorted(rules, key=lambda r: r.priority):
        selected = [i for i in pool if selects(rule, i)]
        decisions.extend(Decision(i, rule) for i in marks(rule, selected, now) if i.digest not in claimed)
        claimed.update(i.digest for i in selected)
    return decisions


def _apply(images: dict[str, Candidate], decision: Decision, now: float) -> None:
    """What the action does to the snapshot (as images.py and archive.py do to the store)."""
    digest = decision.image.digest
    if decision.action == "expire":
        del images[digest]
        return
    images[digest] = images[digest]._replace(status="ARCHIVED", last_archived_at=now)
    # The list's children are left as they are here (archive.py moves them in the store): nothing
    # in this evaluation can read their status. A child still referenced is no candidate, and the
    # list stays referencing it: an archived image is expired only by a `storageClass: archive`
    # rule, which takes `sinceImageTransitioned` of at least 90 days, and since* rules mark only
    # images strictly older than the limit, never one archived at this evaluation's moment.
    # (tools/mutants.py found every mutant of the loop that tracked them here to survive.)


def next_threshold(images: Iterable[Image], rules: list[Rule], now: float) -> float:
    """The earliest moment, at or after ``now``, once past which a since* rule marks an image it
    does not mark at ``now`` (math.inf: none ever will). Ages only grow, and count rules depend on
    the images alone, so with the repository unchanged an evaluation finding nothing at ``now``
    finds nothing until then."""
    spans = [(r.count_type, r.count_number * DAY) for r in rules if r.count_type != "imageCountMoreThan"]
    found = math.inf
    if spans:
        for image in images:
            candidate = Candidate.of(image)
            for count_type, span in spans:
                moment = _moment(count_type, candidate) + span
                if now <= moment < found:
                    found = moment
    return found


def plan(images: Iterable[Image], rules: list[Rule], now: float) -> list[Decision]:
    """Everything one evaluation at ``now`` does, in the order it does it."""
    snapshot = {image.digest: Candidate.of(image) for image in images}
    decisions: list[Decision] = []
    while True:
        found = one_pass(snapshot, rules, now)
        if not found:
            return decisions
        for decision in found:
            _apply(snapshot, decision, now)
        decisions.extend(found)
