"""The registry of every message type, looked up by CloudEvents type or subject."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .base import Command, Event, Message, Query
from .errors import UnknownMessageType


class Catalogue:
    """An immutable index of message classes."""

    def __init__(self, messages: Iterable[type[Message]]) -> None:
        self._by_type: dict[str, type[Message]] = {}
        self._by_subject: dict[str, type[Message]] = {}
        for cls in messages:
            for index, key in ((self._by_type, cls.ce_type()), (self._by_subject, cls.subject())):
                other = index.get(key)
                if other is None or other is cls:
                    index[key] = cls
                elif index is self._by_subject and _versions_of_one(cls, other):
                    # VERSION 2 is published beside VERSION 1 on the same subject.
                    index[key] = max(cls, other, key=lambda m: m.VERSION)
                else:
                    raise ValueError(f"{cls.__name__} and {other.__name__} both declare {key}")

    def __iter__(self) -> Iterator[type[Message]]:
        return iter(self._by_type.values())

    def __len__(self) -> int:
        return len(self._by_type)

    def by_type(self, ce_type: str) -> type[Message]:
        try:
            return self._by_type[ce_type]
        except KeyError:
            raise UnknownMessageType(ce_type, list(self._by_type)) from None

    def by_subject(self, subject: str) -> type[Message]:
        """The message on ``subject``; its newest version where several share it."""
        return self._by_subject[subject]

    def durable(self) -> list[type[Message]]:
        """Events and commands: the messages that go through JetStream."""
        return [m for m in self if issubclass(m, Event | Command)]

    def queries(self) -> list[type[Query]]:
        return [m for m in self if issubclass(m, Query)]

    def areas(self) -> list[str]:
        """Top-level subject areas of the durable messages, for the stream's subjects."""
        return sorted({m.AREA.split(".")[0] for m in self.durable()})


def _versions_of_one(a: type[Message], b: type[Message]) -> bool:
    return (a.KIND, a.AREA, a.NAME) == (b.KIND, b.AREA, b.NAME) and a.VERSION != b.VERSION
