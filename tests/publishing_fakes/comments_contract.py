"""Request checks for the comment endpoints of the platform fakes, read from the platforms' own descriptions
(/work/shared/reference/platform-specs, see its README): X's OpenAPI, YouTube's discovery document, Meta's Graph
node specs. Threads publishes none; its fake checks the rules of its docs pages itself (comments_threads.py).

One hook for the fakes: `VALIDATE(kind, request) -> list[str]` (the problems found, empty when the request is
what the description allows). It is a thin checker for the few comment endpoints only; when the shared spec
validators of tests/contracts land, point VALIDATE at them and delete the checkers below.

Deliberate allowances, each with its source:
- X field parameters are accepted as `tweet.fields`, the name docs.x.com documents and the live API takes
  (https://docs.x.com/x-api/fundamentals/conversation-id); the xdk OpenAPI copy names the same parameter
  `post.fields`, so values are checked against that parameter's schema.
- Graph calls may carry Graph's own paging and field-selection parameters (`fields`, `limit`, `after`, `before`,
  `access_token`), which the node specs leave out (https://developers.facebook.com/docs/graph-api/results).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

import httpx

_DIRS = [os.environ.get("PLATFORM_SPECS_DIR") or "", str(Path(__file__).resolve().parents[1] / "contracts"),
         "/work/shared/reference/platform-specs"]
X_ALIASES = {"tweet.fields": "post.fields"}
GRAPH_GENERIC = {"fields", "limit", "after", "before", "access_token", "pretty"}


@lru_cache(maxsize=None)
def _load(name: str) -> Any:
    for d in _DIRS:
        if d and (Path(d) / name).is_file():
            return json.loads((Path(d) / name).read_text())
    raise FileNotFoundError(f"platform description {name} not found in {[d for d in _DIRS if d]}")


def _params(request: httpx.Request) -> dict[str, str]:
    out = {k: v for k, v in request.url.params.items()}
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded") and request.content:
        out.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
    return out


def _schema_problems(instance: Any, schema: dict, root: dict, where: str) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({**schema, **{k: v for k, v in root.items() if k not in schema}})
    return [f"{where}: {e.message}" for e in validator.iter_errors(instance)]


# --- X: OpenAPI 3 -------------------------------------------------------------------------------------------

def x(method: str, template: str, request: httpx.Request) -> list[str]:
    spec = _load("x-openapi.json")
    op = (spec["paths"].get(template) or {}).get(method.lower())
    if op is None:
        return [f"X has no {method} {template}"]
    problems: list[str] = []
    declared: dict[str, dict] = {}
    for p in op.get("parameters") or []:
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].split("/")[-1]]
        if p.get("in") == "query":
            declared[p["name"]] = p
    given = {X_ALIASES.get(k, k): v for k, v in request.url.params.items()}
    for name, p in declared.items():
        if p.get("required") and name not in given:
            problems.append(f"missing required query parameter {name}")
    root = {"components": spec["components"]}
    for name, value in given.items():
        p = declared.get(name)
        if p is None:
            problems.append(f"unknown query parameter {name}")
            continue
        schema = p.get("schema") or {}
        if schema.get("type") == "array":
            instance: Any = value.split(",")
        elif schema.get("type") == "integer":
            instance = int(value) if value.lstrip("-").isdigit() else value
        else:
            instance = value
        problems += _schema_problems(instance, schema, root, f"query {name}")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        try:
            payload = json.loads(request.content or b"null")
        except ValueError:
            return problems + ["body is not JSON"]
        problems += _schema_problems(payload, schema, root, "body")
    return problems


# --- YouTube: Google discovery document -------------------------------------------------------------------

def _discovery_schemas() -> dict:
    doc = _load("youtube-v3-discovery.json")

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: convert(v) for k, v in node.items() if k not in ("id", "annotations")}
            if isinstance(node.get("$ref"), str):
                return {"$ref": "#/definitions/" + node["$ref"]}
            if out.get("type") == "object" and "properties" in out:
                out["additionalProperties"] = False  # a request may only carry declared fields
            return out
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    return {name: convert(s) for name, s in doc["schemas"].items()}


def youtube(method_id: str, request: httpx.Request) -> list[str]:
    doc = _load("youtube-v3-discovery.json")
    resource, name = method_id.split(".")
    m = doc["resources"][resource]["methods"][name]
    problems: list[str] = []
    if request.method != m["httpMethod"]:
        problems.append(f"{method_id} is {m['httpMethod']}, not {request.method}")
    if not request.url.path.endswith("/" + m["path"]):
        problems.append(f"{method_id} lives at {m['path']}, not {request.url.path}")
    declared = {**doc.get("parameters", {}), **m.get("parameters", {})}
    given = dict(request.url.params.items())
    for pname, p in m.get("parameters", {}).items():
        if p.get("required") and pname not in given:
            problems.append(f"missing required parameter {pname}")
    for pname, value in given.items():
        p = declared.get(pname)
        if p is None:
            problems.append(f"unknown parameter {pname}")
            continue
        if p.get("enum") and value not in p["enum"]:
            problems.append(f"{pname}={value} is not one of {p['enum']}")
        if p.get("type") == "integer":
            if not value.isdigit():
                problems.append(f"{pname} must be an integer")
            else:
                lo, hi = int(p.get("minimum", value)), int(p.get("maximum", value))
                if not lo <= int(value) <= hi:
                    problems.append(f"{pname}={value} is outside {lo}..{hi}")
    if m.get("request"):
        try:
            payload = json.loads(request.content or b"null")
        except ValueError:
            return problems + ["body is not JSON"]
        problems += _schema_problems(payload, {"$ref": "#/definitions/" + m["request"]["$ref"]},
                                     {"definitions": _discovery_schemas()}, "body")
    return problems


# --- Meta: Graph node specs ----------------------------------------------------------------------------------

def _node_fields(node: str) -> set[str] | None:
    try:
        return {f["name"] for f in _load(f"meta-graph/{node}.json")["fields"]}
    except FileNotFoundError:
        return None


def meta(node: str, edge: str, request: httpx.Request) -> list[str]:
    """`edge` "" for the node itself (#get). Parameters must be the edge's own or Graph's generic ones; `fields`
    must name fields of the node the edge returns."""
    spec = _load(f"meta-graph/{node}.json")
    api = next((a for a in spec["apis"] if a["method"] == request.method and
                (a.get("endpoint") == edge or (not edge and a.get("name") in ("#get",)))), None)
    if api is None:
        return [f"{node} has no {request.method} {edge or '(node)'}"]
    problems: list[str] = []
    declared = {p["name"]: p for p in api.get("params") or []}
    given = _params(request)
    for name, p in declared.items():
        if p.get("required") and name not in given:
            problems.append(f"missing required parameter {name}")
    for name, value in given.items():
        if name in GRAPH_GENERIC:
            continue
        p = declared.get(name)
        if p is None:
            problems.append(f"{node}/{edge}: unknown parameter {name}")
            continue
        if p["type"] == "bool" and value not in ("true", "false", "1", "0"):
            problems.append(f"{name} must be a boolean")
        if p["type"] == "datetime" and not (value.isdigit() or "T" in value or "-" in value):
            problems.append(f"{name} must be a unix time or an ISO date")
    if "fields" in given:
        fields = _node_fields(api["return"])
        if fields is not None:
            for f in given["fields"].split(","):
                base = f.split("{")[0].split(".")[0].strip()
                if base and base not in fields:
                    problems.append(f"{api['return']} has no field {base}")
    return problems


# --- the hook ------------------------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[httpx.Request], list[str]]] = {
    "x.search_recent": lambda r: x("GET", "/2/tweets/search/recent", r),
    "x.create_post": lambda r: x("POST", "/2/tweets", r),
    "youtube.commentThreads.list": lambda r: youtube("commentThreads.list", r),
    "youtube.comments.list": lambda r: youtube("comments.list", r),
    "youtube.comments.insert": lambda r: youtube("comments.insert", r),
    "meta.PagePost.comments": lambda r: meta("PagePost", "comments", r),
    "meta.Comment.comments": lambda r: meta("Comment", "comments", r),
    "meta.IGMedia.comments": lambda r: meta("IGMedia", "comments", r),
    "meta.IGComment.replies": lambda r: meta("IGComment", "replies", r),
}


def check(kind: str, request: httpx.Request) -> list[str]:
    return CHECKS[kind](request)


VALIDATE: Callable[[str, httpx.Request], list[str]] = check
