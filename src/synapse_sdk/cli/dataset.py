"""`synapse dataset` commands: convert between formats, validate a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synapse_sdk.cli.errors import err_console, fail, handle_errors

if TYPE_CHECKING:
    from synapse_sdk.plugins.datasets.report import ConversionReport

app = typer.Typer(
    help='Dataset commands: convert between DM v1/v2, YOLO, COCO and Pascal VOC; validate.', no_args_is_help=True
)

_FORMATS = 'dm_v1, dm_v2, yolo, coco, pascal'

#: ``synapse dataset convert`` exit codes (docs/datasets.md); 1 is a refused conversion, 2 a usage error
EXIT_NOTHING_WRITTEN = 3  #: the conversion ran but wrote no item (every item skipped, or none in the source)
EXIT_ITEMS_SKIPPED = 4  #: some items were skipped; the others were written


@app.command('convert')
@handle_errors
def convert(
    src: Annotated[Path, typer.Argument(help='Dataset folder, one annotation file, or a .zip of a dataset.')],
    dst: Annotated[Path, typer.Argument(help='New output folder (built beside it, moved into place at the end).')],
    source: Annotated[str, typer.Option('--from', help=f'Source format: {_FORMATS}.')],
    target: Annotated[str, typer.Option('--to', help=f'Target format: {_FORMATS}.')],
    images: Annotated[str, typer.Option(help='copy | link | symlink | none')] = 'copy',
    yolo_task: Annotated[str, typer.Option('--yolo-task', help='detect | segment | pose')] = 'detect',
    layout: Annotated[str, typer.Option(help='auto | flat | split')] = 'auto',
    class_names: Annotated[
        str | None, typer.Option('--class-names', help='Comma-separated names fixing class ids.')
    ] = None,
    overwrite: Annotated[bool, typer.Option('--overwrite', help='Replace a non-empty output folder.')] = False,
    as_json: Annotated[bool, typer.Option('--json', help='Print the report as JSON.')] = False,
) -> None:
    """Convert a dataset, e.g. `synapse dataset convert ./coco ./yolo --from coco --to yolo`.

    Exit codes: 0 every item was converted (annotations may still be skipped or lossy: see the report);
    1 the conversion was refused, nothing written (bad input as a whole, an unsafe or oversized archive);
    2 a usage error; 3 nothing written: every item was skipped, or the source holds none (the reason is
    printed); 4 some items were skipped, the rest was written.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synapse_sdk.plugins.datasets.converter import get_converter

    options: dict[str, object] = {'images': images, 'yolo_task': yolo_task, 'layout': layout, 'overwrite': overwrite}
    if class_names:
        options['class_names'] = [name.strip() for name in class_names.split(',') if name.strip()]
    converter = get_converter(source, target, **options)
    if not err_console.is_terminal:  # no live display on pipes and in CI
        report = converter.convert(src, dst)
    else:
        columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task(f'{source} → {target}', total=None)
            report = converter.convert(
                src, dst, progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
    if as_json:
        typer.echo(report.model_dump_json(indent=2, exclude_none=True))
    else:
        _render(report)
    _exit_for(report)


def _exit_for(report: ConversionReport) -> None:
    """Exit :data:`EXIT_NOTHING_WRITTEN` or :data:`EXIT_ITEMS_SKIPPED` (with one line on stderr) when they apply."""
    from rich.markup import escape

    if report.items_written == 0:
        raise fail(escape(f'nothing written: {report.skipped_summary()}'), EXIT_NOTHING_WRITTEN)
    if report.items_skipped:
        err_console.print(
            f'[yellow]Warning:[/] {escape(report.skipped_summary())}; the other {report.items_written} were written',
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_ITEMS_SKIPPED)


@app.command('validate')
@handle_errors
def validate(
    path: Annotated[Path, typer.Argument(help='Dataset folder or one annotation file.')],
    fmt: Annotated[str, typer.Option('--format', '-f', help=f'Format: {_FORMATS}.')],
) -> None:
    """Check a dataset; on problems, name the first bad file and line and exit 1."""
    from synapse_sdk.plugins.datasets.validate import validate_dataset

    report = validate_dataset(path, fmt)
    if report.problems:
        first = report.problems[0]
        where = f'{first.file}:{first.line}' if first.line is not None else first.file
        more = f' (and {len(report.problems) - 1} more)' if len(report.problems) > 1 else ''
        raise fail(f'{where}: {first.reason.value}: {first.message}{more}')
    typer.echo(f'OK: {report.items_seen} items, {report.annotations_seen} annotations ({fmt})')


def _render(report: ConversionReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f'{report.source.value} → {report.target.value if report.target else "-"}: {report.output}')
    table.add_column('', style='bold')
    table.add_column('value')
    table.add_row('items seen / written', f'{report.items_seen} / {report.items_written}')
    table.add_row('annotations seen / written', f'{report.annotations_seen} / {report.annotations_written}')
    for label, counts in (('annotations skipped', report.annotations_skipped), ('lossy', report.lossy)):
        if counts:
            table.add_row(label, ', '.join(f'{k}: {v}' for k, v in counts.items()))
    if report.clamped:
        table.add_row('clamped values', str(report.clamped))
    if report.classes:
        table.add_row('classes', ', '.join(f'{k}: {v}' for k, v in report.classes.items()))
    console.print(table)
    for skipped in report.items_skipped[:10]:
        console.print(f'[yellow]skipped[/] {skipped.item}: {skipped.reason.value}', highlight=False)
    if len(report.items_skipped) > 10:
        console.print(f'... and {len(report.items_skipped) - 10} more skipped items', highlight=False)
