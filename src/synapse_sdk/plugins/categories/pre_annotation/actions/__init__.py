"""Legacy pre-annotation actions."""
