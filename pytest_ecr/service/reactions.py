"""Cross-domain reactions: what a change in one domain sets off in others, without imports.

The images module announces what happened to an image (:func:`notify`); scanning, signing,
replication, archive, referrers and lifecycle subscribe to the topics they react to
(:func:`subscribe`, at import). So the module that stores an image knows nothing of the modules
that react to it, and none of them imports the others back. Subscribers of a topic run in
subscription order, which is the catalog's (alphabetical) import order of the domain modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

#: a new image was stored: (ctx, repo, image)
IMAGE_PUSHED = "image pushed"
#: an archived (or restoring) image was pushed again: (ctx, repo, image)
ARCHIVED_IMAGE_PUSHED = "archived image pushed"
#: a PutImage (or the fake's own push) stored ``image`` with ``tag``: (ctx, repo, image, tag)
IMAGE_STORED = "image stored"
#: BatchDeleteImage ran: (ctx, repo, image_ids, deleted)
IMAGES_DELETED = "images deleted"
#: an image was deleted or archived, and its referrers should follow: (ctx, repo, digest)
SUBJECT_GONE = "subject gone"
#: an image became ACTIVE again after a restore: (ctx, repo, image)
IMAGE_ACTIVATED = "image activated"
#: an image's state changed in a way no other topic names (a restore began, a pull was
#: recorded): (ctx, repo)
REPOSITORY_CHANGED = "repository changed"
#: a pull of a repository is about to be served; a subscriber may fetch what the repository
#: lacks from elsewhere and answer (ctx, repository_name, registry_id, image_ids) -> answer
PULL_REQUESTED = "pull requested"

F = TypeVar("F", bound=Callable[..., Any])

_SUBSCRIBERS: dict[str, list[Callable[..., Any]]] = {}


def subscribe(*topics: str) -> Callable[[F], F]:
    """Decorate a function to be called with each notification of ``topics``."""

    def register(func: F) -> F:
        for topic in topics:
            known = _SUBSCRIBERS.setdefault(topic, [])
            # A module executed again (pytester restoring sys.modules) replaces its subscription.
            known[:] = [
                f for f in known if (f.__module__, f.__qualname__) != (func.__module__, func.__qualname__)
            ]
            known.append(func)
        return func

    return register


def notify(topic: str, *args: Any) -> None:
    for subscriber in _SUBSCRIBERS.get(topic, ()):
        subscriber(*args)


def ask(topic: str, *args: Any) -> Any:
    """The first answer other than None of a subscriber of ``topic``, or None."""
    for subscriber in _SUBSCRIBERS.get(topic, ()):
        answer = subscriber(*args)
        if answer is not None:
            return answer
    return None
