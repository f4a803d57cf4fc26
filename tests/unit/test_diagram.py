"""The Mermaid generator: shapes by task type, labels, escaping, the path of a report,
determinism; and (when tests/mermaid is installed) that Mermaid's own parser reads every
diagram back as we meant it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flow_manager.diagram import escape, execution_diagram, flow_diagram
from flow_manager.model import Flow, FlowDocument
from flow_manager.reports import ExecutionReport
from tests.support.mermaid import classes, edges, parse, taken

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "events" / "flows").glob("*.json"))


def flow(tasks: list[dict[str, Any]], conditions: list[dict[str, Any]] | None = None) -> Flow:
    return Flow.model_validate(
        {
            "name": "f",
            "start_task": tasks[0]["name"],
            "tasks": tasks,
            "conditions": conditions or [],
        }
    )


def cond(source: str, success: str, failure: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"after {source}",
        "source_task": source,
        "outcome": extra.pop("outcome", "success"),
        "target_task_success": success,
        "target_task_failure": failure,
        **extra,
    }


def report(status: str, results: dict[str, str], **extra: Any) -> ExecutionReport:
    return ExecutionReport.model_validate(
        {
            "execution_id": "e1",
            "flow_id": "f",
            "flow_version": 1,
            "status": status,
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:f:e1",
            "executed_tasks": list(results),
            "task_results": {name: {"status": s} for name, s in results.items()},
            **extra,
        }
    )


def node_line(text: str, node: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(node))


SAMPLE_FLOW = flow(
    [
        {"name": "fetch"},
        {"name": "pause", "type": "wait", "seconds": 5},
        {"name": "each", "function": "process_data", "for_each": "context.items"},
        {"name": "ok", "type": "approval"},
        {
            "name": "both",
            "type": "parallel",
            "branches": [
                {"name": "left", "start_task": "l1", "tasks": [{"name": "l1"}]},
                {
                    "name": "right",
                    "start_task": "r1",
                    "tasks": [{"name": "r1"}],
                    "conditions": [cond("r1", "end", "fail")],
                },
            ],
        },
    ],
    [
        cond("fetch", "pause", "fail"),
        cond("pause", "each", "fail"),
        cond("each", "ok", "fail"),
        cond("ok", "both", "succeed"),
    ],
)


# ---- shapes ------------------------------------------------------------------------------


def test_a_function_task_is_a_rectangle_named_after_the_task() -> None:
    assert node_line(flow_diagram(SAMPLE_FLOW), "t0") == 't0["fetch"]'


def test_a_wait_task_is_a_stadium_that_says_how_long() -> None:
    assert node_line(flow_diagram(SAMPLE_FLOW), "t1") == 't1(["pause<br/>wait 5 s"])'


def test_a_for_each_task_is_a_subroutine_that_names_its_array_and_function() -> None:
    line = node_line(flow_diagram(SAMPLE_FLOW), "t2")
    assert line == 't2[["each<br/>for each context.items<br/>process_data"]]'


def test_an_approval_task_is_a_hexagon() -> None:
    assert node_line(flow_diagram(SAMPLE_FLOW), "t3") == 't3{{"ok<br/>approval"}}'


def test_a_parallel_task_is_a_subgraph_with_one_subgraph_per_branch() -> None:
    lines = [line.strip() for line in flow_diagram(SAMPLE_FLOW).splitlines()]
    at = lines.index('subgraph t4 ["both (parallel)"]')
    assert lines[at + 1 : at + 4] == ['subgraph t4_b0 ["left"]', 't5["l1"]', "end"]
    assert lines[at + 4 : at + 6] == ['subgraph t4_b1 ["right"]', 't6["r1"]']


def test_terminal_targets_are_round_terminal_nodes() -> None:
    text = flow_diagram(SAMPLE_FLOW)
    assert node_line(text, "f_start_node") == 'f_start_node(("start"))'
    assert node_line(text, "f_fail_node") == 'f_fail_node((("fail")))'
    assert node_line(text, "f_succeed_node") == 'f_succeed_node((("succeed")))'
    assert node_line(text, "f_end_node") == 'f_end_node(("end"))'


def test_a_branch_draws_only_the_terminals_it_names() -> None:
    text = flow_diagram(SAMPLE_FLOW)
    assert ("t6", "t4_b1_end_node", "success") in edges(text)
    assert not any(source == "t5" for source, _, _ in edges(text))  # l1 just ends the branch


# ---- edges and labels ------------------------------------------------------------------------


def test_conditions_are_edges_labelled_with_the_status_that_takes_them() -> None:
    text = flow_diagram(SAMPLE_FLOW)
    assert ("t0", "t1", "success") in edges(text)
    assert ("t0", "f_fail_node", "failure") in edges(text)
    assert ("f_start_node", "t0", "") in edges(text)
    assert ("t4", "f_end_node", "") in edges(text)  # no condition: the flow ends


def test_a_condition_on_failure_labels_its_edges_the_other_way_round() -> None:
    f = flow(
        [{"name": "a"}, {"name": "b"}, {"name": "c"}], [cond("a", "b", "c", outcome="failure")]
    )
    assert {("t0", "t1", "failure"), ("t0", "t2", "success")} <= set(edges(flow_diagram(f)))


def test_cases_are_edges_labelled_with_their_when_and_the_default_says_otherwise() -> None:
    cases = [{"when": "context.n > 3", "target": "b"}, {"when": "context.vip", "target": "fail"}]
    f = flow([{"name": "a"}, {"name": "b"}, {"name": "c"}], [cond("a", "c", "end", cases=cases)])
    assert edges(flow_diagram(f))[1:] == [
        ("t0", "t1", "context.n #gt; 3"),
        ("t0", "f_fail_node", "context.vip"),
        ("t0", "t2", "success, otherwise"),
        ("t0", "f_end_node", "failure"),
        ("t1", "f_end_node", ""),
        ("t2", "f_end_node", ""),
    ]


def test_two_exits_to_one_target_are_one_edge_with_both_labels() -> None:
    f = flow([{"name": "a"}], [cond("a", "fail", "fail")])
    assert ("t0", "f_fail_node", "success / failure") in edges(flow_diagram(f))


def test_an_unreachable_task_is_dashed_with_dotted_edges() -> None:
    f = flow([{"name": "a"}, {"name": "orphan"}], [cond("orphan", "a", "end")])
    text = flow_diagram(f)
    assert classes(text) == {"t1": "unreachable"}
    assert '  t1 -.->|"success"| t0' in text.splitlines()


# ---- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', "say #quot;hi#quot;"),
        ("<script>", "#lt;script#gt;"),
        ("a # b", "a #35; b"),
        ("`md`", "#96;md#96;"),
        ("%%{init: {}}%%", "#37;#37;{init: {}}#37;#37;"),
        ("line\nbreak\r\n  x", "line break x"),
        ("a|b;c&d\\", "a#124;b#59;c#amp;d#92;"),
    ],
)
def test_client_text_is_escaped_into_one_safe_line(text: str, expected: str) -> None:
    assert escape(text) == expected


def test_long_client_text_is_cut_with_an_ellipsis() -> None:
    assert escape("x" * 100, limit=10) == "x" * 9 + "…"


HOSTILE_WHEN = (
    'context.a == "x\\"]) --> evil\n%%{init: {"theme": "dark"}}%%\nclick t0 call alert()`'
)
HOSTILE = flow(
    [{"name": "a-b_c"}, {"name": "end-x"}, {"name": "o-x"}],
    [cond("a-b_c", "o-x", "end-x", cases=[{"when": HOSTILE_WHEN, "target": "end-x"}])],
)


def test_hostile_when_text_stays_inside_its_label() -> None:
    text = flow_diagram(HOSTILE)
    assert "%%" not in text
    outside_quotes = "".join(text.split('"')[0::2])
    assert "click" not in outside_quotes
    assert "evil" not in outside_quotes
    label_line = next(line for line in text.splitlines() if line.startswith("  t0 -->|"))
    assert label_line.count('"') == 2
    assert "\n" not in label_line


def test_node_ids_are_generated_not_task_names() -> None:
    text = flow_diagram(HOSTILE)
    assert [line.split("[")[0].strip() for line in text.splitlines()[2:5]] == ["t0", "t1", "t2"]


# ---- an execution's path --------------------------------------------------------------------


ROUTED = flow(
    [{"name": "fetch"}, {"name": "process"}, {"name": "recover"}],
    [cond("fetch", "process", "recover")],
)


def test_an_execution_marks_done_and_failed_tasks_and_the_edges_it_took() -> None:
    text = execution_diagram(
        ROUTED, report("completed", {"fetch": "failure", "recover": "success"})
    )
    assert classes(text) == {"t0": "failed", "t2": "done", "f_end_node": "done"}
    assert taken(text) == [("f_start_node", "t0"), ("t0", "t2"), ("t2", "f_end_node")]


def test_a_running_task_is_active_and_the_path_stops_there() -> None:
    text = execution_diagram(ROUTED, report("running", {"fetch": "success", "process": "running"}))
    assert classes(text) == {"t0": "done", "t1": "active"}
    assert taken(text) == [("f_start_node", "t0"), ("t0", "t1")]


def test_a_waiting_approval_is_active() -> None:
    f = flow([{"name": "ask", "type": "approval"}, {"name": "ship"}], [cond("ask", "ship", "fail")])
    waiting = report("running", {"ask": "running"}, waiting_for={"task": "ask"})
    assert classes(execution_diagram(f, waiting)) == {"t0": "active"}


def test_a_failed_execution_marks_its_end_failed() -> None:
    f = flow([{"name": "a"}], [cond("a", "end", "fail")])
    text = execution_diagram(f, report("failed", {"a": "failure"}, failed_task="a"))
    assert classes(text) == {"t0": "failed", "f_fail_node": "failed"}


def test_the_case_taken_is_the_one_whose_target_ran() -> None:
    cases = [{"when": "context.big", "target": "b"}]
    f = flow([{"name": "a"}, {"name": "b"}, {"name": "c"}], [cond("a", "c", "end", cases=cases)])
    text = execution_diagram(f, report("completed", {"a": "success", "c": "success"}))
    assert ("t0", "t2") in taken(text)
    assert ("t0", "t1") not in taken(text)


def test_a_wait_is_done_when_what_follows_it_ran() -> None:
    f = flow([{"name": "w", "type": "wait", "seconds": 1}, {"name": "b"}], [cond("w", "b", "fail")])
    text = execution_diagram(f, report("completed", {"b": "success"}))
    assert classes(text)["t0"] == "done"
    assert taken(text)[:2] == [("f_start_node", "t0"), ("t0", "t1")]


def test_a_wait_a_running_execution_has_not_passed_is_active() -> None:
    f = flow(
        [{"name": "w", "type": "wait", "seconds": 60}, {"name": "b"}], [cond("w", "b", "fail")]
    )
    assert classes(execution_diagram(f, report("running", {}))) == {"t0": "active"}


def test_a_parallel_task_is_done_when_every_branch_completed() -> None:
    results = {
        "fetch": "success",
        "each": "success",
        "ok": "success",
        "l1": "success",
        "r1": "success",
    }
    text = execution_diagram(SAMPLE_FLOW, report("completed", results))
    marked = classes(text)
    assert (marked["t4"], marked["t5"], marked["t6"], marked["t1"]) == ("done",) * 4
    assert ("t6", "t4_b1_end_node") in taken(text)
    assert ("t4", "f_end_node") in taken(text)


def test_a_parallel_task_fails_when_a_branch_fails() -> None:
    results = {
        "fetch": "success",
        "each": "success",
        "ok": "success",
        "l1": "success",
        "r1": "failure",
    }
    text = execution_diagram(SAMPLE_FLOW, report("failed", results, failed_task="r1"))
    assert classes(text)["t4"] == "failed"
    assert ("t6", "t4_b1_fail_node") in taken(text)


# ---- determinism and Mermaid's parser ---------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_a_diagram_is_the_same_text_every_time(sample: Path) -> None:
    document = sample.read_text()
    first = flow_diagram(FlowDocument.model_validate_json(document).flow)
    assert flow_diagram(FlowDocument.model_validate_json(document).flow) == first


def test_mermaid_parses_every_sample_diagram_with_the_shapes_we_meant() -> None:
    flows = [FlowDocument.model_validate_json(p.read_text()).flow for p in SAMPLES]
    results = parse([flow_diagram(f) for f in flows])
    for sample, result in zip(SAMPLES, results, strict=True):
        assert result["ok"], (sample.name, result)
        assert result["type"] == "flowchart-v2"
    order = dict(zip([p.stem for p in SAMPLES], results, strict=True))["order_flow"]
    shapes = {v["id"]: v["type"] for v in order["vertices"]}
    assert (shapes["t1"], shapes["t2"], shapes["t3"]) == ("hexagon", "stadium", "subroutine")
    assert {s["id"] for s in order["subgraphs"]} == {"t4", "t4_b0", "t4_b1"}


def test_mermaid_reads_hostile_names_and_when_text_back_verbatim() -> None:
    (result,) = parse([flow_diagram(HOSTILE)])
    assert result["ok"], result
    texts = {v["id"]: v["text"] for v in result["vertices"]}
    assert (texts["t0"], texts["t1"], texts["t2"]) == ("a-b_c", "end-x", "o-x")
    labels = [e["text"] for e in result["edges"]]
    # the case and the failure exit share a target: one edge, both labels
    assert labels[1] == " ".join(HOSTILE_WHEN.split())[:59] + "… / failure"
    assert result["config"] == {}  # the %%{init}%% in the text was not a directive


def test_mermaid_parses_an_execution_diagram_with_its_classes_and_link_styles() -> None:
    results = {
        "fetch": "success",
        "each": "success",
        "ok": "success",
        "l1": "success",
        "r1": "failure",
    }
    (result,) = parse([execution_diagram(SAMPLE_FLOW, report("failed", results))])
    assert result["ok"], result
    by_id = {v["id"]: v["classes"] for v in result["vertices"]}
    assert by_id["t6"] == ["failed"]
    assert by_id["t0"] == ["done"]
    assert any(e["style"] and "stroke-width:3px" in e["style"] for e in result["edges"])


def test_a_case_into_a_recorded_task_beats_a_wait_that_joins_the_same_path() -> None:
    # Given a case to approval `ok` and a default to wait `w`, both joining at `b`
    cases = [{"when": "context.big", "target": "ok"}]
    f = flow(
        [
            {"name": "a"},
            {"name": "ok", "type": "approval"},
            {"name": "w", "type": "wait", "seconds": 1},
            {"name": "b"},
        ],
        [cond("a", "w", "end", cases=cases), cond("ok", "b", "end"), cond("w", "b", "end")],
    )
    # When the report shows a, ok and b (a wait is never in it)
    text = execution_diagram(
        f, report("completed", {"a": "success", "ok": "success", "b": "success"})
    )
    # Then the case edge is the one taken, and the wait is left unmarked
    assert ("t0", "t1") in taken(text)
    assert "t2" not in classes(text)
