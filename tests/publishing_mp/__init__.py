"""Never twice, with real processes: the platform fakes served on a real socket with faults that act after the
platform accepted a post, worker processes running the real engine, and the orchestrator that delivers every
message at least once, kills workers with SIGKILL and counts duplicates and losses (test + bench)."""
