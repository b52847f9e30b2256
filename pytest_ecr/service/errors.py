"""ECR errors, named exactly as the error shapes of botocore's ECR model.

The protocol layer turns an :class:`ECRError` into ``{"__type": <class name>, "message": ...}`` with
HTTP 400 (500 for ServerException), plus any extra members the error shape declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar


class ECRError(Exception):
    status: ClassVar[int] = 400

    def __init__(self, message: str, **members: Any) -> None:
        super().__init__(message)
        self.message = message
        self.members = members

    @property
    def code(self) -> str:
        return type(self).__name__


def invalid_parameter_message(field: str, constraint: str) -> str:
    """ECR's legacy validator wording (spec §1.3); the constraint is wrapped in single quotes."""
    return f"Invalid parameter at '{field}' failed to satisfy constraint: '{constraint}'"


def regex_constraint(regex: str) -> str:
    """The constraint a value failing a pattern is reported with: ``must satisfy regular
    expression '<regex>'`` (jenkins-x/jx#1344, boto3#3191)."""
    return f"must satisfy regular expression '{regex}'"


def list_member_constraint(constraint: str) -> str:
    """A constraint an item of a list fails, worded ``Member must satisfy constraint: [Member
    must satisfy regular expression pattern: [0-9]{12}]`` (aws-actions/amazon-ecr-login#225)."""
    return f"Member must satisfy constraint: [{constraint}]"


#: The repository name pattern ECR quotes, from 2017 (jenkins-x/jx#1344) to late 2024
#: (boto3#3191, hashicorp/terraform-provider-aws#40309): not the model's current pattern.
QUOTED_REPOSITORY_NAME_PATTERN = "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"


class InvalidParameterException(ECRError):
    @classmethod
    def at(cls, field: str, constraint: str) -> InvalidParameterException:
        return cls(invalid_parameter_message(field, constraint))

    @classmethod
    def pattern(cls, field: str, regex: str) -> InvalidParameterException:
        return cls.at(field, regex_constraint(regex))


class ValidationException(ECRError):
    pass


class SerializationException(ECRError):
    """Not modelled: what AWS JSON services answer for a body they cannot read."""


class UnknownOperationException(ECRError):
    """Not modelled: an X-Amz-Target the service does not have."""


class ServerException(ECRError):
    status = 500


class RepositoryNotFoundException(ECRError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> RepositoryNotFoundException:
        return cls(
            f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'"
        )


class RepositoryAlreadyExistsException(ECRError):
    pass


class RepositoryNotEmptyException(ECRError):
    pass


class RepositoryPolicyNotFoundException(ECRError):
    pass


class InvalidTagParameterException(ECRError):
    pass


class TooManyTagsException(ECRError):
    pass


class LimitExceededException(ECRError):
    pass


def image_id_text(image_id: Mapping[str, str | None]) -> str:
    """An image id as ECR's messages render it, the missing half quoted like the other:
    ``{imageDigest:'null', imageTag:'latest'}`` (hashicorp/terraform-provider-aws#35268)."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    return f"{{imageDigest:'{digest or 'null'}', imageTag:'{tag or 'null'}'}}"


_ImageError = TypeVar("_ImageError", bound="ImageIdError")


class ImageIdError(ECRError):
    """An error whose message names an image id and its repository."""

    #: the message, with ``{image_id}`` and ``{repository}`` to fill in
    about: ClassVar[str]

    @classmethod
    def for_image(
        cls: type[_ImageError], image_id: Mapping[str, str | None], name: str, registry_id: str
    ) -> _ImageError:
        repository = f"the repository with name '{name}' in the registry with id '{registry_id}'"
        return cls(cls.about.format(image_id=image_id_text(image_id), repository=repository))


class ImageNotFoundException(ImageIdError):
    about = "The image with imageId {image_id} does not exist within {repository}"


class ImageAlreadyExistsException(ECRError):
    pass


class ImageTagAlreadyExistsException(ECRError):
    pass


class ImageDigestDoesNotMatchException(ECRError):
    pass


class LayersNotFoundException(ECRError):
    pass


class ReferencedImagesNotFoundException(ECRError):
    pass


class NotImplementedByFake(ECRError):
    """Not an ECR error: the operation exists in ECR but pytest-ecr does not answer it yet."""


class ScanNotFoundException(ImageIdError):
    about = "Image scan does not exist for the image with '{image_id}' in {repository}"


class ImageArchivedException(ECRError):
    pass


class UnsupportedImageTypeException(ECRError):
    pass


class UploadNotFoundException(ECRError):
    pass


class InvalidLayerPartException(ECRError):
    """Carries registryId, repositoryName, uploadId and lastValidByteReceived."""


class EmptyUploadException(ECRError):
    pass


class LayerPartTooSmallException(ECRError):
    pass


class InvalidLayerException(ECRError):
    pass


class LayerAlreadyExistsException(ECRError):
    pass


class LayerInaccessibleException(ECRError):
    pass


class ImageStorageClassUpdateNotSupportedException(ECRError):
    pass


class LifecyclePolicyNotFoundException(ECRError):
    @classmethod
    def for_repository(cls, name: str, registry_id: str) -> LifecyclePolicyNotFoundException:
        return cls(
            f"Lifecycle policy does not exist for the repository with name '{name}' "
            f"in the registry with id '{registry_id}'"
        )


class LifecyclePolicyPreviewInProgressException(ECRError):
    pass


class LifecyclePolicyPreviewNotFoundException(ECRError):
    pass


class RegistryPolicyNotFoundException(ECRError):
    pass


class ReplicationBackfillInProgressException(ECRError):
    pass


class ReplicationBackfillNotFoundException(ECRError):
    pass


class ReplicationBackfillInvalidStatusException(ECRError):
    pass


class SigningConfigurationNotFoundException(ECRError):
    pass


class ExclusionAlreadyExistsException(ECRError):
    pass


class ExclusionNotFoundException(ECRError):
    pass


class TemplateAlreadyExistsException(ECRError):
    pass


class TemplateNotFoundException(ECRError):
    pass


class PullThroughCacheRuleAlreadyExistsException(ECRError):
    pass


class PullThroughCacheRuleNotFoundException(ECRError):
    pass


class SecretNotFoundException(ECRError):
    pass


class UnsupportedUpstreamRegistryException(ECRError):
    @classmethod
    def invalid_url(cls, url: str) -> UnsupportedUpstreamRegistryException:
        """An upstream URL ECR cannot cache from (goharbor/harbor#20174)."""
        return cls(
            f"The upstream registry URL {url} is invalid. Specify a valid upstream registry URL and try again"
        )

    @classmethod
    def requires_authentication(cls) -> UnsupportedUpstreamRegistryException:
        """An upstream that needs credentials, given no credentialArn: the text recorded in
        aws-controllers-k8s/community#2589, which ends there."""
        return cls(
            "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN"
        )
