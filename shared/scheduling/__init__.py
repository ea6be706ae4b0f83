"""When work runs: the dispatcher (timed items, wake-ups, database windows)."""
