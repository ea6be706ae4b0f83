"""/openapi.json (and so /docs): FastAPI's schema, completed with what FastAPI cannot see by itself.

- Success bodies: each route's response model from shared/api/schemas (documentation only, see there why), in
  the `{success, data}` envelope the route really sends.
- Error answers every route can give. They come from layers around the routes, not from the routes themselves:
  the bearer gate (401), the input guard and validation (400), the body limit (413), an unknown id (404), a
  conflict (409), the login limits (429), an external service that failed (502: a platform, YouTube, a feed
  host, storage) and our own infrastructure being down (503, with Retry-After). Validation errors are 400 with
  the field list, never FastAPI's 422 (which is dropped). Login keeps the SPA's own failure shape.
- The bearer scheme (`Authorization: Bearer <token>`, the token from POST /api/auth/login), so the Authorize
  button of /docs works, and which operations need it.

Internal QStash routes (/api/internal/*) are not in the schema (their routers say `include_in_schema=False`).
Everything here runs once, on the first request for /openapi.json, never at import or on the request path.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "ErrorEnvelope"
BEARER = "bearerAuth"
_DESCRIPTIONS = {
    "400": "Invalid input: a request that fails validation lists its fields in `error.details` "
           "(`[{field, message, type}]`); other 400s (NUL characters, values a column cannot hold, nesting too deep, "
           "a rule of the route) explain themselves in `message` and `details`",
    "401": "Missing, invalid, expired or revoked token",
    "404": "Not found",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "429": "Too many attempts (Retry-After says when to come back)",
    "502": "An external service (platform, YouTube, feed host, storage, AI provider) failed or is unreachable",
    "503": "Postgres or Redis is unreachable right now (Retry-After says when to come back)",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}
_BEARER_SCHEME = {
    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    "description": "A session token: POST /api/auth/login with `{\"password\": \"...\"}` answers `{success: true, "
                   "token}`; paste the token here (without \"Bearer \"). The static API_KEY, when one is "
                   "configured, works the same way.",
}


def _operations(schema: dict[str, Any]):
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                yield path, method, op


def model_schemas(models: list[Any]) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """(model -> {"$ref": ...}, component schemas) for the models, in one pass so shared parts are defined once."""
    from pydantic.json_schema import models_json_schema

    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "serialization") for m in unique],
                                   ref_template="#/components/schemas/{model}")
    return {m: refs[(m, "serialization")] for m in unique}, top.get("$defs", {})


def _describe(model: Any) -> str | None:
    """The answer's description: the docstring of what `data` holds (of its items, for a list)."""
    import typing

    target = model
    args = (getattr(model, "__pydantic_generic_metadata__", None) or {}).get("args") or ()
    if args:
        target = args[0]
        if typing.get_origin(target) in (list, dict):
            target = typing.get_args(target)[-1]
    doc = getattr(target, "__doc__", None)
    if not doc or doc.startswith(("A base class", "Usage docs", "!!!")) or target is dict or target is list:
        return None
    return " ".join(doc.split())


def _add_components(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in defs.items():
        if name in components and components[name] != body:
            raise ValueError(f"two different schemas are named {name}: rename one of the models")
        components[name] = body


def with_documented_answers(schema: dict[str, Any], success: dict[str, Any],
                            errors: dict[str, dict[str, tuple[Any, str]]]) -> dict[str, Any]:
    """Success models by "METHOD /path" into each operation's 2xx answer; the error answers beside them (the
    ErrorEnvelope, or the route's own (model, description) by status in `errors`)."""
    from shared.api.auth import needs_bearer
    from shared.api.schemas.base import ErrorEnvelope

    models = [ErrorEnvelope, *success.values(), *(m for per in errors.values() for m, _ in per.values())]
    refs, defs = model_schemas(models)
    schema.setdefault("components", {}).setdefault("schemas", {})
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    _add_components(schema, defs)
    envelope = refs[ErrorEnvelope]
    for path, method, op in _operations(schema):
        key = f"{method.upper()} {path}"
        responses = op["responses"]
        responses.pop("422", None)
        model = success.get(key)
        if model is not None:
            code = next((c for c in responses if c.startswith("2")), "200")
            answer = responses.setdefault(code, {"description": "OK"})
            answer["content"] = {"application/json": {"schema": refs[model]}}
            described = _describe(model)
            if described and answer.get("description") in (None, "", "Successful Response"):
                answer["description"] = described
        own = errors.get(key, {})
        codes = ["503"] if path == "/health" else [
            c for c in _DESCRIPTIONS if c != "401" or needs_bearer(path) or c in own]
        for code in [*codes, *(c for c in own if c not in codes)]:
            if code in responses:
                continue
            model, description = own.get(code, (None, _DESCRIPTIONS.get(code)))
            responses[code] = {"description": description,
                               "content": {"application/json": {"schema": refs[model] if model else envelope}}}
            if code in ("429", "503"):
                responses[code]["headers"] = _RETRY_AFTER
    return schema


def with_request_bodies(schema: dict[str, Any], bodies: dict[str, dict[str, Any]],
                        headers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Bodies and headers of the routes that read the request themselves (JSON or multipart in one route)."""
    refs, defs = model_schemas([m for per in bodies.values() for m in per.values()])
    _add_components(schema, defs)
    for path, method, op in _operations(schema):
        key = f"{method.upper()} {path}"
        if key in bodies:
            op["requestBody"] = {"required": True, "content": {
                media: {"schema": refs[model]} for media, model in bodies[key].items()}}
        if key in headers:
            op.setdefault("parameters", []).extend(headers[key])
    return schema


def with_bearer_scheme(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer scheme and mark which operations need it (the same rule the gate applies)."""
    from shared.api.auth import needs_bearer

    schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = _BEARER_SCHEME
    for path, _, op in _operations(schema):
        if needs_bearer(path):
            op["security"] = [{BEARER: []}]
        elif path.startswith("/api/"):
            op["security"] = []  # public: login and verify
    return schema


def build(app, original) -> dict[str, Any]:
    from shared.api import schemas
    from shared.api.schemas.platforms import HEADERS, REQUESTS
    from shared.api.schemas.system import ERRORS

    schema = with_documented_answers(original(), schemas.responses(), ERRORS)
    return with_bearer_scheme(with_request_bodies(schema, REQUESTS, HEADERS))


def install(app) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, original)
        return app.openapi_schema

    app.openapi = openapi
