"""Legacy import paths kept for plugins written against the earlier SDK (seed 001)."""
