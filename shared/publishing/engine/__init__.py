"""The publishing engine: publications and their state machine, error classification, rate-limit memory."""
