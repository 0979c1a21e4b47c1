"""One router per resource of the platform API."""
