"""The always-on media worker (`python -m media_worker`): leases transcode jobs from Postgres, runs FFmpeg,
stores renditions on B2. Imports nothing from the API (no FastAPI): the image carries only what it runs.
"""
