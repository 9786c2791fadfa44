"""Reading kfp-kubernetes JSON field by field, so nothing unread passes silently.

A `Reader` wraps one JSON object at a path (``pvcMount[1]``). Each ``get`` marks its field
as read; `Problems.unread` then reports every field nobody read, with its path. Values that
kfp writes as parameters (``secretNameParameter: {runtimeValue: {constant: x}}``,
``componentInputParameter: p``) are resolved by `Reader.name`: a constant, or a component
input the step received; anything else (another task's output) is a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Problems", "Reader"]


class Problems:
    """``(path, message)`` pairs collected while building a step's or job's objects."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.found.append((path, message))

    def unread(self, reader: Reader) -> None:
        for key in sorted(set(reader.data) - reader.read):
            self.add(
                f"{reader.path}.{key}" if reader.path else key,
                "is not supported by the Kubernetes backend: remove it "
                "(docs/kubernetes.md lists the supported settings)",
            )


class Reader:
    def __init__(
        self,
        data: Any,
        path: str,
        problems: Problems,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.problems = problems
        self.parameters = parameters or {}
        self.read: set[str] = set()
        if isinstance(data, Mapping):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            problems.add(path, f"is a {type(data).__name__}, not an object: give an object")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        value = self.data.get(key)
        return default if value is None else value

    def items(self, key: str) -> list[Reader]:
        """The objects of list field ``key``, each as a Reader at ``key[i]``."""
        value = self.get(key, [])
        if not isinstance(value, list):
            self.problems.add(self.at(key), "is not a list: give a list")
            return []
        return [self.child(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value)]

    def child(self, data: Any, path: str) -> Reader:
        return Reader(data, path, self.problems, self.parameters)

    def object(self, key: str) -> Reader:
        return self.child(self.get(key, {}), self.at(key))

    def string(self, key: str, default: str = "") -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            self.problems.add(self.at(key), f"is {value!r}, not a string")
            return default
        return value

    def integer(self, key: str) -> int | None:
        """An int64 field (protobuf JSON writes it as a string)."""
        value = self.get(key)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            self.problems.add(self.at(key), f"is {value!r}, not a whole number")
            return None

    def strings(self, key: str) -> dict[str, str]:
        value = self.get(key, {})
        if not isinstance(value, Mapping):
            self.problems.add(self.at(key), "is not an object of strings")
            return {}
        return {str(k): str(v) for k, v in value.items()}

    def name(self, plain: str, parameter: str, *legacy: str) -> str:
        """A name given as ``plain`` (``secretName``), as the parameter spec ``parameter``
        (``secretNameParameter``), or in the older ``legacy`` fields (a PVC's ``constant``
        and ``componentInputParameter``); "" and a problem when it cannot be known here."""
        spec = self.get(parameter)
        if spec is not None:
            value = self.parameter(spec, self.at(parameter))
            for key in (plain, *legacy):
                self.read.add(key)  # the same name, written twice by kfp
            return str(value)
        for key in (plain, *legacy):
            value = self.get(key)
            if value in (None, ""):
                continue
            if key in ("componentInputParameter", "taskOutputParameter"):
                return str(self.parameter({key: value}, self.path))
            return str(value)
        self.problems.add(self.at(plain), "is required: give the name")
        return ""

    def parameter(self, spec: Any, path: str) -> Any:
        """The value of a kfp ``InputParameterSpec``; "" and a problem when unknown here."""
        reader = self.child(spec, path)
        runtime = reader.get("runtimeValue")
        if runtime is not None:
            constant = self.child(runtime, reader.at("runtimeValue"))
            value = constant.get("constant")
            self.problems.unread(constant)
            self.problems.unread(reader)
            return value if value is not None else ""
        source = reader.get("componentInputParameter")
        if source is not None:
            self.problems.unread(reader)
            if source in self.parameters:
                return self.parameters[source]
            self.problems.add(
                reader.at("componentInputParameter"),
                f"names pipeline parameter {source!r}, which the step did not receive: give "
                "the value as a constant (a pipeline parameter is not resolved here yet)",
            )
            return ""
        self.problems.unread(reader)
        if reader.data:
            return ""
        self.problems.add(path, "is empty: give a constant value")
        return ""
