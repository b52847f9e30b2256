"""The EventBridge events the fake's ECR would have sent (``ecr.events``).

ECR sends service events to EventBridge with ``source`` ``aws.ecr`` on a best-effort basis. Where
the formats come from (every detail field below is one of these sources' fields):

* the ECR User Guide, "Amazon ECR events and EventBridge" (``ecr-eventbridge.html``; its source
  ``doc_source/ecr-eventbridge.md`` in awsdocs/amazon-ecr-user-guide and the current page's
  Markdown): sample events for ``ECR Image Action`` (PUSH, DELETE, UPDATE_STORAGE_CLASS to ARCHIVE
  and to STANDARD), ``ECR Referrer Action`` (a referrer's restore), ``ECR Image Scan`` (a basic
  scan completed), ``ECR Scan Resource Change`` (SCAN_FREQUENCY_CHANGE), ``ECR Replication Action``
  (SUCCESS and FAILED) and ``ECR Pull Through Cache Action`` (SUCCESS);
* the EventBridge events reference, "Amazon Elastic Container Registry events" (``events-ref-ecr``):
  the list of detail-types and the delivery type (best effort);
* the EventBridge schema registry's ``aws.ecr@...`` schemas, as the AWS CDK's generated event
  patterns (``@aws-cdk/mixins-preview`` ``aws_ecr.events``) list their fields.

What a sample does not settle is chosen, and listed in docs/events.rst ("Choices").

Recording costs little: an event is kept as a tuple when it happens and only turned into the
JSON-ready dict EventBridge delivers (with its ``id``) when the log is read, so seeding 100,000
images pays for one tuple each.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

SOURCE = "aws.ecr"
IMAGE_ACTION = "ECR Image Action"
REFERRER_ACTION = "ECR Referrer Action"
IMAGE_SCAN = "ECR Image Scan"
SCAN_RESOURCE_CHANGE = "ECR Scan Resource Change"
REPLICATION_ACTION = "ECR Replication Action"
PULL_THROUGH_CACHE_ACTION = "ECR Pull Through Cache Action"
DETAIL_TYPES = (
    IMAGE_ACTION,
    REFERRER_ACTION,
    IMAGE_SCAN,
    SCAN_RESOURCE_CHANGE,
    REPLICATION_ACTION,
    PULL_THROUGH_CACHE_ACTION,
)

Event = dict[str, Any]


def event_time(at: float) -> str:
    """EventBridge's ``time``: ISO 8601 UTC to the second (``2024-05-08T20:44:54Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(at)))


def instant(at: float) -> str:
    """A timestamp inside ``detail`` (``last-activated-at``): ISO 8601 UTC with the milliseconds
    the fake keeps, trailing zeros dropped, as the guide's sample shows (``...T19:13:02.74Z``)."""
    millis = round(at * 1000)
    whole, fraction = divmod(millis, 1000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return text + (f".{fraction:03d}".rstrip("0") if fraction else "") + "Z"


# -- the log --------------------------------------------------------------------------------------


def _image_action(action: str, repository: str, digest: str, tag: str | None) -> dict[str, Any]:
    """The detail of ``ECR Image Action`` for a push (PUSH) or a deletion (DELETE); ``image-tag``
    only when the push or the deleted image id named a tag."""
    detail = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": action,
    }
    if tag is not None:
        detail["image-tag"] = tag
    return detail


class EventLog:
    """Every event the fake's ECR would have sent, in time order: a sequence of the dicts
    EventBridge delivers (``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``,
    ``region``, ``resources``, ``detail``).

    Reading it first applies the work the clock has reached (``settle``, set by the fake), so that
    a scan nobody looked at still has its event once it is complete.
    """

    def __init__(self) -> None:
        #: events not yet built, in the order they happened. An image action is a flat tuple of
        #: strings (the garbage collector stops tracking those, so 100,000 seeded pushes cost it
        #: nothing): (at, "PUSH" or "DELETE", account, region, repository, digest, tag); any other
        #: event is (at, "", detail-type, account, region, resources, detail).
        self._pending: list[tuple[Any, ...]] = []
        self._events: list[Event] = []
        self._times: list[float] = []
        #: applies the work that is due (the fake sets it); None: nothing to apply
        self.settle: Callable[[], None] | None = None
        #: held while the log is read or cleared (the fake's lock: events are recorded under it)
        self.guard: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        #: after a restore: the memo the snapshot's built events are copied through on first read
        self._shared: dict[int, Any] | None = None

    def export(self) -> tuple[Any, ...]:
        """The log's raw state, for a snapshot (:mod:`pytest_ecr.snapshot`), which deep-copies it."""
        self._unshare()
        return (tuple(self._pending), tuple(self._events), tuple(self._times))

    def adopt(self, state: tuple[Any, ...], memo: dict[int, Any]) -> None:
        """Take a snapshot's events (:meth:`export`): pending image actions are flat tuples of
        strings, shared; the other pending events are copied now; built events on first read."""
        pending, events, times = state
        self._pending = [event if event[1] else copy.deepcopy(event, memo) for event in pending]
        self._events, self._times = list(events), list(times)
        self._shared = memo if events else None

    def _unshare(self) -> None:
        if self._shared is not None:
            self._events = [copy.deepcopy(event, self._shared) for event in self._events]
            self._shared = None

    def image_action(
        self, at: float, action: str, account: str, region: str, repository: str, digest: str, tag: str | None
    ) -> None:
        """Record an ``ECR Image Action`` (PUSH or DELETE) that happened at virtual time ``at``;
        ``resources`` is empty, as in the ECR User Guide's samples."""
        self._pending.append((at, action, account, region, repository, digest, tag))

    def emit(
        self,
        at: float,
        detail_type: str,
        account: str,
        region: str,
        resources: list[str],
        detail: dict[str, Any],
    ) -> None:
        """Record any other event that happened at virtual time ``at``."""
        self._pending.append((at, "", detail_type, account, region, resources, detail))

    def _read(self) -> list[Event]:
        with self.guard:
            if self.settle is not None:
                self.settle()
            self._unshare()
            if self._pending:
                pending, self._pending = self._pending, []
                events, times = self._events, self._times
                for at, action, *rest in pending:
                    if action:
                        account, region, repository, digest, tag = rest
                        detail_type, resources = IMAGE_ACTION, []
                        detail = _image_action(action, repository, digest, tag)
                    else:
                        detail_type, account, region, resources, detail = rest
                    event = {
                        "version": "0",
                        "id": str(uuid.uuid4()),
                        "detail-type": detail_type,
                        "source": SOURCE,
                        "account": account,
                        "time": event_time(at),
                        "region": region,
                        "resources": resources,
                        "detail": detail,
                    }
                    if not times or at >= times[-1]:
                        events.append(event)
                        times.append(at)
                    else:  # work applied late (a restore finished before the last event): keep time order
                        where = bisect.bisect_right(times, at)
                        events.insert(where, event)
                        times.insert(where, at)
            return self._events

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self._read()))

    def __len__(self) -> int:
        return len(self._read())

    def __getitem__(self, index: int) -> Event:
        return self._read()[index]

    def __repr__(self) -> str:
        return f"EventLog({[e['detail-type'] for e in self._read()]})"

    def filter(self, detail_type: str | None = None, **detail: Any) -> list[Event]:
        """The events of ``detail_type`` (any, if None) whose ``detail`` has every given field.
        Keyword names are the detail's names with ``_`` for ``-`` (``image_tag="v1"`` matches
        ``"image-tag": "v1"``); ``None`` matches a field the event does not have. A
        ``detail_type`` ECR does not send is a ValueError, never an empty match."""
        __tracebackhide__ = True
        if detail_type is not None and detail_type not in DETAIL_TYPES:
            from .names import did_you_mean

            raise ValueError(
                f"ECR sends no {detail_type!r} events{did_you_mean(detail_type, DETAIL_TYPES)} "
                f"Detail types: {', '.join(DETAIL_TYPES)}"
            )
        wanted = [(name.replace("_", "-"), value) for name, value in detail.items()]
        return [
            event
            for event in self._read()
            if (detail_type is None or event["detail-type"] == detail_type)
            and all(event["detail"].get(name) == value for name, value in wanted)
        ]

    def clear(self) -> None:
        """Forget the events so far (those due by now included)."""
        with self.guard:
            if self.settle is not None:
                self.settle()
            self._shared = None
            self._pending.clear()
            self._events.clear()
            self._times.clear()
