"""The kinds of message and how each names itself on the wire.

Every message is a small frozen Pydantic model. An :class:`Event` says what happened, a
:class:`Command` asks for something, a :class:`Query` asks a question answered over NATS
request/reply (never stored), a :class:`Telemetry` reports a fresh measurement over core NATS
(never stored). Each concrete class declares its ``AREA`` and ``NAME``; from them follow its
NATS subject ``headrace.<area>.<name>`` (telemetry: ``headrace.telemetry.<area>.<name>``) and
its CloudEvents type ``io.headrace.<area>.<name>.v<version>``.

A contract evolves by adding fields with defaults. Unknown fields are ignored on decode so an
older consumer reads a newer producer's message; a breaking change is a new class with
``VERSION = 2``, published beside the old one.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

SUBJECT_PREFIX = "headrace"
TYPE_PREFIX = "io.headrace"
QUERY_PREFIX = "headrace.query"
TELEMETRY_PREFIX = "headrace.telemetry"

_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")


class Message(BaseModel):
    """Base of every message: frozen, JSON-friendly, forward compatible."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    AREA: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    KIND: ClassVar[str] = "message"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.AREA and not cls.NAME:
            return  # an abstract base such as Event itself
        for label, token in (("AREA", cls.AREA), ("NAME", cls.NAME)):
            for part in token.split("."):
                if not _TOKEN.match(part):
                    raise TypeError(
                        f"{cls.__name__}.{label}={token!r} is not a valid subject token: "
                        "use lower-case letters, digits and '_' (dots separate levels)"
                    )

    @classmethod
    def subject(cls) -> str:
        """The NATS subject this message travels on."""
        return f"{SUBJECT_PREFIX}.{cls.AREA}.{cls.NAME}"

    @classmethod
    def ce_type(cls) -> str:
        """The CloudEvents ``type`` attribute, versioned."""
        return f"{TYPE_PREFIX}.{cls.AREA}.{cls.NAME}.v{cls.VERSION}"


class Event(Message):
    """Something that happened. Durable: stored in the domain stream."""

    KIND: ClassVar[str] = "event"


class Command(Message):
    """A request for something to happen. Durable: stored in the domain stream."""

    KIND: ClassVar[str] = "command"


class Telemetry(Message):
    """A measurement published while it is fresh (e.g. a router's request rate). Not durable:
    a core NATS publish on ``headrace.telemetry.<area>.<name>``, outside the domain stream;
    a subscriber sees what is published while it listens, nothing is stored or replayed."""

    KIND: ClassVar[str] = "telemetry"

    @classmethod
    def subject(cls) -> str:
        return f"{TELEMETRY_PREFIX}.{cls.AREA}.{cls.NAME}"


class Reply(BaseModel):
    """The answer to a :class:`Query`; not a message of its own on any subject."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Query(Message):
    """A question answered over core NATS request/reply; never stored.

    ``REPLY`` names the :class:`Reply` model the answer decodes into.
    """

    KIND: ClassVar[str] = "query"
    REPLY: ClassVar[type[Reply]] = Reply

    @classmethod
    def subject(cls) -> str:
        return f"{QUERY_PREFIX}.{cls.AREA}.{cls.NAME}"
