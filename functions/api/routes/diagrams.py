"""Diagram routes: a flow, or an execution's path, as a Mermaid flowchart (DESIGN §7).

Content negotiation by Accept: `text/vnd.mermaid` (the default, also for */* or no
Accept), `text/plain` (the same text, for browsers that would download the other), or
`application/json` (`{"mermaid": "..."}`); none of them acceptable: 406.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from flow_manager.diagram import MEDIA_TYPE
from flow_manager.diagrams import Diagrams
from flow_manager.errors import FlowManagerError
from routes.responses import JSON, errors, json_response
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

TEXT = "text/plain"
OFFERED = (MEDIA_TYPE, JSON, TEXT)  # in order of preference, on a tie
MAX_ACCEPT_RANGES = 50  # a longer Accept is read no further


class Diagram(BaseModel):
    mermaid: str = Field(description="A Mermaid flowchart (`flowchart TD ...`).")


EXAMPLE = 'flowchart TD\n  f_start_node(("start"))\n  t0["fetch"]\n  f_start_node --> t0\n'


def _diagram_responses(description: str) -> dict[int, OpenAPIResponse]:
    return {
        200: {
            "description": description,
            "content": {
                MEDIA_TYPE: {"schema": {"type": "string", "example": EXAMPLE}},
                TEXT: {"schema": {"type": "string"}},
                JSON: {"model": Diagram},
            },
        }
    }


class NotAcceptable(FlowManagerError):
    def __init__(self, accept: str) -> None:
        super().__init__(
            f"a diagram is {', '.join(OFFERED)}; Accept allows none of them: {accept[:200]}",
            [{"available": list(OFFERED)}],
            "NotAcceptable",
        )


def negotiate(accept: str | None) -> str:
    """The offered media type the Accept header prefers (RFC 9110 §12.5.1): the most
    specific range matching a type gives its q; the higher q wins, then our order."""
    if not accept or not accept.strip():
        return MEDIA_TYPE
    ranges: list[tuple[str, float]] = []
    for item in accept.split(",")[:MAX_ACCEPT_RANGES]:
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    best, best_q = None, 0.0
    for offered in OFFERED:
        kind = offered.split("/")[0]
        matches = [
            (specificity, q)
            for media, q in ranges
            for specificity in [2 if media == offered else 1 if media == f"{kind}/*" else 0]
            if specificity or media == "*/*"
        ]
        if not matches:
            continue
        q = max(matches)[1]
        if q > best_q:
            best, best_q = offered, q
    if best is None:
        raise NotAcceptable(accept)
    return best


def _answer(text: str) -> Response[Diagram | str]:
    chosen = negotiate(router.current_event.headers.get("accept"))
    if chosen == JSON:
        response = json_response(200, Diagram(mermaid=text), {"Vary": "Accept"})
        return response
    return Response(
        status_code=200,
        content_type=f"{chosen}; charset=utf-8",
        body=text,
        headers={"Vary": "Accept"},
    )


def _diagrams() -> Diagrams:
    return Diagrams(executions())


@router.get(
    "/flows/<flow_id>/diagram",
    tags=["diagrams"],
    summary="The flow's current version as a Mermaid flowchart",
    description="Tasks are nodes shaped by type (a function task a rectangle, for_each a "
    "subroutine, wait a stadium, approval a hexagon, parallel a subgraph per branch); "
    "conditions are edges labelled success, failure or the case's `when`; a task no path "
    "reaches is dashed. `text/vnd.mermaid` by default; `Accept: application/json` gives "
    '{"mermaid": "..."}.',
    responses={
        **_diagram_responses("The flowchart"),
        **errors("FlowNotFound", "NotAcceptable"),
    },
)
def flow_diagram(flow_id: str) -> Response[Diagram | str]:
    return _answer(_diagrams().of_flow(flow_id))


@router.get(
    "/executions/<execution_id>/diagram",
    tags=["diagrams"],
    summary="The flowchart of the version an execution runs, with its path marked",
    description="As GET /flows/{flow_id}/diagram, for the execution's own version, plus "
    "classes: done (succeeded), failed, active (running, or waiting for an approval or "
    "a timer); the edges the run took are drawn thicker.",
    responses={
        **_diagram_responses("The flowchart with the path"),
        **errors("ExecutionNotFound", "FlowNotFound", "NotAcceptable"),
    },
)
def execution_diagram(execution_id: str) -> Response[Diagram | str]:
    return _answer(_diagrams().of_execution(execution_id))
