"""Owner login: password check, per-client lockout, session tokens."""
