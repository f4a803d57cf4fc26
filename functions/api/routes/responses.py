"""HTTP answers: the one error body, the status of every domain error code, and the
OpenAPI entries that document them. Routes and the resolver's error handlers share it,
so a code's status is written down once."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from flow_manager.errors import FlowManagerError, Problem

JSON = "application/json"

STATUS_OF: dict[str, HTTPStatus] = {
    "BadRequest": HTTPStatus.BAD_REQUEST,
    "MalformedJson": HTTPStatus.BAD_REQUEST,
    "InvalidBody": HTTPStatus.BAD_REQUEST,
    "InvalidPageToken": HTTPStatus.BAD_REQUEST,
    "InvalidParameter": HTTPStatus.BAD_REQUEST,
    "RouteNotFound": HTTPStatus.NOT_FOUND,
    "FlowNotFound": HTTPStatus.NOT_FOUND,
    "ExecutionNotFound": HTTPStatus.NOT_FOUND,
    "ScheduleNotFound": HTTPStatus.NOT_FOUND,
    "MethodNotAllowed": HTTPStatus.METHOD_NOT_ALLOWED,
    "NotAcceptable": HTTPStatus.NOT_ACCEPTABLE,
    "FlowAlreadyExists": HTTPStatus.CONFLICT,
    "FlowBusy": HTTPStatus.CONFLICT,
    "ExecutionNotRunning": HTTPStatus.CONFLICT,
    "ApprovalNotWaiting": HTTPStatus.CONFLICT,
    "ExecutionNotRetryable": HTTPStatus.CONFLICT,
    "ScheduleExists": HTTPStatus.CONFLICT,
    "ExecutionAlreadyStarted": HTTPStatus.CONFLICT,
    "VersionConflict": HTTPStatus.PRECONDITION_FAILED,
    "PayloadTooLarge": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "UnsupportedMediaType": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "InvalidFlow": HTTPStatus.UNPROCESSABLE_ENTITY,
    "InvalidContext": HTTPStatus.UNPROCESSABLE_ENTITY,
    "InvalidRequest": HTTPStatus.UNPROCESSABLE_ENTITY,
    "IdempotencyKeyReused": HTTPStatus.UNPROCESSABLE_ENTITY,
    "PreconditionRequired": HTTPStatus.PRECONDITION_REQUIRED,
    "ServiceUnavailable": HTTPStatus.SERVICE_UNAVAILABLE,
}

# What each code means to a client, in the OpenAPI description of the status it has.
MEANING: dict[str, str] = {
    "BadRequest": "a header or parameter is malformed (e.g. If-Match, Idempotency-Key)",
    "MalformedJson": "the body is not JSON text (syntax, NaN, a lone surrogate, too deep)",
    "InvalidBody": "the body is not UTF-8 (or not base64 where the event says so)",
    "InvalidPageToken": "next_token was not issued by this list",
    "InvalidParameter": "a path, query or header parameter is invalid",
    "FlowNotFound": "no such flow",
    "ExecutionNotFound": "no such execution",
    "FlowBusy": "another change of the flow is under way, or executions run: retry later",
    "FlowAlreadyExists": "another flow has this id",
    "ExecutionNotRunning": "the execution has ended",
    "VersionConflict": "If-Match names a version that is not current (or a weak tag)",
    "PayloadTooLarge": "the body is over 256 KiB",
    "UnsupportedMediaType": "the body is not JSON (application/json or */*+json)",
    "InvalidFlow": "the flow breaks the flow language's rules; details locate each",
    "InvalidContext": "the context is not an object, or too large",
    "InvalidRequest": "the body does not have the documented shape",
    "IdempotencyKeyReused": "the Idempotency-Key came with another request before",
    "PreconditionRequired": "If-Match is missing: say which version you replace",
}

# A request with a body can fail before it reaches a route: size, media type, encoding.
BODY_ERRORS = (
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "MalformedJson",
    "InvalidBody",
    "InvalidRequest",
)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable name of the error, e.g. FlowNotFound.")
    message: str
    details: list[Any] = Field(
        default_factory=list, description="Problems ({location, message}) or facts."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


def status_of(exc: FlowManagerError) -> HTTPStatus:
    return STATUS_OF.get(exc.code, HTTPStatus.INTERNAL_SERVER_ERROR)


def error_response(exc: FlowManagerError, headers: dict[str, str] | None = None) -> Response[Any]:
    details = [
        {"location": d.location, "message": d.message} if isinstance(d, Problem) else d
        for d in exc.details
    ]
    body = {"error": {"code": exc.code, "message": exc.message, "details": details}}
    return Response(status_code=status_of(exc), content_type=JSON, body=body, headers=headers)


def errors(*codes: str) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error statuses a route can answer."""
    found: dict[int, OpenAPIResponse] = {}
    for code in codes:
        status = STATUS_OF[code]
        entry = found.setdefault(
            status.value,
            {"description": "", "content": {JSON: {"model": ErrorBody}}},
        )
        meaning = f"{code}: {MEANING[code]}" if code in MEANING else code
        entry["description"] = " | ".join(filter(None, [entry["description"], meaning]))
    # Any route may meet AWS throttling (retry) or a fault of ours.
    found[HTTPStatus.SERVICE_UNAVAILABLE.value] = {
        "description": "ServiceUnavailable: AWS is busy, retry the request",
        "content": {JSON: {"model": ErrorBody}},
    }
    found[HTTPStatus.INTERNAL_SERVER_ERROR.value] = {
        "description": "InternalError: a fault of the service (logged)",
        "content": {JSON: {"model": ErrorBody}},
    }
    return found


def ok(status: int, model: type[BaseModel], description: str) -> dict[int, OpenAPIResponse]:
    return {status: {"description": description, "content": {JSON: {"model": model}}}}


def json_response(
    status: int, model: BaseModel, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=model.model_dump(mode="json"),
        headers=headers,
    )
