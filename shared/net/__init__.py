"""Outbound HTTP to URLs a user (or a feed) chose: the SSRF guard and a capped, timed streaming fetch."""
