"""AWS Lambda entry (API Gateway HTTP API v2, REST API, ALB, Function URLs): the same app through Mangum.

Handler: functions.aws_lambda.handler. Set PUBLIC_BASE_URL to the public API URL: QStash signatures are bound
to the URL QStash called, and behind API Gateway the request's own host is not that URL.
"""

from __future__ import annotations

from mangum import Mangum

from functions.api import app

handler = Mangum(app, lifespan="off")
