"""Hold a request to an official description: one function per kind of description.

- `openapi(name, request, granted)`: an OpenAPI 3 description (X, Pinterest), validated with openapi-core
  (method, path, parameters, body schema, content type), plus the operation's OAuth scopes.
- `discovery(request, granted)`: the YouTube Data API discovery document (Google's own format).
- `meta_graph(request, node, edge, granted)`: Meta's Graph API node specs (facebook-business-sdk-codegen).
- `documented(endpoint, request, granted)`: platforms without a machine-readable description (TikTok,
  Threads, OAuth token endpoints): a `DocumentedEndpoint` written from the doc page whose URL it carries.

Each returns the rules the request breaks, as strings that name the rule and where it is written (empty list:
allowed). Descriptions are loaded and compiled once per process and cached. A fake route calls one of them
(or `Fake.contract` does it for every request), records what came back, and answers the platform's error;
the World fixture then fails the test with the rules broken.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx

HERE = Path(__file__).resolve().parent
_LOCK = threading.Lock()


class ContractViolation(AssertionError):
    """A request the platform's description does not allow."""


# --- request decoding shared by the checkers ------------------------------------------------------

def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query,
                     keep_blank_values=True)


def body_bytes(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        return request.read()


def media_type(request: httpx.Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def form_of(request: httpx.Request) -> list[tuple[str, Any]]:
    """Fields of a urlencoded or multipart body (multipart file parts as bytes)."""
    mt = media_type(request)
    raw = body_bytes(request)
    if mt == "application/x-www-form-urlencoded":
        return parse_qsl(raw.decode(), keep_blank_values=True)
    if mt == "multipart/form-data":
        boundary = request.headers["content-type"].split("boundary=")[1].strip('"').encode()
        out: list[tuple[str, Any]] = []
        for part in raw.split(b"--" + boundary):
            if b"\r\n\r\n" not in part:
                continue
            head, _, data = part.partition(b"\r\n\r\n")
            data = data[:-2] if data.endswith(b"\r\n") else data
            m = re.search(rb'name="([^"]+)"', head)
            if m:
                out.append((m.group(1).decode(), data if b"filename=" in head else data.decode()))
        return out
    return []


def bearer(request: httpx.Request, query_param: str | None = "access_token") -> str | None:
    h = request.headers.get("authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if h.startswith(scheme):
            return h[len(scheme):]
    if query_param:
        for k, v in query_of(request) + (form_of(request) if request.method != "GET" else []):
            if k == query_param and isinstance(v, str):
                return v
    return None


def _missing_scopes(requirements: list[set[str]], granted: set[str] | None) -> str | None:
    """OpenAPI / discovery semantics: one requirement set must be fully granted. None = satisfied."""
    if granted is None or not requirements:
        return None
    if any(req <= granted for req in requirements):
        return None
    shown = " or ".join("{" + ", ".join(sorted(r)) + "}" for r in requirements)
    return f"scopes: needs {shown}; the token was granted {{{', '.join(sorted(granted))}}}"


# --- OpenAPI (X, Pinterest) -----------------------------------------------------------------------------

OPENAPI_FILES = {"x": "x-openapi.subset.json", "pinterest": "pinterest-openapi.subset.json",
                 "openai": "openai-openapi.subset.json"}


@dataclass
class _OpenAPIDescription:
    name: str
    spec: dict
    openapi: Any  # openapi_core.OpenAPI
    server: Any  # urlparse of the first server
    routes: list[tuple[str, re.Pattern, dict]]


@cache
def _openapi(name: str) -> _OpenAPIDescription:
    import warnings

    from openapi_core import Config, OpenAPI

    # X's OAuth 1.0a scheme ("http", scheme OAuth) is one openapi-core does not know; we authenticate with OAuth 2
    warnings.filterwarnings("ignore", message="Unsupported scheme type")

    spec = json.loads((HERE / OPENAPI_FILES[name]).read_text())
    if name == "openai":
        # OpenAI's description marks its message and response-format unions with a `discriminator` that has no
        # `mapping`, so the implicit one (the property value names the schema: "system", "json_object") points at
        # schemas that do not exist and openapi-core cannot resolve them. The `oneOf` alone is the constraint
        # (each branch pins `role`/`type` with an enum): the discriminator, a hint in OAS 3.1, is dropped here.
        _drop_unmapped_discriminators(spec)
    # security is checked below with the scopes the fake granted (openapi-core would only look for a header)
    api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
    server = urlparse(spec["servers"][0]["url"])
    routes = []
    for path, item in spec["paths"].items():
        rx = re.compile("^" + re.escape(server.path.rstrip("/") + path).replace(r"\{", "{").replace(r"\}", "}")
                        .replace("{", "(?P<").replace("}", r">[^/]+)") + "$")
        rx = re.compile(re.sub(r"\(\?P<([^>]+)>", lambda m: "(?P<" + re.sub(r"\W", "_", m.group(1)) + ">",
                               rx.pattern))
        for method, op in item.items():
            if isinstance(op, dict) and method in ("get", "post", "put", "delete", "patch"):
                routes.append((method, rx, op))
    return _OpenAPIDescription(name, spec, api, server, routes)


def _drop_unmapped_discriminators(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("discriminator"), dict) and "mapping" not in node["discriminator"]:
            del node["discriminator"]
        for v in node.values():
            _drop_unmapped_discriminators(v)
    elif isinstance(node, list):
        for v in node:
            _drop_unmapped_discriminators(v)


class _OpenAPIRequest:
    """An httpx request as openapi-core reads one, addressed to the description's own server."""

    def __init__(self, request: httpx.Request, server):
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = f"{server.scheme}://{server.netloc}"
        self.path = request.url.path
        self.method = request.method.lower()
        q: dict[str, list[str]] = {}
        for k, v in query_of(request):
            q.setdefault(k, []).append(v)
        self.parameters = RequestParameters(query=ImmutableMultiDict(q), header=Headers(dict(request.headers)),
                                            cookie=ImmutableMultiDict({}))
        raw = body_bytes(request)
        self.body = raw if raw else None
        self.content_type = request.headers.get("content-type", "").lower()

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


def _schema_errors(exc: BaseException) -> list | None:
    cause = exc.__cause__ or exc.__context__
    return getattr(exc, "schema_errors", None) or getattr(cause, "schema_errors", None)


def _text_field_ok(e, multipart: bool) -> bool:
    """Multipart fields are text on the wire (OAS 3.0 encodes primitives as text/plain) and openapi-core 0.23
    validates them uncast: a text field that reads as the schema's primitive type is what the platform parses."""
    if not multipart or e.validator != "type" or not isinstance(e.instance, str):
        return False
    want = e.validator_value if isinstance(e.validator_value, str) else None
    return want in _TYPE_CHECKS and _TYPE_CHECKS[want](e.instance)


def openapi(name: str, request: httpx.Request, granted: set[str] | None = None) -> list[str]:
    desc = _openapi(name)
    src = f"{OPENAPI_FILES[name]} ({desc.spec['info'].get('title')} {desc.spec['info'].get('version')})"
    where = f"{request.method} {request.url.path}"
    req = _OpenAPIRequest(request, desc.server)
    multipart = media_type(request) == "multipart/form-data"
    broken = []
    with _LOCK:  # openapi-core's caches are not documented as thread-safe; the fakes are called from threads
        errors = list(desc.openapi.request_validator.iter_errors(req))
    for err in errors:
        schema_errors = _schema_errors(err)
        if schema_errors is not None:
            kept = [e for e in schema_errors if not _text_field_ok(e, multipart)]
            for e in kept:
                at = "/".join(str(p) for p in e.absolute_path) or "(body)"
                broken.append(f"{src}: {where}: {type(err).__name__} at {at}: {e.message[:300]}")
            continue
        cause = err.__cause__ or err.__context__
        broken.append(f"{src}: {where}: {str(err)[:300]}" + (f" ({str(cause)[:300]})" if cause else ""))
    op = next((o for m, rx, o in desc.routes if m == req.method and rx.match(request.url.path)), None)
    if op is not None and media_type(request) in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # openapi-core reads only the declared properties out of a form, so a closed schema must be held here
        names, closed = _body_fields(desc, op, media_type(request))
        if closed:
            broken += [f"{src}: {where}: form field {k!r} is not in the body schema (additionalProperties: false)"
                       for k in dict(form_of(request)) if k not in names]
    if op is not None:
        reqs = [set(r.get("OAuth2UserToken") or r.get("pinterest_oauth2") or []) for r in op.get("security") or []
                if "OAuth2UserToken" in r or "pinterest_oauth2" in r]
        missing = _missing_scopes(reqs, granted)
        if missing:
            broken.append(f"{src}: {where} ({op.get('operationId')}): {missing}")
    return broken


def _body_fields(desc: _OpenAPIDescription, op: dict, mt: str) -> tuple[set[str], bool]:
    """(property names the body schema declares, whether it closes additionalProperties)."""
    content = ((op.get("requestBody") or {}).get("content") or {}).get(mt)
    if content is None:
        return set(), False
    names: set[str] = set()
    closed = False
    todo = [content["schema"]]
    while todo:
        s = todo.pop()
        if "$ref" in s:
            s = _resolve(desc.spec, s["$ref"])
        names |= set(s.get("properties") or {})
        closed = closed or s.get("additionalProperties") is False
        todo += s.get("allOf", []) + s.get("oneOf", []) + s.get("anyOf", [])
        todo += [_resolve(desc.spec, r) for r in ((s.get("discriminator") or {}).get("mapping") or {}).values()]
    return names, closed


def openapi_form_fields(name: str, request: httpx.Request) -> list[str]:
    """Form fields the operation's body schema does not name, even where the schema leaves
    `additionalProperties` open: for OAuth token requests the rule is "send exactly the documented parameters"."""
    desc = _openapi(name)
    op = next((o for m, rx, o in desc.routes if m == request.method.lower() and rx.match(request.url.path)), None)
    if op is None:
        return []
    names, _ = _body_fields(desc, op, media_type(request))
    return [f"{OPENAPI_FILES[name]}: {request.method} {request.url.path}: body field {k!r} is not a documented "
            f"parameter" for k, _ in form_of(request) if k not in names]


def _resolve(doc: dict, ref: str) -> dict:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


# --- Google discovery (YouTube) ---------------------------------------------------------------------------

DISCOVERY_FILE = "youtube-v3-discovery.subset.json"


@cache
def _discovery() -> dict:
    doc = json.loads((HERE / DISCOVERY_FILE).read_text())
    methods = []
    for res in doc["resources"].values():
        for m in res["methods"].values():
            methods.append(("/" + m["path"], m, False))
            if m.get("mediaUpload"):
                for proto in m["mediaUpload"]["protocols"].values():
                    methods.append((proto["path"], m, True))
    doc["_methods"] = methods
    return doc


_TYPE_CHECKS: dict[str, Callable[[str], bool]] = {
    "string": lambda v: True,
    "boolean": lambda v: v in ("true", "false"),
    "integer": lambda v: re.fullmatch(r"-?\d+", v) is not None,
    "number": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
}


def _json_type_ok(t: str, v: Any) -> bool:
    return {"string": isinstance(v, str), "boolean": isinstance(v, bool),
            "integer": ((isinstance(v, int) and not isinstance(v, bool))
                        or (isinstance(v, str) and v.lstrip("-").isdigit())),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "object": isinstance(v, dict), "array": isinstance(v, list), "any": True}.get(t, True)


def _discovery_schema(doc: dict, schema: dict, value: Any, where: str, out: list[str]) -> None:
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    t = schema.get("type", "any")
    if not _json_type_ok(t, value):
        out.append(f"{where}: expected {t}, got {type(value).__name__}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if t == "object" and isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                _discovery_schema(doc, props[k], v, f"{where}.{k}", out)
            elif extra:
                _discovery_schema(doc, extra, v, f"{where}.{k}", out)
            else:
                out.append(f"{where}: unknown field {k!r} (the API answers 400 'Invalid JSON payload received. "
                           f"Unknown name')")
    if t == "array" and isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            _discovery_schema(doc, schema["items"], v, f"{where}[{i}]", out)


def discovery(request: httpx.Request, granted: set[str] | None = None) -> list[str]:
    doc = _discovery()
    src = f"{DISCOVERY_FILE} (YouTube Data API {doc['version']}, revision {doc['revision']})"
    path = request.url.path
    match = next(((p, m, media) for p, m, media in doc["_methods"] if p == path and m["httpMethod"] == request.method),
                 None)
    if match is None:
        return [f"{src}: {request.method} {path} is not a method of the discovery document"]
    _, m, is_media = match
    broken: list[str] = []
    name = m["id"]
    q = query_of(request)
    params = {**doc["parameters"], **m.get("parameters", {})}
    seen: dict[str, str] = {}
    for k, v in q:
        spec = params.get(k)
        if spec is None:
            broken.append(f"{src}: {name}: unknown query parameter {k!r}")
            continue
        if not _TYPE_CHECKS.get(spec.get("type", "string"), lambda _: True)(v):
            broken.append(f"{src}: {name}: parameter {k}={v!r} is not a {spec['type']}")
        if spec.get("enum") and v not in spec["enum"]:
            broken.append(f"{src}: {name}: parameter {k}={v!r} is not one of {spec['enum']}")
        seen[k] = v
    for k, spec in m.get("parameters", {}).items():
        if spec.get("required") and k not in seen:
            broken.append(f"{src}: {name}: required parameter {k!r} is missing")
    if is_media:
        up = m["mediaUpload"]
        utype = seen.get("uploadType")
        if path.startswith("/upload/") and utype not in ("media", "multipart", "resumable"):
            broken.append(f"{src}: {name}: media upload to {path} needs uploadType media|multipart|resumable")
        if utype == "resumable" and "resumable" not in up["protocols"]:
            broken.append(f"{src}: {name}: resumable uploads are not offered")
        declared = request.headers.get("x-upload-content-type") if utype == "resumable" else media_type(request)
        accept = up.get("accept") or []
        if utype in ("media", "resumable") and declared and not any(
                re.fullmatch(a.replace("*", ".*"), declared) for a in accept):
            broken.append(f"{src}: {name}: media type {declared!r} is not accepted ({', '.join(accept)})")
        size = request.headers.get("x-upload-content-length") if utype == "resumable" else None
        if size is not None and int(size) > int(up.get("maxSize", "0") or 0):
            broken.append(f"{src}: {name}: {size} bytes is over maxSize {up['maxSize']}")
    if m.get("request") and (not is_media or seen.get("uploadType") == "resumable"):
        raw = body_bytes(request)
        if raw:
            if media_type(request) != "application/json":
                broken.append(f"{src}: {name}: the {m['request']['$ref']} body must be application/json")
            else:
                errs: list[str] = []
                _discovery_schema(doc, m["request"], json.loads(raw), m["request"]["$ref"], errs)
                broken += [f"{src}: {name}: {e}" for e in errs]
        elif not is_media:
            broken.append(f"{src}: {name}: a {m['request']['$ref']} body is required")
    missing = _missing_scopes([{s} for s in m.get("scopes") or []], granted)
    if missing:
        broken.append(f"{src}: {name}: {missing}")
    return broken


# --- Meta Graph node specs -----------------------------------------------------------------------------

META_DIR = HERE / "meta-graph"
GRAPH_COMMON_PARAMS = {
    # accepted on every Graph request: https://developers.facebook.com/docs/graph-api/overview ,
    # https://developers.facebook.com/docs/graph-api/results (paging), .../securing-requests (appsecret_proof)
    "access_token", "fields", "limit", "after", "before", "since", "until", "appsecret_proof", "pretty",
    "suppress_http_code", "format", "method", "locale", "debug",
}


@cache
def _meta() -> dict[str, Any]:
    nodes = {p.stem: json.loads(p.read_text()) for p in META_DIR.glob("*.json") if p.stem != "enum_types"}
    enums = {e["name"]: set(e["values"]) for e in json.loads((META_DIR / "enum_types.json").read_text())}
    return {"nodes": nodes, "enums": enums}


def _graph_value_ok(t: str, v: str, enums: dict[str, set[str]]) -> bool:
    if t in enums:
        return v in enums[t]
    if t == "bool":
        return v in ("true", "false", "1", "0")
    if t in ("int", "unsigned int"):
        return re.fullmatch(r"\d+" if t.startswith("unsigned") else r"-?\d+", v) is not None
    if t == "float":
        return re.fullmatch(r"-?\d+(\.\d+)?", v) is not None
    if t == "datetime":
        return re.fullmatch(r"\d+|\d{4}-\d\d-\d\d.*", v) is not None
    if t.startswith("list<") or t == "list":
        inner = t[5:-1] if t.startswith("list<") else "string"
        try:
            items = json.loads(v)
            if not isinstance(items, list):
                raise ValueError
        except ValueError:
            items = v.split(",")  # Graph accepts comma-separated lists for list params
        return all(_graph_value_ok(inner, i if isinstance(i, str) else json.dumps(i), enums) for i in items)
    if t == "map":
        try:
            return isinstance(json.loads(v), dict)
        except ValueError:
            return False
    return True  # "Object" is the codegen's any-value type (e.g. Application/uploads file_name), strings too


def _fields_ok(node: str, fields: str, nodes: dict) -> list[str]:
    spec = nodes.get(node)
    if spec is None:
        return []
    names = {f["name"] for f in spec["fields"]} | {a.get("endpoint") for a in spec["apis"]}
    bad = []
    depth, cur = 0, ""
    top = []
    for ch in fields:  # top-level names only: "a,b{c,d},e"
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            top.append(cur)
            cur = ""
            continue
        if depth == 0 and ch not in "{}":
            cur += ch
    top.append(cur)
    for f in top:
        f = f.split(".")[0].strip()
        if f and f not in names:
            bad.append(f)
    return bad


def meta_graph(request: httpx.Request, node: str, edge: str | None, granted: set[str] | None = None,
               permissions: Iterable[str] = ()) -> list[str]:
    """`node`: the node type of the id in the path (Page, IGUser, ...); `edge`: the edge name, or None for a
    read or update of the node itself. `permissions`: the Meta permissions the call needs (from the docs)."""
    meta = _meta()
    src = f"meta-graph/{node}.json (facebook-business-sdk-codegen @ ad2b0b6f)"
    spec = meta["nodes"].get(node)
    if spec is None:
        return [f"meta-graph: no node spec for {node}"]
    method = request.method
    if edge is None:
        api = next((a for a in spec["apis"] if a.get("name") == ("#get" if method == "GET" else "#update")), None)
        if api is None and method == "GET":
            api = {"params": []}  # every node can be read by id
    else:
        api = next((a for a in spec["apis"] if a.get("endpoint") == edge and a["method"] == method), None)
    where = f"{method} /{{{node}}}" + (f"/{edge}" if edge else "")
    if api is None:
        return [f"{src}: {where} is not an edge of {node}"]
    params: dict[str, str] = {}
    for k, v in query_of(request) + (form_of(request) if method != "GET" else []):
        params[k] = v if isinstance(v, str) else "<file>"
    declared = {p["name"]: p for p in api.get("params", [])}
    broken = []
    for k, v in params.items():
        base = re.sub(r"\[\d+\]$", "", k)  # attached_media[0] is how list<Object> params go in a form
        if base in GRAPH_COMMON_PARAMS:
            continue
        p = declared.get(base)
        if p is None:
            broken.append(f"{src}: {where}: unknown parameter {k!r}")
            continue
        t = p.get("type", "string")
        if base != k and t.startswith("list<"):
            t = t[5:-1]
        if not _graph_value_ok(t, v, meta["enums"]):
            broken.append(f"{src}: {where}: parameter {k}={v[:80]!r} is not a valid {t}")
    for name, p in declared.items():
        if p.get("required") and name not in params and not any(re.sub(r"\[\d+\]$", "", k) == name for k in params):
            broken.append(f"{src}: {where}: required parameter {name!r} is missing")
    if method == "GET" and "fields" in params:
        ret = (edge and api.get("return")) or node
        bad = _fields_ok(ret, params["fields"], meta["nodes"])
        if bad:
            broken.append(f"{src}: {where}: {ret} has no field(s) {', '.join(bad)}")
    missing = _missing_scopes([set(permissions)] if permissions else [], granted)
    if missing:
        broken.append(f"Meta permissions for {where}: {missing}")
    return broken


# --- documented endpoints (TikTok, Threads, OAuth token endpoints) ----------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"  # string | int | bool | enum | json
    required: bool = False
    values: tuple[str, ...] = ()  # enum values
    doc: str = ""  # where the rule is written, when not the endpoint's own page


@dataclass(frozen=True)
class DocumentedEndpoint:
    """One endpoint as its documentation page describes it. `body` is for JSON bodies (field -> Param, with
    nested objects written as "post_info.privacy_level"); `query` and `form` for the other places."""

    method: str
    path: str  # regex on the URL path
    doc: str  # the URL the rules come from
    query: tuple[Param, ...] = ()
    form: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    content_type: str | None = None
    scopes: tuple[frozenset[str], ...] = ()  # any one set fully granted
    headers: tuple[str, ...] = ()  # required headers
    strict: bool = True  # undocumented parameters are refused (they are by the platform, or by our rule)
    check: Callable[[httpx.Request], list[str]] | None = None  # further documented rules (chunk sizes ...)

    def matches(self, request: httpx.Request) -> bool:
        return request.method == self.method and re.fullmatch(self.path, request.url.path) is not None


def _param_ok(p: Param, v: Any) -> bool:
    if p.type == "int":
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.isdigit())
    if p.type == "bool":
        return isinstance(v, bool) or v in ("true", "false")
    if p.type == "enum":
        return v in p.values
    if p.type == "json":
        return True
    return isinstance(v, str)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                out[key] = v
                out.update(_flatten(v, key + "."))
            else:
                out[key] = v
    return out


def documented(ep: DocumentedEndpoint, request: httpx.Request, granted: set[str] | None = None) -> list[str]:
    src = ep.doc
    where = f"{ep.method} {request.url.path}"
    broken: list[str] = []
    if ep.content_type and media_type(request) != ep.content_type:
        broken.append(f"{src}: {where}: Content-Type must be {ep.content_type}, got {media_type(request) or 'none'}")
    for h in ep.headers:
        if h.lower() not in request.headers:
            broken.append(f"{src}: {where}: header {h} is required")
    places: list[tuple[str, tuple[Param, ...], dict[str, Any]]] = [("query", ep.query, dict(query_of(request)))]
    if ep.form:
        places.append(("form", ep.form, dict(form_of(request))))
    if ep.body:
        try:
            data = json.loads(body_bytes(request) or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            broken.append(f"{src}: {where}: the body must be a JSON object")
            data = {}
        places.append(("body", ep.body, _flatten(data)))
    for place, params, given in places:
        declared = {p.name: p for p in params}
        parents = {n.rsplit(".", 1)[0] for n in declared if "." in n}
        for k, v in given.items():
            p = declared.get(k)
            if p is None:
                if ep.strict and k not in parents:
                    broken.append(f"{src}: {where}: {place} parameter {k!r} is not documented for this endpoint")
                continue
            if not _param_ok(p, v):
                want = f"one of {list(p.values)}" if p.type == "enum" else p.type
                broken.append(f"{(p.doc or src)}: {where}: {place} {k}={v!r} must be {want}")
        for p in params:
            if p.required and p.name not in given:
                broken.append(f"{(p.doc or src)}: {where}: required {place} parameter {p.name!r} is missing")
    if ep.check is not None:
        broken += [f"{src}: {where}: {e}" for e in ep.check(request)]
    missing = _missing_scopes([set(s) for s in ep.scopes], granted)
    if missing:
        broken.append(f"{src}: {where}: {missing}")
    return broken


def find_endpoint(endpoints: Iterable[DocumentedEndpoint], request: httpx.Request) -> DocumentedEndpoint | None:
    return next((ep for ep in endpoints if ep.matches(request)), None)


__all__ = [
    "ContractViolation",
    "DocumentedEndpoint",
    "Param",
    "bearer",
    "body_bytes",
    "discovery",
    "documented",
    "find_endpoint",
    "form_of",
    "media_type",
    "meta_graph",
    "openapi",
    "openapi_form_fields",
    "query_of",
]
