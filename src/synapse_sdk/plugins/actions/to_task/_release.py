"""Reading a pre-processor plugin release's config."""

from __future__ import annotations

from typing import Any


def max_batch_size(config: dict[str, Any]) -> int | None:
    """``actions.deployment`` (else ``actions.inference``) ``.serve_options.batch.max_batch_size``, if set."""
    actions = config.get('actions') if isinstance(config.get('actions'), dict) else {}
    for name in ('deployment', 'inference'):
        action = actions.get(name) if isinstance(actions.get(name), dict) else {}
        options = action.get('serve_options') if isinstance(action.get('serve_options'), dict) else {}
        batch = options.get('batch') if isinstance(options.get('batch'), dict) else {}
        value = batch.get('max_batch_size')
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None
