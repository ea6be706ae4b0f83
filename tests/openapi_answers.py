"""Hold a real answer to what our /openapi.json declares for its operation, with every object closed
(`additionalProperties: false` wherever the schema lists properties and says nothing about others), so an
undocumented field is a violation as much as a wrong type. (Not a test module; used by the contract walk and the
API docs tests.)"""

from __future__ import annotations

from typing import Any


def closed(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def served_routes(app) -> list[tuple[frozenset, str, bool, str | None]]:
    """(methods, path, shown in the schema, summary) of every route the app serves, hidden ones included."""
    from fastapi.routing import iter_route_contexts

    return [(frozenset(ctx.methods or ()), ctx.path, bool(getattr(ctx, "include_in_schema", True)),
             getattr(ctx.route, "summary", None)) for ctx in iter_route_contexts(app.routes)]


def segments(path: str) -> tuple:
    """`/api/rss/feeds/{id}` and `/api/rss/feeds/{feed_id}` are the same operation."""
    return tuple("{}" if s.startswith("{") else s for s in path.strip("/").split("/"))


class AnswerChecker:
    def __init__(self, spec: dict[str, Any]):
        self.paths = spec["paths"]
        self.components = closed(spec.get("components", {}))

    def operation(self, method: str, path: str) -> dict[str, Any]:
        want = segments(path)
        for template, item in self.paths.items():
            if segments(template) == want and method.lower() in item:
                return item[method.lower()]
        raise AssertionError(f"{method} {path} is not in /openapi.json")

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        import jsonschema

        resp = self.operation(method, path)["responses"].get(str(status))
        if resp is None:
            return [f"status {status} is not declared"]
        schema = ((resp.get("content") or {}).get("application/json") or {}).get("schema")
        if not schema:
            return [f"status {status} declares no JSON body"]
        root = {**closed(schema), "components": self.components}
        validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        return [f"openapi: {'/'.join(str(p) for p in e.absolute_path) or 'body'}: {e.message[:200]}"
                for e in validator.iter_errors(body)][:10]
