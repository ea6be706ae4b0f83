"""Transcode jobs: a small Postgres queue (SKIP LOCKED lease + heartbeat) woken through a Redis list.

Why not Procrastinate: see docs/architecture/media.md ("Queue decision"). In short, its worker either keeps
a LISTEN connection open (Neon never scales to zero) or polls every few seconds (hundreds of queries an
hour while idle); the budget here is at most one Postgres query per 10 idle minutes.
"""
