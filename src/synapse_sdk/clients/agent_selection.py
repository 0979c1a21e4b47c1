"""The agent chosen with ``synapse agent select``: the config file's ``agent`` entry.

The entry is ``{id, name, url, token?, backend}``: the agent's id, name and URL as the backend listed
them, its token when the backend gave one (the file is mode 0600; the token is never printed), and the
backend it was chosen on (``None``: the embedded local backend). An agent id means something only on
that backend, so :meth:`SavedAgent.selected_on` tells a caller whether the selection still applies.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synapse_sdk.clients.credentials import config_path, read_config, same_host, write_config

__all__ = ['CONFIG_KEY', 'SavedAgent', 'clear_agent', 'save_agent', 'selected_agent']

#: The config file's key for the selection.
CONFIG_KEY = 'agent'

_FIX = 'run `synapse agent select ID` again (`synapse agent list` shows the ids), or `synapse agent clear`'


class SavedAgent(BaseModel):
    """One saved agent selection."""

    model_config = ConfigDict(frozen=True, extra='ignore')

    id: int = Field(ge=1)
    name: str = ''
    url: str | None = None
    #: the agent's token when the backend's listing carried one (never shown: ``repr`` leaves it out)
    token: str | None = Field(default=None, repr=False)
    #: the backend URL the agent was selected on; ``None``: the embedded local backend
    backend: str | None = None

    def selected_on(self, host: str | None) -> bool:
        """Whether this selection was made on the backend ``host`` (``None``: the local backend)."""
        return same_host(self.backend, host)

    def public(self) -> dict[str, Any]:
        """The selection without its token (what commands may print)."""
        return self.model_dump(exclude={'token'})


def selected_agent(path: str | os.PathLike[str] | None = None) -> SavedAgent | None:
    """The saved selection, or None when no agent is selected.

    A broken entry is a ``ValueError`` naming the config file, the field and how to fix it.
    """
    entry = read_config(path).get(CONFIG_KEY)
    if entry is None:
        return None
    try:
        return SavedAgent.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = '.'.join(str(part) for part in (CONFIG_KEY, *first['loc']))
        raise ValueError(
            f'The {where!r} entry of {config_path(path)} is not a saved agent ({first["msg"]}); {_FIX}'
        ) from None


def save_agent(agent: SavedAgent, path: str | os.PathLike[str] | None = None) -> Path:
    """Save ``agent`` as the selection (replacing any other); returns the config file's path."""
    return write_config({CONFIG_KEY: agent.model_dump(exclude_none=True)}, path)


def clear_agent(path: str | os.PathLike[str] | None = None) -> bool:
    """Remove the selection; False when no agent was selected (the file is then left as it is)."""
    config = read_config(path)
    if CONFIG_KEY not in config:
        return False
    file = config_path(path)
    kept = {key: value for key, value in config.items() if key != CONFIG_KEY}
    file.unlink()
    write_config(kept, file)
    return True
