"""`when` expressions (DESIGN §3.1) compiled to Choice rules, executed by moto, agree
with a small reference evaluator written here, independent of the module's parser.

Each example: random data (fields missing, null, booleans, numbers, strings, lists),
a random expression over it, rendered as text; the text is parsed and compiled by
`flow_manager.expressions`, put in a tiny state machine (Pass with the state → Choice
→ Succeed "held" / Fail "not held") and executed; the reference evaluator says which.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow_manager.expressions import Missing, compile_rule, evaluate, parse
from flow_manager.translator import result_path
from tests.support.sfn import SfnHarness

MISSING = object()
FIELDS = ("a", "b", "c")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=5)
    | st.sampled_from([0.5, -1.5, 2.0])
    | st.sampled_from(["", "a", "ab", "abc", "b", "failure", "success", "B"])
)
values = scalars | st.lists(scalars, max_size=2)
literals = scalars


@st.composite
def results(draw: st.DrawFn) -> dict[str, Any]:
    """The source task's result as Step Functions stores it: returned, or caught."""
    if draw(st.booleans()):
        data = draw(
            st.none()
            | st.dictionaries(st.sampled_from(FIELDS), values, max_size=3)
            | st.lists(scalars, max_size=2)
        )
        return {
            "status": draw(st.sampled_from(["success", "failure"])),
            "data": data,
            "error": draw(st.none() | st.sampled_from(["boom", "a"])),
        }
    return {"Error": draw(st.sampled_from(["ScriptedError", "States.Timeout"])), "Cause": "x"}


paths = st.sampled_from(
    [
        "data.a",
        "data.b",
        "data.c",
        "data.a[0]",
        "data.b[1]",
        "context.x",
        "context.y",
        "status",
        "error",
        "data",
    ]
)


def render(value: Any, draw: st.DrawFn) -> str:
    if value is None:
        return draw(st.sampled_from(["null", "None"]))
    if isinstance(value, bool):
        return draw(st.sampled_from([["false", "False"], ["true", "True"]][value]))
    return repr(value)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[Any, str]:
    """(tree, text)."""
    kind = draw(
        st.sampled_from(
            ["cmp", "cmp", "in", "test", "and", "or", "not"] if depth < 2 else ["cmp", "in", "test"]
        )
    )
    if kind in ("and", "or"):
        left, left_text = draw(expressions(depth + 1))
        right, right_text = draw(expressions(depth + 1))
        return (kind, left, right), f"({left_text}) {kind} ({right_text})"
    if kind == "not":
        inner, text = draw(expressions(depth + 1))
        return ("not", inner), f"not ({text})"
    path = draw(paths)
    if kind == "in":
        items = draw(st.lists(literals, max_size=3))
        negated = draw(st.booleans())
        rendered = ", ".join(render(v, draw) for v in items)
        return ("in", path, items, negated), f"{path} {'not in' if negated else 'in'} [{rendered}]"
    if kind == "test":
        function = draw(st.sampled_from(["exists", "is_number", "is_string", "matches"]))
        if function == "matches":
            pattern = draw(st.sampled_from(["a*", "*b", "a", "*", "fail*"]))
            return ("matches", path, pattern), f"matches({path}, {pattern!r})"
        return (function, path), f"{function}({path})"
    value = draw(literals)
    ops = (
        ["==", "!="]
        if value is None or isinstance(value, bool)
        else ["==", "!=", "<", "<=", ">", ">="]
    )
    op = draw(st.sampled_from(ops))
    if draw(st.booleans()):
        return ("cmp", path, op, value), f"{path} {op} {render(value, draw)}"
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    return ("cmp", path, op, value), f"{render(value, draw)} {flipped} {path}"


# ---- the reference evaluator ---------------------------------------------------------------


def lookup(path: str, context: dict[str, Any], result: dict[str, Any]) -> Any:
    if path == "status":
        return result.get("status", "failure")
    if path == "error":
        return result["error"] if "error" in result else result.get("Error", MISSING)
    root, _, rest = path.partition(".")
    value: Any = context if root == "context" else result.get("data", MISSING)
    for step in rest.replace("[", ".[").split(".") if rest else []:
        if step.startswith("["):
            index = int(step[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else MISSING
        else:
            value = value.get(step, MISSING) if isinstance(value, dict) else MISSING
    return value


def same_type(value: Any, literal: Any) -> bool:
    def kind(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int | float):
            return "number"
        return type(v).__name__

    return value is not MISSING and kind(value) == kind(literal)


def holds(value: Any, op: str, literal: Any) -> bool:
    if op == "!=":
        return not holds(value, "==", literal)
    if not same_type(value, literal):
        return False
    return (
        bool(
            {
                "==": value == literal,
                "<": value < literal,
                "<=": value <= literal,
                ">": value > literal,
                ">=": value >= literal,
            }[op]
        )
        if literal is not None
        else True
    )


def star_match(value: str, pattern: str) -> bool:
    if "*" not in pattern:
        return value == pattern
    head, *middle, tail = pattern.split("*")
    if not value.startswith(head) or not value[len(head) :].endswith(tail):
        return False
    rest = value[len(head) : len(value) - len(tail) if tail else None]
    for part in middle:
        found = rest.find(part)
        if found < 0:
            return False
        rest = rest[found + len(part) :]
    return len(value) >= len(head) + len(tail)


def reference(tree: Any, context: dict[str, Any], result: dict[str, Any]) -> bool:
    kind = tree[0]
    if kind == "and":
        return reference(tree[1], context, result) and reference(tree[2], context, result)
    if kind == "or":
        return reference(tree[1], context, result) or reference(tree[2], context, result)
    if kind == "not":
        return not reference(tree[1], context, result)
    value = lookup(tree[1], context, result)
    if kind == "cmp":
        return holds(value, tree[2], tree[3])
    if kind == "in":
        found = any(holds(value, "==", v) for v in tree[2])
        return not found if tree[3] else found
    if kind == "exists":
        return value is not MISSING
    if kind == "is_number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "is_string":
        return isinstance(value, str)
    return isinstance(value, str) and star_match(value, tree[2])


def machine(rule: dict[str, Any], state: dict[str, Any]) -> str:
    return json.dumps(
        {
            "StartAt": "Given",
            "States": {
                "Given": {"Type": "Pass", "Result": state, "Next": "When"},
                "When": {
                    "Type": "Choice",
                    "Choices": [{**rule, "Next": "Held"}],
                    "Default": "NotHeld",
                },
                "Held": {"Type": "Succeed"},
                "NotHeld": {"Type": "Fail", "Error": "NotHeld"},
            },
        }
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=expressions(),
    result=results(),
    context=st.dictionaries(st.sampled_from(["x", "y"]), values, max_size=2),
)
def test_a_compiled_expression_holds_in_moto_exactly_when_the_reference_says(
    module_sfn: SfnHarness,
    expression: tuple[Any, str],
    result: dict[str, Any],
    context: dict[str, Any],
) -> None:
    # Given an expression, its source task's result and a context
    tree, text = expression
    rule = compile_rule(parse(text), result_path, "src")
    # When its Choice rule runs in Step Functions
    run = module_sfn.run(machine(rule, {"context": context, "results": {"src": result}}), {})
    # Then it took the branch the reference evaluator predicts, and nothing raised
    expected = reference(tree, context, result)
    assert run.status == ("SUCCEEDED" if expected else "FAILED"), (text, run.error, run.cause)
    if not expected:
        assert run.error == "NotHeld", (text, run.error, run.cause)
    # And the module's own evaluator (what model.predict uses) agrees
    found = evaluate(parse(text), lambda o: _missing(lookup(o.text, context, result)))
    assert found == expected, text


def _missing(value: Any) -> Any:
    return Missing if value is MISSING else value
