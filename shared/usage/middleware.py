"""ASGI middleware: one function invocation per HTTP request, for the usage meter (Vercel bills invocations
and active CPU). It counts the invocation, its CPU, and writes the batch out after the response, where
shared/usage/flush.py decides (usually: nowhere yet, or one statement on a connection already open)."""

from __future__ import annotations


class UsageMeter:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from shared.usage import flush

        token = flush.begin_invocation()
        try:
            await self.app(scope, receive, send)
        finally:
            try:
                flush.settle_cpu()
                sink = flush.sink_for_end()
                if sink:
                    from starlette.concurrency import run_in_threadpool

                    await run_in_threadpool(flush.flush_now, prefer_postgres=sink == "postgres")
            finally:
                flush._current.reset(token)
