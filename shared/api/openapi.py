"""The error answers every route can give, declared in /openapi.json (what a client generator or a schema-driven
fuzzer such as schemathesis holds our answers to).

They come from layers around the routes, not from the routes themselves: the bearer gate (401), the input guard
and validation (400), the body limit (413), an unknown id (404), a conflict (409), the login limits (429), an
external service that failed (502: a platform, YouTube, a feed host, storage) and our own infrastructure being
down (503, with Retry-After). FastAPI's default 422 is never sent (validation errors are 400) and is dropped.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "ErrorEnvelope"
_DESCRIPTIONS = {
    "400": "Invalid input (validation, NUL characters, values a column cannot hold, nesting too deep)",
    "401": "Missing, invalid, expired or revoked token (QStash routes: missing or invalid signature)",
    "404": "Not found",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "429": "Too many attempts (Retry-After says when to come back)",
    "502": "An external service (platform, YouTube, feed host, storage, AI provider) failed or is unreachable",
    "503": "Postgres or Redis is unreachable right now (Retry-After says when to come back)",
}


def _envelope() -> dict[str, Any]:
    detail = {"type": "object", "required": ["code", "message"],
              "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}
    # login keeps the SPA's own shape: `error` is a string there, with code/message beside it
    return {"type": "object", "required": ["success", "error"],
            "properties": {"success": {"type": "boolean", "enum": [False]},
                           "error": {"anyOf": [{"type": "string"}, detail]}}}


def with_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = _envelope()
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    retry_after = {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            responses.pop("422", None)
            codes = ["503"] if path == "/health" else list(_DESCRIPTIONS)
            for code in codes:
                if code in responses:
                    continue
                body = {"type": "object"} if path == "/health" else ref
                responses[code] = {"description": _DESCRIPTIONS[code],
                                   "content": {"application/json": {"schema": body}}}
                if code in ("429", "503"):
                    responses[code]["headers"] = retry_after
    return schema


def install(app) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_error_responses(original())
        return app.openapi_schema

    app.openapi = openapi
