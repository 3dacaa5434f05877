"""A safe parser for a function of x typed on the command line (``sin(3*x)+x``).

The text never reaches ``eval``, ``sympify`` or ``parse_expr`` (they run Python). It is
read here from a whitelist, by a tokenizer and a recursive-descent parser:

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom ("**" unary)?            (right-associative: 2**3**2 = 2**9; -x**2 = -(x**2))
    atom   := number | "x" | "pi" | "e" | name "(" expr ")" | "(" expr ")"

with the names sin, cos, tan, exp, log, sqrt, abs, tanh, sigmoid, relu. Limits keep every
expression cheap: at most MAX_LENGTH characters, nesting at most MAX_DEPTH deep, numbers
at most MAX_NUMBER in size, and a constant exponent at most MAX_EXPONENT in size (so
``9**9**9`` is refused before anything is computed). Constant parts are computed once
with Python floats, so ``log(-1)`` or ``1/0`` is refused with its own message.

A parsed `Expression` gives the same function three ways, built from its tree:
`evaluate` (NumPy float64, under ``np.errstate``), `code` (the NumPy source of the same
operations, in the same order, calling ``np.`` and the helper ``sigmoid``) and `sympy`
(an unevaluated SymPy expression built from SymPy's constructors, with x replaced by any
SymPy object, e.g. an indexed grid point). Whether the function is finite on an interval
is the caller's question: `undefined_at` names where it is not.

This module imports neither NumPy nor SymPy until they are needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from dlsteps.errors import InputError
from dlsteps.i18n import _

MAX_LENGTH = 200
MAX_DEPTH = 20
MAX_NUMBER = 1e6
MAX_EXPONENT = 100
NUMBER_DIGITS = 24
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")
CONSTANTS = {"pi": math.pi, "e": math.e}
ALLOWED = "numbers, x, + - * / **, ( ), " + " ".join(FUNCTIONS) + ", pi, e"
_TOKEN = re.compile(r"(?P<number>[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/()])|(?P<space> +)")


@dataclass(frozen=True)
class Node:
    """One node of the tree: `kind` is number, x, constant, neg, + - * / **, or call (`name`).

    `value` is the node's value as a Python number when it does not involve x (else None);
    `span` is where the node was typed (start, end), for messages."""

    kind: str
    args: tuple[Node, ...] = ()
    name: str = ""
    value: Any = None
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, op, end
    text: str
    start: int


class _Parser:
    """Recursive descent over the tokens, with the depth limit and constant checks."""

    def __init__(self, text: str, tokens: list[Token], option: str) -> None:
        self.text, self.tokens, self.option, self.at, self.depth = text, tokens, option, 0, 0

    def fail(self, message: str, **fields: Any) -> InputError:
        return InputError(f"{self.option}: " + _(message).format(**fields))

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("'{text}' is nested more than {limit} deep (parentheses, signs, powers); write a simpler expression",
                            text=shown(self.text), limit=MAX_DEPTH)

    def expression(self) -> Node:
        node = self.term()
        while self.token.text in ("+", "-"):
            op = self.take().text
            node = _combine(self, op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.token.text in ("*", "/"):
            op = self.take().text
            node = _combine(self, op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.token.text not in ("+", "-"):
            return self.power()
        sign = self.take()
        self.deeper()
        operand = self.unary()
        self.depth -= 1
        if sign.text == "+":
            return operand
        value = None if operand.value is None else -operand.value
        return Node("neg", (operand,), value=value, span=(sign.start, operand.span[1]))

    def power(self) -> Node:
        base = self.atom()
        if self.token.text != "**":
            return base
        self.take()
        self.deeper()
        exponent = self.unary()
        self.depth -= 1
        return _combine(self, "**", base, exponent)

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Node("number", name=token.text, value=_number(self, token), span=(token.start, token.start + len(token.text)))
        if token.text == "x":
            return Node("x", span=(token.start, token.start + 1))
        if token.text in CONSTANTS:
            return Node("constant", name=token.text, value=CONSTANTS[token.text], span=(token.start, token.start + len(token.text)))
        if token.text in FUNCTIONS:
            self.expect("(", after=token.text)
            return self.call(token)
        if token.text == "(":
            return self.group(token)
        raise self.unexpected(token)

    def group(self, opening: Token) -> Node:
        self.deeper()
        inner = self.expression()
        self.depth -= 1
        closing = self.expect(")", after="")
        return Node(inner.kind, inner.args, inner.name, inner.value, (opening.start, closing.start + 1))

    def call(self, name: Token) -> Node:
        self.deeper()
        argument = self.expression()
        self.depth -= 1
        closing = self.expect(")", after="")
        node = Node("call", (argument,), name.text, span=(name.start, closing.start + 1))
        return node if argument.value is None else _constant(self, node, lambda: _FLOATS[name.text](argument.value))

    def expect(self, text: str, after: str) -> Token:
        if self.token.text != text:
            if self.token.kind == "end":
                raise self.fail("'{text}' ends where '{want}' was expected", text=shown(self.text), want=text)
            where = " " + _("after {name}").format(name=after) if after else ""
            raise self.fail("expected '{want}'{after} at position {pos} of '{text}' but found '{found}'; allowed: {allowed}",
                            want=text, after=where,
                            pos=self.token.start + 1, text=shown(self.text), found=self.token.text, allowed=ALLOWED)
        return self.take()

    def unexpected(self, token: Token) -> InputError:
        if token.kind == "end":
            return self.fail("'{text}' ends where a number, x, a function or '(' was expected", text=shown(self.text))
        if token.kind == "name":
            return self.fail("'{name}' is not a name it knows (only x is a variable); allowed: {allowed}", name=shown(token.text), allowed=ALLOWED)
        return self.fail("'{found}' at position {pos} of '{text}' is out of place: a number, x, a function or '(' was expected there",
                         found=token.text, pos=token.start + 1, text=shown(self.text))


def shown(text: str, limit: int = 40) -> str:
    """Text as quoted in a message: cut (with …) when longer than `limit`."""
    return text if len(text) <= limit else text[:limit] + "…"


def _sigmoid_float(u: float) -> float:
    return 1 / (1 + math.exp(-u)) if u >= 0 else math.exp(u) / (1 + math.exp(u))


_FLOATS = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log, "sqrt": math.sqrt,
           "abs": abs, "tanh": math.tanh, "sigmoid": _sigmoid_float, "relu": lambda u: max(0.0, u)}


def _number(parser: _Parser, token: Token) -> int | float:
    """A number token as a Python int (digits only) or float, at most MAX_NUMBER in size."""
    if len(token.text) > NUMBER_DIGITS:
        raise parser.fail("the number '{token}' has more than {digits} characters; numbers are at most {limit:g} in size",
                          token=shown(token.text), digits=NUMBER_DIGITS, limit=MAX_NUMBER)
    value = int(token.text) if token.text.isdigit() else float(token.text)
    if not abs(value) <= MAX_NUMBER:
        raise parser.fail("the number '{token}' is too large; numbers are at most {limit:g} in size", token=shown(token.text), limit=MAX_NUMBER)
    return value


def _combine(parser: _Parser, op: str, left: Node, right: Node) -> Node:
    """The node `left op right`; a constant exponent is bounded, a constant result computed."""
    node = Node(op, (left, right), span=(left.span[0], right.span[1]))
    if op == "**" and right.value is not None and not abs(right.value) <= MAX_EXPONENT:
        raise parser.fail("the exponent in '{part}' is {value:.6g}; a constant exponent is at most {limit} in size",
                          part=shown(parser.text[slice(*node.span)]), value=float(right.value), limit=MAX_EXPONENT)
    if left.value is None or right.value is None:
        return node
    return _constant(parser, node, lambda: _OPERATIONS[op](left.value, right.value))


_OPERATIONS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
               "**": lambda a, b: a**b if isinstance(a, int) and isinstance(b, int) and b >= 0 else math.pow(a, b)}


def _constant(parser: _Parser, node: Node, compute) -> Node:
    """`node` with its value computed; refused when it is undefined or not a finite float."""
    part = shown(parser.text[slice(*node.span)])
    try:
        value = compute()
        finite = math.isfinite(float(value))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise parser.fail("'{part}' is undefined or too large (a constant that is not a finite number)", part=part) from None
    if not finite:
        raise parser.fail("'{part}' is undefined or too large (a constant that is not a finite number)", part=part)
    return Node(node.kind, node.args, node.name, value, node.span)


def tokenize(text: str, option: str = "--function") -> list[Token]:
    """The tokens of `text`, ending with an end token; InputError at the first character
    that is not allowed (anything but ASCII digits, letters, _ . + - * / ( ) and spaces)."""
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match:
            char = text[at]
            hint = _(" (write powers as **)") if char == "^" else ""
            raise InputError(f"{option}: " + _("the character {char} (U+{code:04X}, position {pos}) is not allowed{hint}; allowed: {allowed}").format(
                char=repr(char), code=ord(char), pos=at + 1, hint=hint, allowed=ALLOWED))
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), at))
        at = match.end()
    return tokens + [Token("end", "", len(text))]


@dataclass(frozen=True)
class Expression:
    """A parsed function of x (see the module docstring)."""

    text: str
    root: Node

    @property
    def constant(self) -> bool:
        """True when the expression does not involve x."""
        return self.root.value is not None

    def code(self, x: str = "x") -> str:
        """NumPy source for the function at the array named `x`: the operations of
        `evaluate`, in the same order (a constant is filled to the shape of `x`)."""
        body = _code(self.root, x)
        return f"np.full(np.shape({x}), {body})" if self.constant else body

    def evaluate(self, values: Any) -> Any:
        """The function at every entry of `values` (float64), NaN/inf where undefined."""
        import numpy as np

        points = np.asarray(values, dtype=float)
        with np.errstate(all="ignore"):
            result = _evaluate(self.root, points)
        return np.broadcast_to(np.asarray(result, dtype=float), points.shape).copy()

    def sympy(self, x: Any) -> Any:
        """The expression in SymPy with x replaced by `x`, unevaluated, so that it keeps
        the typed structure (and its order of operations) exactly."""
        return _sympy(self.root, x)


def parse(text: str, option: str = "--function") -> Expression:
    """Parse `text` as a function of x; InputError (one line naming `option`) otherwise."""
    if len(text) > MAX_LENGTH:
        raise InputError(f"{option}: " + _("the expression has {n} characters; at most {limit} are read (write an expression in x such as sin(3*x)+x)").format(
            n=len(text), limit=MAX_LENGTH))
    if not text.strip():
        raise InputError(f"{option}: " + _("the expression is empty; write an expression in x such as sin(3*x)+x"))
    parser = _Parser(text, tokenize(text, option), option)
    root = parser.expression()
    if parser.token.kind != "end":
        found = parser.token
        raise parser.fail("'{found}' at position {pos} of '{text}' follows a complete expression (a missing operator such as *?)",
                          found=found.text, pos=found.start + 1, text=shown(text))
    return Expression(text, root)


def undefined_at(values: Any, limit: float = math.inf) -> tuple[int, int] | None:
    """(first index, count) of the entries of `values` that are NaN, infinite or larger
    than `limit` in size; None when there are none."""
    import numpy as np

    bad = ~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > limit)
    where = np.flatnonzero(bad)
    return None if not len(where) else (int(where[0]), len(where))


# ---- the three readings of the tree ----------------------------------------------------

_NUMPY = {"sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt",
          "abs": "np.abs", "tanh": "np.tanh", "sigmoid": "sigmoid"}


def _code(node: Node, x: str) -> str:
    if node.kind == "number":
        return repr(node.value)
    if node.kind == "x":
        return x
    if node.kind == "constant":
        return f"np.{node.name}"
    if node.kind == "neg":
        return f"(-{_code(node.args[0], x)})"
    if node.kind == "call":
        argument = _code(node.args[0], x)
        return f"np.maximum(0, {argument})" if node.name == "relu" else f"{_NUMPY[node.name]}({argument})"
    left, right = (_code(arg, x) for arg in node.args)
    return f"({left} {node.kind} {right})"


def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), as exp(-log(1 + exp(-z))): no exp overflows for any z."""
    import numpy as np

    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))


def _evaluate(node: Node, x: Any) -> Any:
    import numpy as np

    if node.kind == "number":
        return node.value
    if node.kind == "x":
        return x
    if node.kind == "constant":
        return getattr(np, node.name)
    if node.kind == "neg":
        return -_evaluate(node.args[0], x)
    if node.kind == "call":
        argument = _evaluate(node.args[0], x)
        functions = {"sigmoid": sigmoid, "relu": lambda u: np.maximum(0, u)}
        return functions.get(node.name, getattr(np, node.name, None))(argument)
    left, right = (_evaluate(arg, x) for arg in node.args)
    return _OPERATIONS_NUMPY[node.kind](left, right)


_OPERATIONS_NUMPY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
                     "**": lambda a, b: a**b}


def _sympy(node: Node, x: Any) -> Any:
    import sympy as sp

    if node.kind == "number":
        return sp.Integer(node.value) if isinstance(node.value, int) else _sympy_float(node.name)
    if node.kind == "x":
        return x
    if node.kind == "constant":
        return sp.pi if node.name == "pi" else sp.E
    if node.kind == "neg":
        inner = node.args[0]
        if inner.kind == "number":
            return -_sympy(inner, x)
        return sp.Mul(-1, _sympy(inner, x), evaluate=False)
    if node.kind == "call":
        return _sympy_call(node.name, _sympy(node.args[0], x))
    left, right = (_sympy(arg, x) for arg in node.args)
    return _sympy_operation(node.kind, left, right)


def _sympy_float(token: str) -> Any:
    """A typed decimal as a SymPy Float of full float64 precision (the same number the
    NumPy code uses; inside a formula it prints as typed, 0.1). Never a Rational: SymPy
    prints an unevaluated x/(1/2) inside a product as x/1/2; and never a Float of fewer
    digits: the printer multiplies such numbers at that precision (0.5·0.5 as 0.3)."""
    import sympy as sp

    return sp.Float(float(token))


def _sympy_operation(op: str, left: Any, right: Any) -> Any:
    import sympy as sp

    if op == "+":
        return sp.Add(left, right, evaluate=False)
    if op == "-":
        negative = -right if right.is_Number else sp.Mul(-1, right, evaluate=False)
        return sp.Add(left, negative, evaluate=False)
    if op == "*":
        return sp.Mul(left, right, evaluate=False)
    if op == "/":
        return sp.Mul(left, sp.Pow(right, -1, evaluate=False), evaluate=False)
    return sp.Pow(left, right, evaluate=False)


def _sympy_call(name: str, argument: Any) -> Any:
    import sympy as sp

    if name == "sigmoid":
        exponential = sp.exp(sp.Mul(-1, argument, evaluate=False), evaluate=False)
        return sp.Pow(sp.Add(1, exponential, evaluate=False), -1, evaluate=False)
    if name == "relu":
        return sp.Max(0, argument, evaluate=False)
    if name == "sqrt":
        return sp.Pow(argument, sp.Rational(1, 2), evaluate=False)
    functions = {"sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log, "abs": sp.Abs, "tanh": sp.tanh}
    return functions[name](argument, evaluate=False)
