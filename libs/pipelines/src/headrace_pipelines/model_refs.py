"""Names in the model registry and ``models:/`` URIs (pure; shared by the metadata service,
the client and, later, the scheduler's input artifact binding).

* a **model name**: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit,
  at most 128 characters (no ``/`` or ``@``, so a URI can name it);
* an **alias** and a **namespace**: a DNS label (``production``, ``team-a``);
* a **model URI**: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` (VERSION >= 1), as in
  MLflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MODEL_URI_SCHEME",
    "ModelRef",
    "ModelRefError",
    "check_alias",
    "check_model_name",
    "check_namespace",
    "is_model_uri",
    "parse_model_uri",
]

MODEL_URI_SCHEME = "models:/"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class ModelRefError(ValueError):
    """A model name, alias, namespace or ``models:/`` URI that is not well formed."""


@dataclass(frozen=True)
class ModelRef:
    """What a ``models:/`` URI names: a version by number, or the version an alias points at."""

    name: str
    version: int | None = None
    alias: str = ""

    def __str__(self) -> str:
        tail = f"@{self.alias}" if self.alias else f"/{self.version}"
        return f"{MODEL_URI_SCHEME}{self.name}{tail}"


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelRefError(
            f"model name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (at most 128 characters), e.g. 'iris-classifier'"
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _LABEL.match(alias):
        raise ModelRefError(
            f"alias {alias!r} is not valid: use a DNS label (lower-case letters, digits and "
            "'-', starting with a letter, at most 63 characters), e.g. 'production'"
        )
    return alias


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not _LABEL.match(namespace):
        raise ModelRefError(
            f"namespace {namespace!r} is not valid: use a DNS label (lower-case letters, "
            "digits and '-', starting with a letter, at most 63 characters), e.g. 'default'"
        )
    return namespace


def is_model_uri(uri: str) -> bool:
    return uri.startswith(MODEL_URI_SCHEME)


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; :class:`ModelRefError` otherwise."""
    example = "write models:/NAME@ALIAS or models:/NAME/VERSION, e.g. models:/iris@production"
    if not is_model_uri(uri):
        raise ModelRefError(f"{uri!r} is not a model URI: {example}")
    rest = uri[len(MODEL_URI_SCHEME) :]
    if "@" in rest:
        name, alias = rest.split("@", 1)
        _checked(name, uri, example)
        try:
            check_alias(alias)
        except ModelRefError as exc:
            raise ModelRefError(f"in {uri!r}: {exc}") from None
        return ModelRef(name=name, alias=alias)
    name, slash, number = rest.partition("/")
    _checked(name, uri, example)
    if not slash or not number.isdigit() or int(number) < 1:
        raise ModelRefError(f"{uri!r} names no version: {example} (versions are numbered from 1)")
    return ModelRef(name=name, version=int(number))


def _checked(name: str, uri: str, example: str) -> None:
    if not name:
        raise ModelRefError(f"{uri!r} names no model: {example}")
    try:
        check_model_name(name)
    except ModelRefError as exc:
        raise ModelRefError(f"in {uri!r}: {exc}") from None
