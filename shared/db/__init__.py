"""Postgres access: short-lived pooled connections fit for serverless, and the migration runner."""

from shared.db.connection import close_pool, connection, transaction

__all__ = ["close_pool", "connection", "transaction"]
