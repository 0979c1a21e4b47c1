"""Box pre-annotation plugin."""
