"""/docs and /openapi.json tell the truth about every operation, routes added later included: a summary and the
success body each operation really sends (the `{success, data}` envelope), the 400 envelope for validation errors
(never FastAPI's 422), the bearer scheme on exactly the operations the gate closes (so Authorize works), and the
QStash routes hidden. The answers of the routes beyond the contract are held to their models here (the contract's
own are held by tests/test_frontend_contract_walk.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, TEST_PASSWORD
from media_support import clean_bucket, complete, put_file  # noqa: F401  (fixture)
from openapi_answers import AnswerChecker, served_routes

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 4000
NOT_ENVELOPED = {"GET /health", "POST /api/auth/login", "POST /api/auth/verify"}  # the SPA's own shapes


def _public_operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", path, op


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_has_a_summary_and_the_model_of_its_answer(app):
    from shared.api import schemas

    spec = app.openapi()
    shown = [r for r in served_routes(app) if r[2]]
    assert len(shown) >= 70
    no_summary = [f"{sorted(methods)} {path}" for methods, path, _, summary in shown if not summary]
    assert no_summary == [], "routes without an explicit summary"
    ops = {key: op for key, _, op in _public_operations(spec)}
    table = schemas.responses()
    assert sorted(set(ops) - set(table)) == [], "operations without a response model (shared/api/schemas)"
    assert sorted(set(table) - set(ops)) == [], "response models for operations that do not exist"
    # the one route that reads its body itself (JSON or multipart) still documents both, and its header
    publish = ops["POST /api/platforms/post"]
    assert set(publish["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert [p["name"] for p in publish["parameters"]] == ["Idempotency-Key"]
    for key, op in ops.items():
        assert op.get("summary") and not op["summary"].islower(), key
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert len(ok) == 1, (key, ok)
        body = _resolve(spec, op["responses"][ok[0]]["content"]["application/json"]["schema"])
        if key not in NOT_ENVELOPED:
            assert body["properties"]["success"].get("const") is True, key
            assert {"success", "data"} <= set(body["required"]), key


def test_validation_errors_are_documented_as_the_400_envelope_they_are(app, client, auth):
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for key, path, op in _public_operations(spec):
        assert "422" not in op["responses"], key
        if path != "/health":
            assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"}, key
    answers = AnswerChecker(spec)
    for method, path, kwargs in (("POST", "/api/rss/feeds", {"json": {"interval": 0}}),
                                 ("GET", "/api/logs", {"params": {"limit": 0}}),
                                 ("POST", "/api/notifications", {"content": b"{not json"}),
                                 ("PUT", "/api/settings", {"json": {"noSuchSetting": 1}})):
        r = client.request(method, path, headers={**auth, "Content-Type": "application/json"}, **kwargs)
        assert r.status_code == 400, (path, r.text)
        assert answers.problems(method, path, 400, r.json()) == [], (path, r.text)
    fields = client.post("/api/rss/feeds", headers=auth, json={"interval": 0}).json()["error"]["details"]
    assert {"url", "interval"} <= {f["field"] for f in fields}


def test_the_bearer_scheme_is_the_one_the_gate_applies(app, client, clean_state):
    from shared.api.auth import needs_bearer

    spec = app.openapi()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and "/api/auth/login" in scheme["description"]
    for key, path, op in _public_operations(spec):
        wanted = [{"bearerAuth": []}] if needs_bearer(path) else []
        assert op.get("security", []) == wanted, key
        assert ("401" in op["responses"]) == (needs_bearer(path) or key == "POST /api/auth/login"), key
    login = spec["paths"]["/api/auth/login"]["post"]
    assert "Authorize" in login["description"] and "token" in login["description"]
    # what Authorize does with an http bearer scheme: `Authorization: Bearer <the token login answered>`
    token = client.post("/api/auth/login", json={"password": TEST_PASSWORD}).json()["token"]
    authorized = {"Authorization": f"{scheme['scheme'].title()} {token}"}
    answers = AnswerChecker(spec)
    gets = [p for p, item in spec["paths"].items() if "get" in item and needs_bearer(p) and "{" not in p
            and not any(q.get("required") for q in item["get"].get("parameters", []))]
    assert len(gets) >= 15
    for path in gets:
        anonymous = client.get(path)
        assert anonymous.status_code == 401 and answers.problems("GET", path, 401, anonymous.json()) == [], path
        assert client.get(path, headers=authorized).status_code != 401, path


def test_qstash_routes_are_served_but_not_shown(app, client):
    spec = app.openapi()
    internal = [r for r in served_routes(app) if r[1].startswith("/api/internal/")]
    assert len(internal) >= 6 and not any(shown for _, _, shown, _ in internal)
    assert [p for p in spec["paths"] if p.startswith("/api/internal")] == []
    assert client.post("/api/internal/cleanup", json={}).status_code == 401  # still there, signature required
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text and "/openapi.json" in page.text


def test_the_schema_is_a_valid_openapi_document(app):
    """What Swagger UI (/docs) and client generators need: the document validates against OpenAPI 3.1."""
    from openapi_spec_validator import validate

    spec = app.openapi()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_the_models_are_not_loaded_at_cold_start():
    """Defining the response models costs ~100 ms: only a request for /openapi.json may pay it."""
    code = ("import sys\nfrom shared.api.app import create_app\napp = create_app()\n"
            "print('shared.api.schemas' in sys.modules)\napp.openapi()\nprint('shared.api.schemas' in sys.modules)")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
           "APP_ENV": "development"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_answers_beyond_the_contract_match_their_models(app, client, auth, clean_state, clean_bucket, tmp_path):
    answers = AnswerChecker(app.openapi())
    problems: list[str] = []

    def call(method, url, template, status=200, **kw):
        r = client.request(method, url, headers=auth, **kw)
        assert r.status_code == status, (url, r.text)
        problems.extend(f"{method} {template}: {p}" for p in answers.problems(method, template, status, r.json()))
        return r.json().get("data")

    # presigned upload: plan, PUT, status, complete; another one aborted
    clip = tmp_path / "odyssey.mp4"
    clip.write_bytes(MP4)
    plan = put_file(client, auth, clip)
    call("GET", f"/api/uploads/{plan['uploadId']}", "/api/uploads/{upload_id}")
    r = complete(client, auth, plan)
    problems.extend(answers.problems("POST", "/api/uploads/{upload_id}/complete", r.status_code, r.json()))
    stored = r.json()["data"]
    other = call("POST", "/api/uploads", "/api/uploads", json={"fileName": "b.mp4", "contentType": "video/mp4",
                                                               "size": 10, "purpose": "trailers"})
    call("DELETE", f"/api/uploads/{other['uploadId']}", "/api/uploads/{upload_id}")
    # jobs: our form (a presets list), one in detail, cancelled, retried; a waiting job given its file
    jobs = call("POST", "/api/jobs", "/api/jobs", json={"sourceKey": stored["key"], "presets": ["thumbnail"]})
    call("GET", f"/api/jobs/{jobs[0]['id']}", "/api/jobs/{job_id}")
    call("POST", f"/api/jobs/{jobs[0]['id']}/cancel", "/api/jobs/{job_id}/cancel")
    call("POST", f"/api/jobs/{jobs[0]['id']}/retry", "/api/jobs/{job_id}/retry")
    waiting = call("POST", "/api/jobs", "/api/jobs", json={"fileName": "later.mp4", "fileSize": len(MP4)})
    call("POST", f"/api/jobs/{waiting['id']}/source", "/api/jobs/{job_id}/source", json={"sourceKey": stored["key"]})
    # the usage report, the stored comments, signing out
    call("GET", "/api/usage", "/api/usage", params={"fresh": "true"})
    call("GET", "/api/comments", "/api/comments")
    call("POST", "/api/auth/logout", "/api/auth/logout")
    from shared.security.tokens import issue_session_token

    auth["Authorization"] = f"Bearer {issue_session_token()[0]}"
    call("POST", "/api/auth/logout-all", "/api/auth/logout-all")
    assert problems == []
