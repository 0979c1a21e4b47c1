"""`synapse plugin package [--path DIR] [-o DIR]`: the plugin and its requirements' wheels, as one offline bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synapse_sdk.cli.errors import fail, handle_errors


def register(plugin_app: typer.Typer) -> None:
    """Add ``package`` to the ``synapse plugin`` group."""
    plugin_app.command('package')(handle_errors(package))


def package(
    path: Annotated[Path, typer.Option('--path', '-p', help='Plugin folder or its config.yaml.')] = Path('.'),
    output: Annotated[
        Path, typer.Option('--output', '-o', help='Folder to write <code>-<version>.synapse.zip into.')
    ] = Path('.'),
) -> None:
    """Check the plugin as `publish` does, download its requirements' wheels and write one offline bundle.

    The bundle installs with no package index (`synapse plugin run --mode job --path BUNDLE`). Every
    problem is listed (one line each) and nothing is written when the version is not semantic, an
    entrypoint does not import or the bundle would be over a size limit.
    """
    from rich.console import Console

    from synapse_sdk.cli.errors import err_console
    from synapse_sdk.exceptions import PluginError
    from synapse_sdk.plugins.package import build_bundle
    from synapse_sdk.plugins.publish import format_size

    out = Console(highlight=False, soft_wrap=True)
    try:
        bundle = build_bundle(path, output)
    except PluginError as exc:
        problems = exc.details.get('problems')
        if not problems:
            raise
        count = f'{len(problems)} problem' + ('' if len(problems) == 1 else 's')
        error = fail(f'cannot package {exc.details["release"]} ({count}); nothing was written:')
        for problem in problems:
            err_console.print(f'  {problem}', markup=False, highlight=False, soft_wrap=True)
        raise error from exc
    manifest = bundle.manifest
    wheels = len(manifest.wheels)
    out.print(
        f'Packaged {manifest.code}@{manifest.version}: {bundle.path} ({format_size(bundle.size)}, '
        f'sha256 {bundle.sha256[:12]}; {wheels} wheel{"" if wheels == 1 else "s"} for '
        f'{manifest.python} on {manifest.platform})',
        markup=False,
    )
    for wheel in manifest.wheels:
        out.print(f'  {format_size(wheel.size):>10}  {wheel.file}', markup=False)
    out.print(f'Run it offline: synapse plugin run ACTION --mode job --path {bundle.path}', markup=False)
