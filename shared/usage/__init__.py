"""The usage meter, the free-tier table, the usage report and the governor (see docs/architecture/usage.md)."""
