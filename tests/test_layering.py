"""Domain code never imports the HTTP layer: errors live in shared/errors.py and the API maps them to statuses."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the HTTP layer itself, the function entries that build it, and the local runner that serves it
_ALLOWED = ("shared/api/", "shared/local/", "functions/")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_domain_module_imports_the_api_layer():
    offenders = []
    for path in sorted([*ROOT.glob("shared/**/*.py"), *ROOT.glob("media_worker/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(_ALLOWED):
            continue
        bad = sorted(n for n in _imports(path) if n == "shared.api" or n.startswith("shared.api."))
        if bad:
            offenders.append(f"{rel}: {', '.join(bad)}")
    assert not offenders, "domain modules importing the HTTP layer:\n" + "\n".join(offenders)


def test_every_domain_error_has_an_http_status():
    import shared.errors as domain
    from shared.api.errors import http_status

    for name in dir(domain):
        cls = getattr(domain, name)
        if isinstance(cls, type) and issubclass(cls, domain.AppError) and cls is not domain.AppError:
            assert http_status(cls("x") if cls is not domain.RateLimited else cls("x", retry_after=1)) != 500, name
