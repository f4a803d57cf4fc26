"""`when` expressions: what is refused, where, and why (DESIGN §3.1)."""

from __future__ import annotations

import pytest

from flow_manager.expressions import ExpressionError, compile_rule, parse

TASKS = {"fetch", "charge"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dta.x == 1", "unknown name 'dta' at column 1 (did you mean 'data'?)"),
        (
            "foo(data.x)",
            "unknown function 'foo' at column 1 (the functions are exists, "
            "matches, is_number, is_string)",
        ),
        ("exist(data.x)", "unknown function 'exist' at column 1 (did you mean 'exists'?)"),
        (
            "data.x.upper() == 'A'",
            "unknown function 'data.x.upper' at column 1 (the functions are exists, "
            "matches, is_number, is_string)",
        ),
        ("(1).real == 1", "a value has no fields or items at column 2"),
        ("[x for x in data] == 1", "comprehensions are not allowed in a condition at column 1"),
        ("(lambda: 1) == 1", "lambdas are not allowed in a condition at column 2"),
        ("data['x'] == 1", "only a list index such as [0] may follow a field at column 6"),
        ("data.x[-1] == 1", "only a list index such as [0] may follow a field at column 8"),
        ("data.x == data.y", "compare a field with a value, not with another field at column 11"),
        ("1 == 1", "a comparison needs a field (data.x, context.x, results.<task>...) at column 1"),
        (
            "data.x",
            "'data.x' is a value, not a condition: compare it (e.g. data.x == true) "
            "or test it with exists(...) at column 1",
        ),
        ("data.x is None", "'Is' is not an operator here: use == or != at column 11"),
        ("data.x > true", "'>' compares numbers or strings, not a boolean at column 10"),
        ("data.x + 1 > 2", "arithmetic is not allowed in a condition at column 1"),
        ("data.x in 'abc'", "'in' needs a list of values, e.g. in ['a', 'b'] at column 11"),
        ("results.fecth.data.x == 1", "unknown task 'fecth' at column 1 (did you mean 'fetch'?)"),
        (
            "results.fetch.dat == 1",
            "a result has data, status and error, not 'dat' (did you mean 'data'?) at column 1",
        ),
        ("status.x == 1", "'status' is a string: it has no fields at column 1"),
        ("data.é == 1", "'é' is not a field name (ASCII letters, digits, '_') at column 1"),
        (
            "data.a[0].b == 1",
            "a field after a list index is not supported ('data.a[0].b'): "
            "index the last step only at column 1",
        ),
        ("", "the expression is empty at column 1"),
        ("data.x ==\n1", "an expression is one line at column 10"),
    ],
)
def test_an_expression_outside_the_language_is_a_located_error(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text, TASKS)
    assert str(caught.value) == message


def test_a_syntax_error_names_its_column() -> None:
    with pytest.raises(ExpressionError, match=r"invalid syntax .* at column \d+"):
        parse("data.x ==", TASKS)


def test_a_comparison_is_guarded_by_presence_and_type() -> None:
    rule = compile_rule(parse("data.amount > 1000"), lambda t: f"$.results.{t}", "charge")
    assert rule == {
        "And": [
            {"Variable": "$.results.charge.data.amount", "IsPresent": True},
            {"Variable": "$.results.charge.data.amount", "IsNumeric": True},
            {"Variable": "$.results.charge.data.amount", "NumericGreaterThan": 1000},
        ]
    }


def test_not_equal_is_the_negation_so_a_missing_field_makes_it_true() -> None:
    rule = compile_rule(parse("context.country != 'DE'"), lambda t: f"$.results.{t}", "x")
    assert rule == {
        "Not": {
            "And": [
                {"Variable": "$.context.country", "IsPresent": True},
                {"Variable": "$.context.country", "IsString": True},
                {"Variable": "$.context.country", "StringEquals": "DE"},
            ]
        }
    }


def test_a_chain_is_the_and_of_its_pairs_with_the_literal_side_flipped() -> None:
    rule = compile_rule(parse("1 < data.n <= 5"), lambda t: f"$.results.{t}", "t")
    assert [r["And"][2] for r in rule["And"]] == [
        {"Variable": "$.results.t.data.n", "NumericGreaterThan": 1},
        {"Variable": "$.results.t.data.n", "NumericLessThanEquals": 5},
    ]


def test_a_hyphenated_task_is_read_through_a_bracket_path() -> None:
    from flow_manager.translator import result_path

    rule = compile_rule(parse("exists(data.x)"), result_path, "task-1")
    assert rule == {"Variable": "$.results['task-1'].data.x", "IsPresent": True}
