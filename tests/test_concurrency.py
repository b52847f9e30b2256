"""Many threads on one fake: pushes (helper and PutImage), retags and deletes at the same time."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import image_manifest

REPO = "busy"
TAGS = [f"t{i}" for i in range(8)]
THREADS = 8
TASKS = 240


def test_concurrent_pushes_retags_and_deletes(ecr):
    ecr.create_repository(REPO)
    # Manifests (and their blobs) are built up front: the helper writes blobs straight into the store.
    manifests = [image_manifest(ecr, REPO, label=f"image-{i}", layer_sizes=(100 + i,)) for i in range(24)]
    pushed: set[str] = set()  # digests a push, PutImage or retag stored successfully
    deleted: set[str] = set()  # digests a BatchDeleteImage reported deleted
    record = threading.Lock()
    local = threading.local()

    def client() -> Any:
        if not hasattr(local, "client"):
            local.client = ecr.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        return local.client

    def task(i: int) -> str:
        rng = random.Random(i)
        action = rng.choice(["push", "put", "put", "retag", "delete"])
        tag = rng.choice([*TAGS, None])
        try:
            if action == "push":
                digest = ecr.push_image(REPO, tag).digest
                with record:
                    pushed.add(digest)
            elif action in ("put", "retag"):
                if action == "retag":
                    images = client().list_images(repositoryName=REPO)["imageIds"]
                    if not images:
                        return "nothing to retag"
                    source = client().batch_get_image(
                        repositoryName=REPO, imageIds=[{"imageDigest": rng.choice(images)["imageDigest"]}]
                    )["images"]
                    if not source:
                        return "retag source deleted meanwhile"
                    manifest = source[0]["imageManifest"]
                else:
                    manifest = rng.choice(manifests)
                kwargs = {"imageTag": tag} if tag else {}
                image = client().put_image(repositoryName=REPO, imageManifest=manifest, **kwargs)["image"]
                with record:
                    pushed.add(image["imageId"]["imageDigest"])
            else:
                images = client().list_images(repositoryName=REPO)["imageIds"]
                if not images:
                    return "nothing to delete"
                victim = rng.choice(images)["imageDigest"]
                answer = client().batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": victim}])
                with record:
                    deleted.update(d["imageDigest"] for d in answer["imageIds"])
            return action
        except ClientError as err:
            # Races the API allows: the tag already on that image, an image deleted in between...
            return err.response["Error"]["Code"]

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(task, range(TASKS)))
    assert outcomes.count("push") + outcomes.count("put") > 50, outcomes

    repo = ecr.repository(REPO)
    client_ = ecr.client()
    # No lost images: every successful push is there unless a deletion of it succeeded.
    assert pushed - deleted <= set(repo.images)
    # Each tag names exactly one image, in the index and in the images themselves.
    details = [d for page in _pages(client_, "describe_images") for d in page["imageDetails"]]
    listed_tags = [t for d in details for t in d.get("imageTags", [])]
    assert len(listed_tags) == len(set(listed_tags))
    assert sorted(listed_tags) == sorted(repo.tag_index)
    for tag, digest in repo.tag_index.items():
        assert [d for d, image in repo.images.items() if tag in image.tags] == [digest]
    # Pages are consistent: small pages add up to the whole, without duplicates.
    assert sorted(d["imageDigest"] for d in details) == sorted(repo.images)
    listed = [i for page in _pages(client_, "list_images") for i in page["imageIds"]]
    assert len({(i["imageDigest"], i.get("imageTag")) for i in listed}) == len(listed)
    whole = client_.list_images(repositoryName=REPO, maxResults=1000)["imageIds"]
    assert sorted(map(_key, listed)) == sorted(map(_key, whole))
    assert {i["imageDigest"] for i in listed} == set(repo.images)
    assert ecr.problems() == []


def _key(image_id: dict[str, str]) -> tuple[str, str]:
    return image_id["imageDigest"], image_id.get("imageTag", "")


def _pages(client: Any, method: str) -> list[dict[str, Any]]:
    pages = []
    kwargs: dict[str, Any] = {"repositoryName": REPO, "maxResults": 3}
    while True:
        page = getattr(client, method)(**kwargs)
        pages.append(page)
        if "nextToken" not in page:
            return pages
        kwargs["nextToken"] = page["nextToken"]


def test_concurrent_clients_on_separate_repositories(ecr):
    """Threads each creating, filling and deleting their own repository never see each other."""

    def work(i: int) -> int:
        client = ecr.client()
        name = f"repo-{i}"
        client.create_repository(repositoryName=name)
        for n in range(5):
            ecr.push_image(name, f"v{n}")
        count = len(client.list_images(repositoryName=name)["imageIds"])
        client.delete_repository(repositoryName=name, force=True)
        return count

    with ThreadPoolExecutor(THREADS) as pool:
        assert list(pool.map(work, range(32))) == [5] * 32
    assert ecr.client().describe_repositories()["repositories"] == []
