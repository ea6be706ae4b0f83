"""QStash: publishing work (immediate, delayed, deduplicated, batched), verifying deliveries, schedules."""
