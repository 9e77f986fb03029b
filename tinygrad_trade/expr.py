"""Small arithmetic expressions over named inputs, built as `Value` graphs.

    >>> from tinygrad_trade.expr import evaluate
    >>> o = evaluate("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 6.8813735870195432})
    >>> o.backward()

The text is read by a tokenizer and a recursive-descent parser; it is never handed to Python
(no ``eval``, ``exec`` or ``ast``), so ``__import__('os')`` is simply a bad expression. The
grammar, loosest binding first (as in Python, ``**`` is right-associative and binds tighter
than a unary minus on its left: ``-2**2 == -4``, ``2**-1 == 0.5``, ``2**3**2 == 512``)::

    expr    := term   (("+" | "-") term)*
    term    := unary  (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := primary ("**" unary)?
    primary := NUMBER | NAME | FUNCTION "(" expr ")" | "(" expr ")"

Functions: exp log tanh sigmoid relu softplus sqrt abs (one argument each).

Each name becomes one leaf `Value` labelled with the name, shared by all its uses (so ``x*x``
is a square, not a product of two inputs). Parts with no names are folded to plain numbers, so
a constant exponent stays a constant (``x**2`` works for negative ``x``). Every operation that
creates a node labels it with its own source text (``x*w``, ``x*w + b``, ...), which makes
pictures readable. Every error is an :class:`ExprError` (a ``ValueError``) with a one-line
message.
"""
from __future__ import annotations

import math

import operator
import re

from .engine import Value
from .graph import no_grad

__all__ = ["FUNCTIONS", "Expr", "parse", "evaluate", "parse_bindings", "ExprError",
           "ExprSyntaxError", "UnknownNameError", "UnknownFunctionError", "ExprDomainError"]

FUNCTIONS = {
    "exp": Value.exp, "log": Value.log, "tanh": Value.tanh, "sigmoid": Value.sigmoid,
    "relu": Value.relu, "softplus": Value.softplus, "sqrt": Value.sqrt, "abs": Value.abs,
}
_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "**": operator.pow}

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 100      # nested parentheses / unary signs / powers (keeps far from Python's stack limit)


class ExprError(ValueError):
    """Any problem with an expression (one-line message)."""


class ExprSyntaxError(ExprError):
    """The text is not an expression of the grammar."""


class UnknownNameError(ExprError):
    """Names used by the expression that were given no value (``.names``)."""

    def __init__(self, names):
        self.names = tuple(names)
        which = ", ".join(repr(n) for n in self.names)
        super().__init__(f"unknown name{'s' if len(self.names) > 1 else ''} {which}: "
                         f"give {'them values' if len(self.names) > 1 else 'it a value'}")


class UnknownFunctionError(ExprError):
    """A call of something that is not one of :data:`FUNCTIONS`."""


class ExprDomainError(ExprError):
    """An operation outside its domain: log of a negative number, division by zero, ..."""


# --- tokens ---------------------------------------------------------------------------------
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"   # one way to split the digits: linear time
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER})|(?P<name>{_NAME})|(?P<op>\*\*|[-+*/(),]))")


def _tokenize(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) for each token; kind is 'num', 'name' or the operator itself."""
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})")
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if not text[pos:].strip():
                break
            bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExprSyntaxError(f"unexpected character {text[bad]!r} at position {bad + 1}")
        kind = m.lastgroup
        tok = m.group(kind)
        tokens.append((tok if kind == "op" else kind, tok, m.start(kind), m.end()))
        pos = m.end()
    return tokens


# --- parser ---------------------------------------------------------------------------------
class _Parser:
    """Recursive descent over the tokens. With ``leaves=None`` it only checks the syntax and
    collects the names; otherwise it builds the graph as it goes (numbers stay floats until
    they meet a Value)."""

    def __init__(self, text, leaves=None, labels=True):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.leaves = leaves
        self.labels = labels
        self.names = {}  # name -> None, in order of first use

    # token helpers
    def peek(self, kind=None):
        tok = self.toks[self.i] if self.i < len(self.toks) else None
        return tok if kind is None or (tok and tok[0] == kind) else None

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def unexpected(self, expected):
        tok = self.peek()
        if tok is None:
            return ExprSyntaxError(f"expected {expected} at the end of the expression")
        return ExprSyntaxError(f"expected {expected}, got {tok[1]!r} at position {tok[2] + 1}")

    # grammar
    def parse(self):
        if not self.toks:
            raise ExprSyntaxError("empty expression")
        v, _, _ = self.expr()
        if self.peek() is not None:
            raise self.unexpected("an operator")
        return v

    def expr(self):
        v, s, e = self.term()
        while self.peek("+") or self.peek("-"):
            op = self.take()[0]
            w, _, e = self.term()
            v = self.apply(_BINARY[op], (v, w), s, e)
        return v, s, e

    def term(self):
        v, s, e = self.unary()
        while self.peek("*") or self.peek("/"):
            op = self.take()[0]
            w, _, e = self.unary()
            v = self.apply(_BINARY[op], (v, w), s, e)
        return v, s, e

    def unary(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprSyntaxError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        try:
            if self.peek("-") or self.peek("+"):
                op, _, s, _ = self.take()
                v, _, e = self.unary()
                return (self.apply(operator.neg, (v,), s, e) if op == "-" else v), s, e
            return self.power()
        finally:
            self.depth -= 1

    def power(self):
        v, s, e = self.primary()
        if self.peek("**"):
            self.take()
            w, _, e = self.unary()
            v = self.apply(operator.pow, (v, w), s, e)
        return v, s, e

    def primary(self):
        tok = self.peek()
        if tok is None or tok[0] not in ("num", "name", "("):
            raise self.unexpected("a number, a name or '('")
        kind, word, s, e = self.take()
        if kind == "num":
            x = float(word)
            if x == float("inf"):
                raise ExprSyntaxError(f"number {word if len(word) <= 30 else word[:27] + '...'} is too large")
            return x, s, e
        if kind == "(":
            v, _, _ = self.expr()
            if not self.peek(")"):
                raise self.unexpected("')'")
            return v, s, self.take()[3]
        if self.peek("("):
            return self.call(word, s)
        if word in FUNCTIONS:
            raise ExprSyntaxError(f"{word} is a function: write {word}(...)")
        self.names[word] = None
        return (None if self.leaves is None else self.leaves[word]), s, e

    def call(self, name, s):
        if name not in FUNCTIONS:
            raise UnknownFunctionError(
                f"unknown function {name!r} (known: {', '.join(FUNCTIONS)})")
        self.take()  # "("
        if self.peek(")"):
            raise ExprSyntaxError(f"{name}() takes one argument, got none")
        v, _, _ = self.expr()
        if self.peek(","):
            raise ExprSyntaxError(f"{name}() takes one argument, got more")
        if not self.peek(")"):
            raise self.unexpected("')'")
        e = self.take()[3]
        return self.apply(FUNCTIONS[name], (v,), s, e), s, e

    # building
    def apply(self, fn, args, s, e):
        if self.leaves is None:
            return None
        folded = all(isinstance(a, float) for a in args)  # no names: fold to a number
        try:
            if folded:
                with no_grad():
                    out = fn(Value(args[0]), *args[1:])
            else:
                out = fn(*args)
        except (ValueError, ZeroDivisionError, OverflowError) as err:
            why = "the result is too large" if isinstance(err, OverflowError) else err
            raise ExprDomainError(f"{self.text[s:e].strip()}: {why}") from None
        if math.isinf(out.data) and all(math.isfinite(float(a)) for a in args):  # Value overflows to inf
            raise ExprDomainError(f"{self.text[s:e].strip()}: the result is too large")
        if folded:
            return out.data
        if self.labels and not out.label and all(out is not a for a in args):
            out.label = self.text[s:e].strip()
        return out


class Expr:
    """A parsed (syntax-checked) expression: ``.text``, ``.names`` (in order of first use)."""

    def __init__(self, text: str):
        p = _Parser(text)
        p.parse()
        self.text = text
        self.names = tuple(p.names)

    def evaluate(self, values=None, *, labels: bool = True) -> Value:
        """Build the expression's graph. ``values`` maps each name to a number (a fresh leaf
        `Value` labelled with the name is made for it) or to a `Value` (used as the leaf)."""
        values = {} if values is None else values
        missing = [n for n in self.names if n not in values]
        if missing:
            raise UnknownNameError(missing)
        leaves = {}
        for n in self.names:
            v = values[n]
            leaves[n] = v if isinstance(v, Value) else Value(float(v), label=n)
        out = _Parser(self.text, leaves, labels).parse()
        if isinstance(out, float):  # a constant expression
            out = Value(out, label=self.text.strip() if labels else "")
        return out

    def __repr__(self):
        return f"Expr({self.text!r})"


def parse(text: str) -> Expr:
    """Check the syntax of ``text`` and return it as an :class:`Expr`."""
    if not isinstance(text, str):
        raise ExprSyntaxError(f"an expression must be a string, got {type(text).__name__}")
    return Expr(text)


def evaluate(text: str, values=None, *, labels: bool = True) -> Value:
    """Parse ``text`` and build its graph over ``values`` (name -> number or Value)."""
    return parse(text).evaluate(values, labels=labels)


_NAME_RE = re.compile(_NAME)
_SIGNED_NUMBER = re.compile(rf"[+-]?{_NUMBER}")


def parse_bindings(text: str) -> dict[str, float]:
    """``"x=2, w=-3, b=6.88"`` -> ``{"x": 2.0, "w": -3.0, "b": 6.88}`` (numbers only)."""
    out = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, eq, num = (part.strip() for part in item.partition("="))
        if not eq or not _NAME_RE.fullmatch(name) or not _SIGNED_NUMBER.fullmatch(num):
            shown = item.strip()
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ExprSyntaxError(f"expected NAME=NUMBER, got {shown!r}")
        if name in FUNCTIONS:
            raise ExprSyntaxError(f"{name} is a function and cannot be given a value")
        if name in out:
            raise ExprSyntaxError(f"{name} is given twice")
        x = float(num)
        if x in (float("inf"), float("-inf")):
            raise ExprSyntaxError(f"{name}={num if len(num) <= 30 else num[:27] + '...'} is too large for a float")
        out[name] = x
    return out
