"""The CEL subset kfp compiles: ``dsl.If`` conditions and loop-item field selectors.

Conditions look like ``int(inputs.parameter_values['pipelinechannel--n-Output']) > 5`` or
``!(inputs.parameter_values['p'] == 'heads') && inputs.parameter_values['p'] == 'tails'``;
selectors look like ``parseJson(string_value)["a"]``. Supported: literals (numbers, quoted
strings, ``true``/``false``/``null``, lists), ``name``, ``a.b``, ``a[i]``, calls to ``int``,
``double``, ``string``, ``bool``, ``parseJson``, ``size``, the operators ``! - * / % + -
< <= > >= == != in && ||`` and parentheses. Parsing is separate from evaluation so a spec
is checked once, at submission.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpecError

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+|\d+)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!()\[\].,])
    )""",
    re.VERBOSE,
)
_BINARY = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "in": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}


class CelError(SpecError):
    pass


@dataclass(frozen=True)
class Node:
    kind: str  # lit, name, member, index, call, unary, binary, list
    value: Any = None
    args: tuple[Node, ...] = ()


def parse(text: str) -> Node:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    node = parser.expression(0)
    if parser.peek() is not None:
        raise CelError(f"unexpected {parser.peek()!r} in expression {text!r}")
    return node


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise CelError(f"cannot read {text[pos : pos + 20]!r} in expression {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise CelError(f"expression {self.text!r} ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise CelError(f"expected {expected!r} but found {token[1]!r} in {self.text!r}")
        self.pos += 1
        return token

    def expression(self, min_power: int) -> Node:
        left = self.unary()
        while True:
            op = self.peek()
            if op is None or op not in _BINARY or _BINARY[op] <= min_power - 1:
                return left
            power = _BINARY[op]
            if power < min_power:
                return left
            self.take()
            right = self.expression(power + 1)
            left = Node("binary", op, (left, right))

    def unary(self) -> Node:
        if self.peek() in ("!", "-"):
            op = self.take()[1]
            return Node("unary", op, (self.unary(),))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        kind, token = self.take()
        if kind == "number":
            return Node("lit", float(token) if any(c in token for c in ".eE") else int(token))
        if kind == "string":
            return Node("lit", _unquote(token))
        if kind == "name":
            if token in ("true", "false"):
                return Node("lit", token == "true")
            if token == "null":
                return Node("lit", None)
            if self.peek() == "(":
                self.take("(")
                args: list[Node] = []
                while self.peek() != ")":
                    args.append(self.expression(0))
                    if self.peek() == ",":
                        self.take(",")
                self.take(")")
                if token not in _FUNCTIONS:
                    raise CelError(f"unknown function {token}() in {self.text!r}")
                return Node("call", token, tuple(args))
            return Node("name", token)
        if token == "(":
            inner = self.expression(0)
            self.take(")")
            return inner
        if token == "[":
            items: list[Node] = []
            while self.peek() != "]":
                items.append(self.expression(0))
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return Node("list", None, tuple(items))
        raise CelError(f"unexpected {token!r} in expression {self.text!r}")

    def postfix(self, node: Node) -> Node:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise CelError(f"expected a field name after '.' in {self.text!r}")
                node = Node("member", name, (node,))
            else:
                index = self.expression(0)
                self.take("]")
                node = Node("index", None, (node, index))
        return node


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(float(value)) if "." in value else int(value)
    return int(value)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _parse_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "double": lambda v: float(v),
    "string": _to_string,
    "bool": _to_bool,
    "parseJson": _parse_json,
    "size": len,
}


def evaluate(node: Node, names: Mapping[str, Any]) -> Any:
    kind = node.kind
    if kind == "lit":
        return node.value
    if kind == "list":
        return [evaluate(a, names) for a in node.args]
    if kind == "name":
        if node.value not in names:
            raise CelError(f"unknown name {node.value!r}")
        return names[node.value]
    if kind == "member":
        return _lookup(evaluate(node.args[0], names), node.value)
    if kind == "index":
        return _lookup(evaluate(node.args[0], names), evaluate(node.args[1], names))
    if kind == "call":
        args = [evaluate(a, names) for a in node.args]
        try:
            return _FUNCTIONS[node.value](*args)
        except (TypeError, ValueError) as exc:
            raise CelError(f"{node.value}() cannot take {args!r}: {exc}") from None
    if kind == "unary":
        value = evaluate(node.args[0], names)
        return (not _truth(value)) if node.value == "!" else -value
    op = node.value
    if op == "&&":
        return _truth(evaluate(node.args[0], names)) and _truth(evaluate(node.args[1], names))
    if op == "||":
        return _truth(evaluate(node.args[0], names)) or _truth(evaluate(node.args[1], names))
    left, right = evaluate(node.args[0], names), evaluate(node.args[1], names)
    try:
        return _OPS[op](left, right)
    except TypeError:
        raise CelError(f"cannot compute {left!r} {op} {right!r}") from None


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CelError(f"a condition must be true or false, got {value!r}")
    return value


def _lookup(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except (KeyError, IndexError, TypeError):
        raise CelError(f"{key!r} is not present in {container!r}"[:200]) from None


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


def condition_holds(expression: Node, parameters: Mapping[str, Any]) -> bool:
    """Evaluate a ``triggerPolicy.condition`` against the task's resolved parameters."""
    return _truth(evaluate(expression, {"inputs": {"parameter_values": dict(parameters)}}))


def select(expression: Node, value: Any) -> Any:
    """Apply a ``parameterExpressionSelector`` to one parameter value."""
    text = value if isinstance(value, str) else json.dumps(value)
    names = {
        "string_value": text,
        "struct_value": value,
        "list_value": value,
        "number_value": value,
        "bool_value": value,
    }
    return evaluate(expression, names)
