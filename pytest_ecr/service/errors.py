"""ECR errors, named exactly as the error shapes of botocore's ECR model.

The protocol layer turns an :class:`ECRError` into ``{"__type": <class name>, "message": ...}`` with
HTTP 400 (500 for ServerException), plus any extra members the error shape declares.
"""

from __future__ import annotations

from typing import Any, ClassVar


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


class InvalidParameterException(ECRError):
    @classmethod
    def at(cls, field: str, constraint: str) -> InvalidParameterException:
        return cls(invalid_parameter_message(field, constraint))


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


class ImageNotFoundException(ECRError):
    pass


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


class ScanNotFoundException(ECRError):
    pass


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
    pass
