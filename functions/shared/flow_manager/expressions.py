"""`when` expressions (DESIGN §3.1): a small, safe subset of Python syntax.

Parsed with the standard library's `ast` in `mode="eval"` (no eval, no home-made
parser), walked over an allow-list of node types into a tiny tree (`Expr`), which
compiles to JSONPath Choice rules and evaluates in Python (the reference semantics
`model.predict` uses). Anything outside the allow-list is a `ExpressionError` with the
column it starts at.

No compiled rule can raise at run time: every comparison is guarded by IsPresent and
the matching type test, so a missing or wrongly typed field makes it false; `!=` and
`not in` are its negations, so they are true for a missing field.

Client text never becomes part of a path unchecked: path segments are ASCII
identifiers or non-negative integer indexes, rendered by this module only.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

MAX_EXPRESSION_LENGTH = 1024
FUNCTIONS = ("exists", "matches", "is_number", "is_string")
ROOTS = ("data", "error", "status", "context", "results")
RESULT_FIELDS = ("data", "status", "error")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL_NAMES: Mapping[str, object] = {"true": True, "false": False, "null": None}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_OPERATORS: Mapping[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}

Literal = str | int | float | bool | None
Rule = dict[str, Any]


class ExpressionError(ValueError):
    """A `when` that is not in the language; `column` counts from 1."""

    def __init__(self, message: str, column: int, hint: str = "") -> None:
        super().__init__(f"{message} at column {column}{hint}")
        self.column = column


# ---- the tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """A path: `root` is data/error/status/context, or results with `task` set."""

    root: str
    task: str | None
    field: str | None  # for results: data / status / error
    segments: tuple[str | int, ...]
    text: str

    @property
    def base(self) -> str:
        """What the value is of, for `data`/`error`/`status`: data, error or status."""
        return self.field if self.root == "results" and self.field else self.root


@dataclass(frozen=True)
class Compare:
    operand: Operand
    op: str  # == != < <= > >=
    value: Literal


@dataclass(frozen=True)
class Member:
    operand: Operand
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Test:
    function: str  # exists / matches / is_number / is_string
    operand: Operand
    pattern: str | None = None


@dataclass(frozen=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | Member | Test | All | Any_ | Not


# ---- parsing ----------------------------------------------------------------------------


def parse(text: str, task_names: Collection[str] = ()) -> Expr:
    """The expression of `text`; `task_names` are the tasks `results.<task>` may name
    (empty: any)."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"an expression has at most {MAX_EXPRESSION_LENGTH} characters, got {len(text)}",
            MAX_EXPRESSION_LENGTH + 1,
        )
    breaks = [i for i, c in enumerate(text) if c in "\r\n"]
    if breaks:
        raise ExpressionError("an expression is one line", breaks[0] + 1)
    if not text.strip():
        raise ExpressionError("the expression is empty", 1)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax ({exc.msg})", exc.offset or 1) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply", 1) from None
    return _Parser(task_names).condition(tree.body)


def _column(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0)) + 1


class _Parser:
    def __init__(self, task_names: Collection[str]) -> None:
        self.task_names = task_names

    def condition(self, node: ast.expr) -> Expr:
        if isinstance(node, ast.BoolOp):
            items = tuple(self.condition(v) for v in node.values)
            return All(items) if isinstance(node.op, ast.And) else Any_(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self.condition(node.operand))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript | ast.Constant):
            raise ExpressionError(
                f"'{ast.unparse(node)}' is a value, not a condition: compare it "
                f"(e.g. {ast.unparse(node)} == true) or test it with exists(...)",
                _column(node),
            )
        raise ExpressionError(_refused(node), _column(node))

    def compare(self, node: ast.Compare) -> Expr:
        parts: list[Expr] = []
        left = node.left
        for op_node, right in zip(node.ops, node.comparators, strict=True):
            op = _OPERATORS.get(type(op_node))
            if op is None:  # `is`, `is not`
                raise ExpressionError(
                    f"'{type(op_node).__name__}' is not an operator here: use == or !=",
                    _column(right),
                )
            parts.append(self.pair(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def pair(self, left: ast.expr, op: str, right: ast.expr) -> Expr:
        if op in ("in", "not in"):
            if not isinstance(right, ast.List | ast.Tuple):
                raise ExpressionError(
                    f"'{op}' needs a list of values, e.g. {op} ['a', 'b']", _column(right)
                )
            values = tuple(self.literal(e) for e in right.elts)
            return Member(self.operand(left), values, negated=op == "not in")
        for side in (left, right):
            base = side
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if base is not side and isinstance(base, ast.Constant):
                raise ExpressionError("a value has no fields or items", _column(base))
        for side in (left, right):
            if isinstance(side, ast.Call):
                if isinstance(side.func, ast.Name) and side.func.id in FUNCTIONS:
                    raise ExpressionError(
                        f"{side.func.id}(...) is a test, not a value: use it on its own",
                        _column(side),
                    )
                self.call(side)  # raises: an unknown function
            if not _looks_like_path(side) and not _is_literal_node(side):
                raise ExpressionError(_refused(side), _column(side))
        left_is_path = _looks_like_path(left)
        right_is_path = _looks_like_path(right)
        if left_is_path and right_is_path:
            raise ExpressionError(
                "compare a field with a value, not with another field", _column(right)
            )
        if not left_is_path and not right_is_path:
            raise ExpressionError(
                "a comparison needs a field (data.x, context.x, results.<task>...)",
                _column(left),
            )
        if left_is_path:
            operand, value, value_node = self.operand(left), self.literal(right), right
        else:
            operand, value, value_node = self.operand(right), self.literal(left), left
            op = _FLIPPED[op]
        if op in ("<", "<=", ">", ">=") and (value is None or isinstance(value, bool)):
            raise ExpressionError(
                f"'{op}' compares numbers or strings, not {_kind(value)}", _column(value_node)
            )
        return Compare(operand, op, value)

    def call(self, node: ast.Call) -> Expr:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = ast.unparse(node.func)
            raise ExpressionError(
                f"unknown function '{shown}'",
                _column(node),
                _did_you_mean(shown, FUNCTIONS) or f" (the functions are {', '.join(FUNCTIONS)})",
            )
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments", _column(node))
        wanted = 2 if name == "matches" else 1
        if len(node.args) != wanted:
            shape = "matches(field, 'pattern*')" if name == "matches" else f"{name}(field)"
            raise ExpressionError(f"{name}() takes {wanted}: {shape}", _column(node))
        operand = self.operand(node.args[0])
        if name != "matches":
            return Test(name, operand)
        pattern = node.args[1]
        if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
            raise ExpressionError("matches() takes a string pattern", _column(pattern))
        return Test(name, operand, pattern.value)

    def literal(self, node: ast.expr) -> Literal:
        if isinstance(node, ast.Constant):
            value = node.value
            if value is None or isinstance(value, bool | str):
                return value
            if isinstance(value, int | float):
                return _finite(value, node)
            raise ExpressionError(f"{type(value).__name__} values are not allowed", _column(node))
        if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
            return _LITERAL_NAMES[node.id]  # type: ignore[return-value]
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            number = node.operand.value
            return _finite(-number if isinstance(node.op, ast.USub) else number, node)
        if _looks_like_path(node):
            raise ExpressionError(
                "compare a field with a value, not with another field", _column(node)
            )
        raise ExpressionError(
            f"expected a value (a string, number, true, false or null): {_refused(node)}",
            _column(node),
        )

    def operand(self, node: ast.expr) -> Operand:
        """A path: a root name, then `.name` attributes and `[n]` integer indexes."""
        segments: list[str | int] = []
        text = ast.unparse(node)
        current = node
        while True:
            if isinstance(current, ast.Attribute):
                if not _IDENTIFIER.fullmatch(current.attr):
                    raise ExpressionError(
                        f"'{current.attr}' is not a field name (ASCII letters, digits, '_')",
                        _column(current),
                    )
                segments.append(current.attr)
                current = current.value
            elif isinstance(current, ast.Subscript):
                index = current.slice
                if not (
                    isinstance(index, ast.Constant)
                    and isinstance(index.value, int)
                    and not isinstance(index.value, bool)
                    and index.value >= 0
                ):
                    raise ExpressionError(
                        "only a list index such as [0] may follow a field", _column(index)
                    )
                segments.append(index.value)
                current = current.value
            else:
                break
        if not isinstance(current, ast.Name):
            if isinstance(current, ast.Constant):
                raise ExpressionError("a value has no fields or items", _column(current))
            raise ExpressionError(_refused(current), _column(current))
        segments.reverse()
        return self.rooted(current, segments, text)

    def rooted(self, name: ast.Name, segments: list[str | int], text: str) -> Operand:
        root = name.id
        if root not in ROOTS:
            hint = _did_you_mean(root, ROOTS) or f" (a field starts with {', '.join(ROOTS)})"
            raise ExpressionError(f"unknown name '{root}'", _column(name), hint)
        task: str | None = None
        field: str | None = None
        rest = segments
        if root == "results":
            if len(segments) < 2 or not isinstance(segments[0], str):
                raise ExpressionError(
                    "results are read as results.<task>.data..., .status or .error",
                    _column(name),
                )
            task, field, rest = str(segments[0]), str(segments[1]), segments[2:]
            if self.task_names and task not in self.task_names:
                raise ExpressionError(
                    f"unknown task '{task}'", _column(name), _did_you_mean(task, self.task_names)
                )
            if field not in RESULT_FIELDS:
                raise ExpressionError(
                    f"a result has data, status and error, not "
                    f"'{field}'{_did_you_mean(field, RESULT_FIELDS)}",
                    _column(name),
                )
        base = field if root == "results" else root
        if base in ("status", "error") and rest:
            raise ExpressionError(f"'{base}' is a string: it has no fields", _column(name))
        seen_index = False
        for segment in rest:
            if isinstance(segment, int):
                seen_index = True
            elif seen_index:
                # moto's JSONPath returns a list for a field after an index, where AWS
                # returns the value: refused so local and deployed runs agree.
                raise ExpressionError(
                    f"a field after a list index is not supported ('{text}'): "
                    "index the last step only",
                    _column(name),
                )
        return Operand(root, task, field, tuple(rest), text)


def _looks_like_path(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id not in _LITERAL_NAMES


def _is_literal_node(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.Name) and node.id in _LITERAL_NAMES
    )


def _finite(value: float, node: ast.AST) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("a number must be finite", _column(node))
    return value


def _kind(value: Literal) -> str:
    return "null" if value is None else "a boolean" if isinstance(value, bool) else "that"


def _refused(node: ast.AST) -> str:
    kinds = {
        ast.Lambda: "lambdas are",
        ast.ListComp: "comprehensions are",
        ast.SetComp: "comprehensions are",
        ast.DictComp: "comprehensions are",
        ast.GeneratorExp: "comprehensions are",
        ast.BinOp: "arithmetic is",
        ast.UnaryOp: "arithmetic is",
        ast.IfExp: "conditional expressions are",
        ast.NamedExpr: "assignments are",
        ast.JoinedStr: "f-strings are",
        ast.Await: "await is",
        ast.Starred: "starred expressions are",
        ast.Dict: "dicts are",
        ast.Set: "sets are",
        ast.List: "lists are (only after 'in')",
        ast.Tuple: "tuples are (only after 'in')",
        ast.Slice: "slices are",
        ast.Call: "calls other than " + ", ".join(FUNCTIONS) + " are",
    }
    what = kinds.get(type(node), f"'{type(node).__name__}' expressions are")
    return f"{what} not allowed in a condition"


def _did_you_mean(word: str, candidates: Collection[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def operands(expr: Expr) -> list[Operand]:
    """Every path the expression reads, in order."""
    match expr:
        case Compare() | Member() | Test():
            return [expr.operand]
        case All() | Any_():
            return [o for item in expr.items for o in operands(item)]
        case Not():
            return operands(expr.item)
    return []


# ---- compiling to Choice rules ----------------------------------------------------------


def render_segments(segments: tuple[str | int, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segments)


def compile_rule(expr: Expr, result_path: Callable[[str], str], source: str) -> Rule:
    """A Choice rule (without Next) that holds exactly when `expr` does; `source` is
    the task whose `data`/`error`/`status` bare names mean; `result_path(task)` is
    where a task's result lives."""
    return _Compiler(result_path, source).rule(expr)


@dataclass(frozen=True)
class _Place:
    path: str  # the value's JSONPath
    alternative: str | None = None  # error: the caught {Error} field
    default_when_present: str | None = None  # status: "failure" when the result exists
    result: str = ""  # the result object's own path


class _Compiler:
    def __init__(self, result_path: Callable[[str], str], source: str) -> None:
        self.result_path = result_path
        self.source = source

    def place(self, operand: Operand) -> _Place:
        if operand.root == "context":
            return _Place("$.context" + render_segments(operand.segments))
        task = operand.task if operand.root == "results" and operand.task else self.source
        result = self.result_path(task)
        base = operand.base
        if base == "data":
            return _Place(f"{result}.data" + render_segments(operand.segments), result=result)
        if base == "error":
            # A returned failure has `error`; a raised one, Step Functions' `Error`.
            return _Place(f"{result}.error", alternative=f"{result}.Error", result=result)
        return _Place(f"{result}.status", default_when_present="failure", result=result)

    def rule(self, expr: Expr) -> Rule:
        match expr:
            case All():
                return _joined("And", [self.rule(i) for i in expr.items])
            case Any_():
                return _joined("Or", [self.rule(i) for i in expr.items])
            case Not():
                return {"Not": self.rule(expr.item)}
            case Member():
                rules = [self.compare(expr.operand, "==", v) for v in expr.values]
                held = _joined("Or", rules) if rules else _never(self.place(expr.operand).path)
                return {"Not": held} if expr.negated else held
            case Test():
                return self.test(expr)
            case Compare():
                if expr.op == "!=":
                    return {"Not": self.compare(expr.operand, "==", expr.value)}
                return self.compare(expr.operand, expr.op, expr.value)
        raise TypeError(expr)

    def compare(self, operand: Operand, op: str, value: Literal) -> Rule:
        place = self.place(operand)
        rules = [_guarded(place.path, op, value)]
        if place.alternative is not None:
            rules.append(_guarded(place.alternative, op, value))
        if place.default_when_present is not None and _holds(place.default_when_present, op, value):
            rules.append(_missing_in(place))
        return _joined("Or", rules)

    def test(self, expr: Test) -> Rule:
        place = self.place(expr.operand)
        paths = [place.path] + ([place.alternative] if place.alternative else [])
        rules: list[Rule] = []
        for path in paths:
            present = {"Variable": path, "IsPresent": True}
            if expr.function == "exists":
                rules.append(present)
            elif expr.function == "is_number":
                rules.append(_joined("And", [present, {"Variable": path, "IsNumeric": True}]))
            elif expr.function == "is_string":
                rules.append(_joined("And", [present, {"Variable": path, "IsString": True}]))
            else:
                rules.append(
                    _joined(
                        "And",
                        [
                            present,
                            {"Variable": path, "IsString": True},
                            {"Variable": path, "StringMatches": expr.pattern},
                        ],
                    )
                )
        # status is "failure" (a string) whenever the task's result exists.
        if place.default_when_present is not None and (
            expr.function in ("exists", "is_string")
            or (expr.function == "matches" and _matches("failure", expr.pattern or ""))
        ):
            rules.append(_missing_in(place))
        return _joined("Or", rules)


def _missing_in(place: _Place) -> Rule:
    return _joined(
        "And",
        [
            {"Variable": place.result, "IsPresent": True},
            {"Not": {"Variable": place.path, "IsPresent": True}},
        ],
    )


def _never(path: str) -> Rule:
    """A rule that never holds (`x in []`)."""
    return _joined(
        "And",
        [{"Variable": path, "IsPresent": True}, {"Not": {"Variable": path, "IsPresent": True}}],
    )


_STRING_OPS = {
    "==": "StringEquals",
    "<": "StringLessThan",
    "<=": "StringLessThanEquals",
    ">": "StringGreaterThan",
    ">=": "StringGreaterThanEquals",
}
_NUMERIC_OPS = {
    "==": "NumericEquals",
    "<": "NumericLessThan",
    "<=": "NumericLessThanEquals",
    ">": "NumericGreaterThan",
    ">=": "NumericGreaterThanEquals",
}


def _guarded(path: str, op: str, value: Literal) -> Rule:
    present: Rule = {"Variable": path, "IsPresent": True}
    if value is None:
        return _joined("And", [present, {"Variable": path, "IsNull": True}])
    if isinstance(value, bool):
        return _joined(
            "And",
            [
                present,
                {"Variable": path, "IsBoolean": True},
                {"Variable": path, "BooleanEquals": value},
            ],
        )
    if isinstance(value, str):
        return _joined(
            "And",
            [
                present,
                {"Variable": path, "IsString": True},
                {"Variable": path, _STRING_OPS[op]: value},
            ],
        )
    return _joined(
        "And",
        [
            present,
            {"Variable": path, "IsNumeric": True},
            {"Variable": path, _NUMERIC_OPS[op]: value},
        ],
    )


def _joined(kind: str, rules: list[Rule]) -> Rule:
    return rules[0] if len(rules) == 1 else {kind: rules}


# ---- evaluating (the reference semantics) -----------------------------------------------

Missing = object()
"""What `lookup` returns for a path that is not there."""


def evaluate(expr: Expr, lookup: Callable[[Operand], object]) -> bool:
    """Whether `expr` holds; `lookup(operand)` gives the value or `Missing`."""
    match expr:
        case All():
            return all(evaluate(i, lookup) for i in expr.items)
        case Any_():
            return any(evaluate(i, lookup) for i in expr.items)
        case Not():
            return not evaluate(expr.item, lookup)
        case Member():
            value = lookup(expr.operand)
            found = any(_holds(value, "==", v) for v in expr.values)
            return not found if expr.negated else found
        case Compare():
            value = lookup(expr.operand)
            if expr.op == "!=":
                return not _holds(value, "==", expr.value)
            return _holds(value, expr.op, expr.value)
        case Test():
            value = lookup(expr.operand)
            if expr.function == "exists":
                return value is not Missing
            if expr.function == "is_number":
                return _is_number(value)
            if expr.function == "is_string":
                return isinstance(value, str)
            return isinstance(value, str) and _matches(value, expr.pattern or "")
    raise TypeError(expr)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _holds(value: object, op: str, literal: Literal) -> bool:
    """`value op literal` with the guards' meaning: a different type is false."""
    if value is Missing:
        return False
    if literal is None:
        return value is None and op == "=="
    if isinstance(literal, bool):
        return isinstance(value, bool) and value == literal and op == "=="
    if isinstance(literal, str):
        if not isinstance(value, str):
            return False
    elif not _is_number(value):
        return False
    left: Any = value
    match op:
        case "==":
            return bool(left == literal)
        case "<":
            return bool(left < literal)
        case "<=":
            return bool(left <= literal)
        case ">":
            return bool(left > literal)
        case ">=":
            return bool(left >= literal)
    return False


def _matches(value: str, pattern: str) -> bool:
    """StringMatches: `*` is any run of characters, `\\*` a literal star."""
    regex = "".join(
        ".*" if part == "*" else re.escape(part.removeprefix("\\"))
        for part in re.findall(r"\\\*|\\\\|\*|[^*\\]+|\\", pattern)
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


# ---- bare paths (for_each, seconds_from) ------------------------------------------------


def parse_path(text: str, task_names: Collection[str] = ()) -> Operand:
    """A path that needs no source task: `context.x...` or `results.<task>.data...`."""
    if len(text) > MAX_EXPRESSION_LENGTH or any(c in text for c in "\r\n"):
        raise ExpressionError("a path is one line of at most 1024 characters", 1)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax ({exc.msg})", exc.offset or 1) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the path is nested too deeply", 1) from None
    if not isinstance(tree.body, ast.Name | ast.Attribute | ast.Subscript):
        raise ExpressionError(
            "expected a path such as context.items or results.<task>.data.items",
            _column(tree.body),
        )
    operand = _Parser(task_names).operand(tree.body)
    if operand.root not in ("context", "results") or (operand.task and operand.base != "data"):
        raise ExpressionError(
            "a path here starts with context. or results.<task>.data (there is no "
            "source task whose data, status or error it could mean)",
            1,
        )
    return operand


def json_path(operand: Operand, result_path: Callable[[str], str]) -> str:
    """The JSONPath of a path from `parse_path`."""
    if operand.root == "context":
        return "$.context" + render_segments(operand.segments)
    return f"{result_path(operand.task or '')}.data" + render_segments(operand.segments)
