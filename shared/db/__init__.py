"""Postgres access: short-lived pooled connections fit for serverless, and the migration runner."""

from shared.db.connection import connection, transaction, close_pool

__all__ = ["connection", "transaction", "close_pool"]
