"""Rebuild the description subsets in tests/contracts/ from the official files in shared/reference/platform-specs.

    .venv/bin/python tests/contracts/extract.py [SPECS_DIR]

SPECS_DIR defaults to $PLATFORM_SPECS_DIR, else ../shared/reference/platform-specs next to the checkout. Each
source's sha256 is checked first, so a subset is always traceable to the exact file it was cut from; replacing a
source means updating its hash here (and the date in tests/contracts/README.md).

What is kept, and nothing else is changed:
- OpenAPI (X, Pinterest): `openapi`, `info`, `servers`, the listed operations (with their path-level parameters),
  and every `#/components/...` object they reach through `$ref`, transitively (schemas, parameters, security
  schemes). Small files keep validation fast: the path finder and the schema compiler see only what we call.
- Google discovery (YouTube): the top-level fields, global `parameters`, `auth`, the listed `resources.methods`,
  and the `schemas` they reach through `$ref`, transitively.
- Meta Graph node specs: the listed nodes whole (they are small), Application cut to its `uploads` edge, and
  the `enum_types.json` entries of the params of those nodes.

Adding an endpoint (e.g. comments): append it to OPERATIONS / DISCOVERY_METHODS / META_NODES and run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("CONTRACTS_OUT_DIR") or HERE)  # where the subsets are written (a test compares)

SOURCES = {
    "x-openapi.json": "ddaf2f44b19c63dc5550811bc2df893d6dafb44049c9064c8a4161e0da47c9b6",
    "pinterest-v5-openapi.json": "537bde5a50b181d653840bed4fb4735d753b5be4ce98bc8192de258cee67b142",
    "youtube-v3-discovery.json": "a750ee31f6c8d4ad766243196a556a54fc0bf5a87b9cfb0bfd9c5f2f448e4328",
    "meta-graph/AdVideo.json": "69c0149dd8c4a11b8fee6f292fc3633288ae48490f02e483e47a693d36c31194",
    "meta-graph/IGMedia.json": "4e1cbe040efd6b12e95b171e62fdf95d0efb54680e5e8752eff2aa9727f1b991",
    "meta-graph/IGUser.json": "088ec8c1922a9456862fe9cc255bfb0ebcf0185900393cab4906a87dff5ec4ab",
    "meta-graph/Page.json": "c15fefab47c0326df82dd5b08b1d42245b4146b9735f8c8bd82b05897af6938f",
    "meta-graph/PagePost.json": "45b492fe8896d5d56337ad9911ec03b60d8540b5c00bf6c913c12cd9a6199b00",
    "meta-graph/Photo.json": "75e76a33ddb3685bf971a3f26fd9000bb0a079be84a888f903ec57029a5a05cf",
    "meta-graph/User.json": "fc755da022b05f06dba19cef2d1337c001290ff6dd0811c4374f3224fd068569",
    "meta-graph/Comment.json": "7d5c85713aba46b3afdf1a252b91ca7728d6b7c9a83d302ab6a433e8b7fbdd8e",
    "meta-graph/IGComment.json": "72101d1adf985230edb189b3421032d19178d26010d4349ecfa3d447b2de0198",
}

# (method, path) per OpenAPI description: every operation an adapter or a connection calls.
OPERATIONS = {
    "x": ("x-openapi.json", [
        ("post", "/2/media/upload/initialize"), ("post", "/2/media/upload/{id}/append"),
        ("post", "/2/media/upload/{id}/finalize"), ("get", "/2/media/upload"),
        # the one-shot upload, kept so the deprecated INIT/APPEND/FINALIZE form sent there is named precisely
        ("post", "/2/media/upload"),
        ("post", "/2/tweets"), ("get", "/2/users/me"), ("get", "/2/users/{id}/tweets"),
        # comment automation (shared/comments): replies to our posts
        ("get", "/2/tweets/search/recent"),
    ]),
    "pinterest": ("pinterest-v5-openapi.json", [
        ("post", "/oauth/token"), ("get", "/user_account"), ("get", "/boards"), ("post", "/boards"),
        ("get", "/boards/{board_id}/pins"), ("post", "/pins"), ("post", "/media"), ("get", "/media/{media_id}"),
    ]),
}

DISCOVERY_METHODS = [("videos", "insert"), ("thumbnails", "set"), ("playlistItems", "insert"),
                     ("playlists", "list"), ("channels", "list"),
                     # comment automation (shared/comments)
                     ("commentThreads", "list"), ("comments", "list"), ("comments", "insert")]

META_NODES = ["Page", "PagePost", "Photo", "AdVideo", "IGUser", "IGMedia", "User", "Comment", "IGComment"]
# Not among the files in platform-specs/, taken from the same repository and commit (see README.md).
META_EXTRA = {"ShadowIGMediaBuilder": None, "Application": ["uploads"]}
META_REPO_COMMIT = "ad2b0b6fdfbe4d73ed0754cb4562ef20b72b40d4"  # facebook/facebook-business-sdk-codegen
# OpenAI's own OpenAPI 3.1 description (openai/openai-openapi, openapi.json, API version 2.3.0): only the
# operations our OpenAI client calls (shared/ai/openai_chat.py); the local OpenAI fake is held to it.
OPENAI_REPO_COMMIT = "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"  # 2026-08-21
OPENAI_SHA256 = "bbfd19abcde0e7412da99378deb2a959ccdd3a812f97c9e35901921e8e973f9a"
OPENAI_OPERATIONS = [("post", "/chat/completions")]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refs(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            elif k == "discriminator" and isinstance(v, dict):  # mapping values are references too
                out |= {r for r in (v.get("mapping") or {}).values() if isinstance(r, str)}
            else:
                out |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= _refs(v)
    return out


def _pointer(doc: dict, ref: str) -> Any:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def openapi_subset(doc: dict, ops: list[tuple[str, str]]) -> dict:
    paths: dict[str, dict] = {}
    for method, path in ops:
        item = doc["paths"][path]
        entry = paths.setdefault(path, {k: v for k, v in item.items() if k not in
                                        ("get", "post", "put", "delete", "patch", "head", "options")})
        entry[method] = item[method]
    out = {"openapi": doc["openapi"], "info": doc["info"], "servers": doc.get("servers", []), "paths": paths,
           "components": {}}
    wanted = set()
    for op in paths.values():
        for method in ("get", "post", "put", "delete", "patch"):
            for req in (op.get(method) or {}).get("security") or []:
                for name in req:
                    wanted.add(f"#/components/securitySchemes/{name}")
    todo = _refs(paths) | wanted
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        target = _pointer(doc, ref)
        _, _, kind, name = ref.split("/", 3)
        out["components"].setdefault(kind, {})[name] = target
        todo |= _refs(target)
    return out


def discovery_subset(doc: dict, methods: list[tuple[str, str]]) -> dict:
    keep = ("kind", "discoveryVersion", "id", "name", "version", "revision", "title", "documentationLink",
            "protocol", "rootUrl", "servicePath", "batchPath", "mtlsRootUrl", "baseUrl", "basePath", "parameters",
            "auth")
    out = {k: doc[k] for k in keep if k in doc}
    out["resources"] = {}
    for res, meth in methods:
        out["resources"].setdefault(res, {"methods": {}})["methods"][meth] = doc["resources"][res]["methods"][meth]
    out["schemas"] = {}
    todo = set(_refs(out["resources"]))
    while todo:
        name = todo.pop()
        if name in out["schemas"]:
            continue
        out["schemas"][name] = doc["schemas"][name]
        todo |= _refs(doc["schemas"][name]) - set(out["schemas"])
    return out


def _git_show(repo: Path, path: str, commit: str = META_REPO_COMMIT) -> str:
    import subprocess

    return subprocess.run(["git", f"--git-dir={repo}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def openai_subset(openai_repo: Path | None) -> dict | None:
    """The chat-completions subset cut from a clone of openai/openai-openapi at OPENAI_REPO_COMMIT (its sha256
    checked), or None without a clone (the copy in this folder is kept, as for the extra Meta nodes)."""
    if openai_repo is None:
        return None
    raw = _git_show(openai_repo, "openapi.json", OPENAI_REPO_COMMIT)
    got = hashlib.sha256(raw.encode()).hexdigest()
    if got != OPENAI_SHA256:
        raise SystemExit(f"openai openapi.json: sha256 {got} differs from the recorded {OPENAI_SHA256}")
    return openapi_subset(json.loads(raw), OPENAI_OPERATIONS)


def meta_subset(src: Path, codegen_repo: Path | None) -> dict[str, Any]:
    nodes = {n: json.loads((src / "meta-graph" / f"{n}.json").read_text()) for n in META_NODES}
    enums_src = None
    existing = HERE / "meta-graph"
    for name, edges in META_EXTRA.items():
        if codegen_repo is not None:
            spec = json.loads(_git_show(codegen_repo, f"api_specs/specs/{name}.json"))
        else:  # keep what was extracted before (the codegen repository is only needed to refresh these)
            spec = json.loads((existing / f"{name}.json").read_text())
        if edges is not None:
            spec = {"apis": [a for a in spec["apis"] if a.get("endpoint") in edges], "fields": spec["fields"]}
        nodes[name] = spec
    if codegen_repo is not None:
        enums_src = json.loads(_git_show(codegen_repo, "api_specs/specs/enum_types.json"))
    else:
        enums_src = json.loads((existing / "enum_types.json").read_text())
    used = {p["type"].split("<")[-1].rstrip(">") for spec in nodes.values() for a in spec["apis"]
            for p in a.get("params", [])}
    nodes["enum_types"] = [e for e in enums_src if e["name"] in used]
    return nodes


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parents[3] / "shared" / "reference" / "platform-specs"
    src = Path(argv[1] if len(argv) > 1 else os.environ.get("PLATFORM_SPECS_DIR", default))
    for rel, digest in SOURCES.items():
        got = _sha(src / rel)
        if got != digest:
            print(f"{rel}: sha256 {got} differs from the recorded {digest}; update SOURCES and the README",
                  file=sys.stderr)
            return 1
    for name, (fname, ops) in OPERATIONS.items():
        doc = json.loads((src / fname).read_text())
        (OUT / f"{name}-openapi.subset.json").write_text(json.dumps(openapi_subset(doc, ops), indent=1,
                                                                        sort_keys=True) + "\n")
    yt = json.loads((src / "youtube-v3-discovery.json").read_text())
    (OUT / "youtube-v3-discovery.subset.json").write_text(
        json.dumps(discovery_subset(yt, DISCOVERY_METHODS), indent=1, sort_keys=True) + "\n")
    repo = os.environ.get("META_CODEGEN_GIT_DIR")  # a clone of facebook/facebook-business-sdk-codegen (.git)
    (OUT / "meta-graph").mkdir(parents=True, exist_ok=True)
    for name, spec in meta_subset(src, Path(repo) if repo else None).items():
        (OUT / "meta-graph" / f"{name}.json").write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    openai_repo = os.environ.get("OPENAI_OPENAPI_GIT_DIR")  # a clone of openai/openai-openapi (.git)
    subset = openai_subset(Path(openai_repo) if openai_repo else None)
    if subset is not None:
        (OUT / "openai-openapi.subset.json").write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print("subsets written to", OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
