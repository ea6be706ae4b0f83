"""Path parameters shared by the routers."""

from __future__ import annotations

from shared.errors import uuid_or_not_found

uuid_or_404 = uuid_or_not_found
