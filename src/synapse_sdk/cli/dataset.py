"""`synapse dataset` commands: convert between formats, validate a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synapse_sdk.cli.errors import err_console, fail, handle_errors

if TYPE_CHECKING:
    from rich.console import Console

    from synapse_sdk.plugins.datasets.compare import Verification
    from synapse_sdk.plugins.datasets.report import ConversionReport

app = typer.Typer(
    help='Dataset commands: convert between DM v1/v2, YOLO, COCO and Pascal VOC; validate.', no_args_is_help=True
)

_FORMATS = 'dm_v1, dm_v2, yolo, coco, pascal'

#: ``synapse dataset convert`` exit codes (docs/datasets.md); 1 is a refused conversion, 2 a usage error
EXIT_NOTHING_WRITTEN = 3  #: the conversion ran but wrote no item (every item skipped, or none in the source)
EXIT_ITEMS_SKIPPED = 4  #: some items were skipped; the others were written
EXIT_DRIFTED = 5  #: ``--verify`` (or ``diff``) found objects drifted beyond the tolerance, missing or extra


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
    verify: Annotated[
        bool, typer.Option('--verify', help='Read the output back and compare it with the source, object by object.')
    ] = False,
    iou: Annotated[
        float, typer.Option('--iou', min=0.0, max=1.0, help='--verify: least IoU of a box and its copy.')
    ] = 0.999,
    max_drift_px: Annotated[
        float, typer.Option('--max-drift-px', min=0.0, help='--verify: largest corner / point move, in pixels.')
    ] = 0.01,
) -> None:
    """Convert a dataset, e.g. `synapse dataset convert ./coco ./yolo --from coco --to yolo`.

    Exit codes: 0 every item was converted (annotations may still be skipped or lossy: see the report);
    1 the conversion was refused, nothing written (bad input as a whole, an unsafe or oversized archive);
    2 a usage error; 3 nothing written: every item was skipped, or the source holds none (the reason is
    printed); 4 some items were skipped, the rest was written; 5 (``--verify``) the output read back differs
    from the source beyond the tolerance (what the target format cannot hold is not a difference).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synapse_sdk.plugins.datasets.converter import get_converter

    options: dict[str, object] = {'images': images, 'yolo_task': yolo_task, 'layout': layout, 'overwrite': overwrite}
    if verify:
        options.update(verify=True, verify_iou=iou, verify_max_drift_px=max_drift_px)
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
    if report.verification is not None and not report.verification.ok:
        raise fail(escape(f'verification failed: {report.verification.summary()}'), EXIT_DRIFTED)
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
    if report.verification is not None:
        _render_verification(report.verification, console)
    for skipped in report.items_skipped[:10]:
        console.print(f'[yellow]skipped[/] {skipped.item}: {skipped.reason.value}', highlight=False)
    if len(report.items_skipped) > 10:
        console.print(f'... and {len(report.items_skipped) - 10} more skipped items', highlight=False)


def _render_verification(verification: Verification, console: Console, title: str = 'verification') -> None:
    from rich.table import Table

    v = verification
    table = Table(
        title=f'{title}: {"OK" if v.ok else "DIFFERENT"} (IoU >= {v.tolerance.iou}, '
        f'drift <= {v.tolerance.max_drift_px} px)'
    )
    table.add_column('', style='bold')
    table.add_column('value')
    table.add_row('items compared', str(v.items_compared))
    table.add_row('objects matched / drifted', f'{v.matched} / {v.drifted}')
    table.add_row('objects missing / extra', f'{v.missing} / {v.extra}')
    if v.derived:
        table.add_row('derived boxes', str(v.derived))
    for label, counts in (('missing', v.missing_by), ('extra', v.extra_by), ('lossy by format', v.lossy_by_format)):
        if counts:
            table.add_row(label, ', '.join(f'{k}: {n}' for k, n in counts.items()))
    for label, names, count in (
        ('items missing', v.items_missing, v.items_missing_count),
        ('items extra', v.items_extra, v.items_extra_count),
    ):
        if count:
            table.add_row(label, f'{count}: ' + ', '.join(names[:10]) + (' ...' if count > 10 else ''))
    table.add_row('min IoU / max drift', f'{v.min_iou if v.min_iou is not None else "-"} / {v.max_drift_px:g} px')
    console.print(table)
    if v.worst:
        worst = Table(title='worst drifted objects')
        for column in ('item', 'tool', 'class', 'IoU', 'drift px', 'points', 'area', 'attrs'):
            worst.add_column(column)
        for d in v.worst:
            worst.add_row(
                d.item,
                d.tool,
                str(d.classification),
                f'{d.iou:.4f}' if d.iou is not None else '-',
                f'{d.drift_px:g}',
                f'{d.points[0]} → {d.points[1]}' if d.points else '-',
                f'{d.area[0]:g} → {d.area[1]:g}' if d.area else '-',
                ', '.join(d.attrs) or '-',
            )
        console.print(worst)


@app.command('diff')
@handle_errors
def diff(
    a: Annotated[Path, typer.Argument(help='The reference dataset (folder or one annotation file).')],
    b: Annotated[Path, typer.Argument(help='The dataset compared with it.')],
    formats: Annotated[
        list[str], typer.Option('--format', '-f', help=f'Format of A, then of B (give it twice): {_FORMATS}.')
    ],
    iou: Annotated[
        float, typer.Option('--iou', min=0.0, max=1.0, help='Least IoU of a box and its counterpart.')
    ] = 0.999,
    max_drift_px: Annotated[
        float, typer.Option('--max-drift-px', min=0.0, help='Largest corner / point move, in pixels.')
    ] = 0.01,
    as_json: Annotated[bool, typer.Option('--json', help='Print the comparison as JSON.')] = False,
) -> None:
    """Compare two datasets object by object, e.g. `synapse dataset diff ./ours ./theirs -f coco -f coco`.

    Exit codes: 0 the same within the tolerance; 5 objects or items drifted, missing or extra; 2 a usage error.
    """
    from rich.console import Console
    from rich.markup import escape

    from synapse_sdk.plugins.datasets.compare import Tolerance
    from synapse_sdk.plugins.datasets.verify import diff_datasets

    if len(formats) not in (1, 2):
        raise typer.BadParameter('give --format once (both datasets) or twice (A, then B)', param_hint='--format')
    tolerance = Tolerance(iou=iou, max_drift_px=max_drift_px)
    result = diff_datasets(a, formats[0], b, formats[-1], tolerance)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _render_verification(result, Console(), f'{a} ({formats[0]}) vs {b} ({formats[-1]})')
    if not result.ok:
        err_console.print(f'[red]Different:[/] {escape(result.summary())}', highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_DRIFTED)
