"""Built-in action families. Import each from its own module; nothing here loads eagerly."""
