"""Legacy pre-annotation category."""
