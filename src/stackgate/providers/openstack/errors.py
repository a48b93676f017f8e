"""SDK and keystoneauth exceptions translated once, at the adapter boundary, into the
ProviderError tree (reference/openstack.md 7, Errors).

What the worker does with each: ProviderUnavailable (502/503/504, connection failures,
timeouts, authentication failures) is retried with backoff until the operation's deadline;
ProviderNotFound is drift; anything else fails the operation with the cloud's own message
(`exc.details`: Nova's "Cannot 'stop' instance ... while it is in vm_state stopped").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from keystoneauth1 import exceptions as ks_exc

from openstack import exceptions as sdk_exc
from stackgate.providers.base import (
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderTimeout,
    ProviderUnavailable,
)

_RETRYABLE = {408, 429, 502, 503, 504}


def _message(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    if isinstance(details, str) and details:
        return details
    return str(getattr(exc, "message", None) or exc) or type(exc).__name__


def translate_http(status: int | None, message: str) -> ProviderError:
    """The ProviderError for an HTTP error status from any OpenStack service."""
    if status == 404:
        return ProviderNotFound(message, status_code=404)
    if status == 409:
        return ProviderConflict(message, status_code=409)
    if status == 400:
        return ProviderBadRequest(message, status_code=400)
    # Nova's over-quota is 403, Cinder's 413; a policy refusal is 403 too.
    if status in (403, 413):
        return ProviderForbidden(message, status_code=status)
    if status == 401:
        return ProviderUnavailable(f"the cloud refused our credentials: {message}", status_code=401)
    if status in _RETRYABLE:
        if status in (408, 504):
            return ProviderTimeout(message, status_code=status)
        return ProviderUnavailable(message, status_code=status)
    if status is not None and 400 <= status < 500:
        return ProviderBadRequest(message, status_code=status)
    return ProviderError(message, status_code=status or 500)


def translate(exc: BaseException) -> ProviderError:
    """The ProviderError an SDK or keystoneauth exception stands for."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, sdk_exc.HttpException):
        return translate_http(exc.status_code, _message(exc))
    if isinstance(exc, ks_exc.HttpError):
        return translate_http(exc.http_status, _message(exc))
    if isinstance(exc, (ks_exc.ConnectTimeout, ks_exc.ConnectionError)) and "timed out" in str(exc):
        return ProviderTimeout(f"the cloud did not answer in time: {exc}", status_code=504)
    if isinstance(exc, ks_exc.ConnectTimeout):
        return ProviderTimeout(f"the cloud did not answer in time: {exc}", status_code=504)
    if isinstance(exc, (ks_exc.ConnectionError, ks_exc.RetriableConnectionFailure)):
        return ProviderUnavailable(f"the cloud cannot be reached: {exc}", status_code=503)
    if isinstance(exc, (ks_exc.ClientException, sdk_exc.SDKException)):
        # Catalog, discovery and configuration problems: nothing a retry of the same
        # request fixes, but the cloud (or our access to it) is what is broken.
        return ProviderUnavailable(f"{type(exc).__name__}: {_message(exc)}", status_code=503)
    if isinstance(exc, OSError):
        return ProviderUnavailable(f"the cloud cannot be reached: {exc}", status_code=503)
    raise exc


@contextmanager
def translated() -> Iterator[None]:
    """Run SDK calls inside; what they raise leaves as a ProviderError."""
    try:
        yield
    except (sdk_exc.SDKException, ks_exc.ClientException, OSError) as exc:
        raise translate(exc) from exc
