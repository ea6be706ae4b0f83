"""Housekeeping run by QStash schedules (daily cleanup)."""
