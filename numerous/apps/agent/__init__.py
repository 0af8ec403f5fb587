"""The agent API: scripts and AI agents drive a session of an app over HTTP (and MCP).

`@action` marks the functions and widget methods they may call; `create_app(agent_api=True)`
(on by default in dev mode) serves the API under `{base}/api/agent`. See docs/agents.md.
"""

from __future__ import annotations

from ._action import action
from ._routes import agent_extension

__all__ = ["action", "agent_extension"]
