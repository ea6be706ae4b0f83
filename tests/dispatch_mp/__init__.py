"""The dispatcher under real OS processes: worker ticks (worker.py, kinds.py) and the orchestrator that kills,
freezes and changes items meanwhile (harness.py). tests/test_dispatch_under_kill_9.py runs it."""
