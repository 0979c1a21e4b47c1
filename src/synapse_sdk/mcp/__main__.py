"""``python -m synapse_sdk.mcp serve|init [--path DIR]``: the same as ``synapse mcp serve|init``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Run ``serve`` or ``init``; an expected error is one ``Error:`` line on stderr and exit code 1."""
    from synapse_sdk.exceptions import SynapseError
    from synapse_sdk.utils.redact import redact

    parser = argparse.ArgumentParser(prog='python -m synapse_sdk.mcp', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    for command, text in (('serve', 'serve the plugin over stdio'), ('init', 'print a client config snippet')):
        sub = commands.add_parser(command, help=text)
        sub.add_argument('--path', '-p', default='.', help='plugin folder or its config.yaml (default: .)')
        if command == 'init':
            sub.add_argument('--name', default=None, help='server name in the snippet (default: synapse-<code>)')
    args = parser.parse_args(argv)
    try:
        if args.command == 'serve':
            from synapse_sdk.mcp.server import serve

            serve(args.path)
        else:
            from synapse_sdk.mcp.client_config import client_config

            print(json.dumps(client_config(args.path, name=args.name), indent=2))
    except (SynapseError, ValueError, OSError) as exc:
        print(f'Error: {redact(str(exc))}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
