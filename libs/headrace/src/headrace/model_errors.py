"""What the client's model registry calls raise (all :class:`~headrace.ClientError`s).

::

    ModelRegistryError          root of the registry's errors
    ├── ModelNotFound           no such model, version or alias (also a LookupError)
    ├── InvalidModelRequest     a name, URI or condition refused before anything was sent
    │                           (also a ValueError); ``column`` for a condition's position
    ├── RegistrationRejectedError  the metadata service refused a registration (ValueError)
    └── PromotionRejectedError  the metadata service refused a promotion (also a
                                ValueError); ``reason``, ``current_version``
"""

from __future__ import annotations

from .run_errors import ClientError

__all__ = [
    "InvalidModelRequest",
    "ModelNotFound",
    "ModelRegistryError",
    "PromotionRejectedError",
    "RegistrationRejectedError",
]


class ModelRegistryError(ClientError):
    pass


class ModelNotFound(ModelRegistryError, LookupError):
    pass


class InvalidModelRequest(ModelRegistryError, ValueError):
    def __init__(self, message: str, *, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


class RegistrationRejectedError(ModelRegistryError, ValueError):
    def __init__(self, model_name: str, reason: str) -> None:
        self.model_name = model_name
        self.reason = reason
        super().__init__(f"registration of model {model_name!r} rejected: {reason}")


class PromotionRejectedError(ModelRegistryError, ValueError):
    def __init__(
        self, model_name: str, version: int, alias: str, reason: str, current: int | None
    ) -> None:
        self.model_name = model_name
        self.version = version
        self.alias = alias
        self.reason = reason
        self.current_version = current
        where = "points at no version" if current is None else f"still points at {current}"
        super().__init__(
            f"promotion of {model_name!r} version {version} to {alias!r} rejected: {reason} "
            f"(alias {alias!r} {where})"
        )
