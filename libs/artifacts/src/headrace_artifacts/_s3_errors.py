"""Translating minio and urllib3 failures into the store's errors, at the S3 store's edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import urllib3.exceptions
from minio.error import InvalidResponseError, S3Error, ServerError

from .errors import ArtifactNotFound, ArtifactStoreError, ArtifactStoreUnavailable

__all__ = ["NOT_FOUND_CODES", "translate_s3_errors"]

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject", "NotFound"})
_RETRYABLE_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "XMinioServerNotInitialized",
    }
)
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AllAccessDisabled",
    }
)


@contextmanager
def translate_s3_errors(uri: str, endpoint: str) -> Iterator[None]:
    """Run a block of S3 calls about ``uri``; raise `ArtifactStoreError` subclasses instead."""
    try:
        yield
    except S3Error as error:
        raise from_s3_error(error, uri, endpoint) from error
    except ServerError as error:
        raise ArtifactStoreUnavailable(
            f"S3 endpoint {endpoint} answered HTTP {error.status_code} for {uri}; retry later"
        ) from error
    except InvalidResponseError as error:
        raise ArtifactStoreUnavailable(
            f"S3 endpoint {endpoint} sent a response that is not S3 for {uri} ({error}); "
            "check s3_endpoint points at the S3 API, and retry"
        ) from error
    except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as error:
        raise ArtifactStoreUnavailable(
            f"S3 endpoint {endpoint} did not answer for {uri} ({type(error).__name__}: {error}); "
            "check s3_endpoint and that the server is up, then retry"
        ) from error


def from_s3_error(error: S3Error, uri: str, endpoint: str) -> ArtifactStoreError:
    """The store error for an S3 error response."""
    code = error.code or ""
    if code in NOT_FOUND_CODES:
        detail = f"bucket {error.bucket_name!r} does not exist" if code == "NoSuchBucket" else ""
        return ArtifactNotFound(uri, detail=detail)
    status = getattr(error.response, "status", 0) or 0
    if code in _RETRYABLE_CODES or status >= 500:
        return ArtifactStoreUnavailable(
            f"S3 endpoint {endpoint} failed on {uri} ({code}: {error.message}); retry later"
        )
    if code in _ACCESS_CODES:
        return ArtifactStoreError(
            f"S3 endpoint {endpoint} refused access to {uri} ({code}: {error.message}): check "
            "the S3 access key, secret key and region, and that the identity may read and write "
            "the bucket"
        )
    return ArtifactStoreError(
        f"S3 request for {uri} failed at {endpoint} ({code}: {error.message})"
    )
