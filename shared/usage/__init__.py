"""Free-tier usage: counting every billed unit where it is spent (meter), and what the totals mean (tiers)."""
