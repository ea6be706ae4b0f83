"""The envelope every /api success answer wears, the error envelope, and small shared answers."""

from __future__ import annotations

import types
import typing
from typing import Any, Generic, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


def _name(tp: Any) -> str:
    """A readable schema name for a type parameter: `list[RSSFeed]` -> `RSSFeedList`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list:
        return f"{_name(args[0])}List"
    if origin is dict:
        return f"{_name(args[1])}Map"
    if origin in (Union, types.UnionType):
        return "Or".join(_name(a) for a in args)
    return getattr(tp, "__name__", str(tp))


class Envelope(BaseModel, Generic[T]):
    """`{success: true, data}`: the SPA's api client returns `data` (frontend-contract §0)."""
    success: Literal[True]
    data: T
    meta: dict[str, Any] | None = Field(default=None, description="extra facts about the answer, when there are any")

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return f"{_name(params[0])}Envelope"


class FieldProblem(BaseModel):
    """One invalid field of a request that failed validation."""
    field: str = Field(description="dotted path of the field (`body` for the body as a whole)")
    message: str
    type: str | None = Field(default=None, description="pydantic's error type, e.g. `missing`, `string_too_long`")


class ErrorDetail(BaseModel):
    code: str = Field(description="VALIDATION_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE, "
                                  "RATE_LIMIT_EXCEEDED, API_ERROR (an upstream service failed), SERVICE_UNAVAILABLE, "
                                  "or a route's own code (PLATFORM_NOT_CONNECTED, NOT_READY, ...)",
                      examples=["VALIDATION_ERROR"])
    message: str = Field(description="for the owner to read",
                         examples=["request validation failed: url: Field required"])
    details: list[FieldProblem] | dict[str, Any] | list[Any] | str | int | float | bool | None = Field(
        default=None, description="a request that failed validation lists its fields here; other errors give the "
                                  "facts that explain them (the conflicting id, the limit, the unknown keys)")


class ErrorEnvelope(BaseModel):
    """`{success: false, error: {code, message, details}}`, with the HTTP status that matches the code."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "success": False, "error": {"code": "VALIDATION_ERROR", "message": "request validation failed: url: Field "
                                    "required", "details": [{"field": "url", "message": "Field required",
                                                             "type": "missing"}]}}]})
    success: Literal[False]
    error: ErrorDetail


class Deleted(BaseModel):
    deleted: Literal[True]


class Count(BaseModel):
    deleted: int = Field(description="how many were deleted")


class NotificationText(BaseModel):
    """What the SPA shows in its toast after the change (frontend-contract §1.2)."""
    notificationTitle: str
    notificationMessage: str
