"""`synapse plugin` commands: run, test, create and update-config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from synapse_sdk.cli.errors import fail, handle_errors
from synapse_sdk.cli.plugin_job import app as job_app
from synapse_sdk.enums import ExecutionMode, PluginCategory

app = typer.Typer(help='Create, run and test plugins.', no_args_is_help=True)
app.add_typer(job_app, name='job')

PathOpt = Annotated[Path, typer.Option('--path', '-p', help='Plugin folder or its config.yaml.')]
ParamsOpt = Annotated[str | None, typer.Option('--params', help='Params as a JSON object, or @file.json.')]


def parse_params(text: str | None) -> dict[str, Any] | None:
    """``--params``: a JSON object, or ``@path`` to a file holding one."""
    if text is None:
        return None
    source = '--params'
    if text.startswith('@'):
        file = Path(text[1:])
        if not file.is_file():
            raise FileNotFoundError(f'params file not found: {file}')
        source, raw = str(file), file.read_bytes()
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ValueError(
                f'{file} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8'
            ) from None
    from synapse_sdk.plugins._params_limits import MAX_PARAMS_BYTES, load_params_text

    if len(text) > MAX_PARAMS_BYTES // 4:  # large: size and depth checked before parsing, naming the limit
        return load_params_text(text, source)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}') from None
    except RecursionError:
        return load_params_text(text, source)  # names where the depth limit was passed
    if not isinstance(value, dict):
        raise ValueError(f'{source} must be a JSON object like {{"name": "value"}}, got {type(value).__name__}')
    from synapse_sdk.plugins._params_limits import check_params_shape

    check_params_shape(value)
    return value


@app.command('run')
@handle_errors
def run(
    action: Annotated[str, typer.Argument(help='Action key in config.yaml.')],
    path: PathOpt = Path('.'),
    params: ParamsOpt = None,
    mode: Annotated[ExecutionMode, typer.Option('--mode', '-m', help='Where to run.')] = ExecutionMode.LOCAL,
    verbose: Annotated[bool, typer.Option('--verbose', '-v', help='Show debug events and metrics.')] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            '--ray-address',
            help="Ray cluster for --mode task (e.g. 'auto', 'ray://host:10001') or its dashboard for --mode job "
            "(e.g. 'http://127.0.0.1:8265').",
        ),
    ] = None,
    allow_unknown_params: Annotated[
        bool,
        typer.Option('--allow-unknown-params', help='Run even with params keys the action does not know (logged).'),
    ] = False,
) -> None:
    """Run one action and print its result as JSON (job mode prints the job id).

    Exit code 0 when every item succeeded or was skipped, 1 when the run failed (its status is FAILED),
    3 when it finished with some failed items (``failed_count > 0``).
    """
    from synapse_sdk.cli import render
    from synapse_sdk.cli.errors import result_exit_code
    from synapse_sdk.plugins.runner import run_plugin

    values = parse_params(params)
    kwargs: dict[str, Any] = {}
    if allow_unknown_params:
        kwargs['allow_unknown_params'] = True
    if mode is ExecutionMode.LOCAL and ray_address:
        raise fail('--ray-address applies to --mode task or --mode job')
    if mode in (ExecutionMode.LOCAL, ExecutionMode.TASK):  # task mode streams the actor's progress and logs
        kwargs['logger_factory'] = lambda: render.RichProgressLogger(verbose=verbose)
    if ray_address:
        kwargs['ray_address'] = ray_address
    result = run_plugin(str(path), action, values, mode=mode, **kwargs)
    render.print_result(result)
    code = result_exit_code(result)
    render.print_outcome(result, code)
    if code:
        raise typer.Exit(code)


@app.command('test')
@handle_errors
def test(
    action: Annotated[str | None, typer.Argument(help='Only this action (default: every action).')] = None,
    path: PathOpt = Path('.'),
    params: ParamsOpt = None,
) -> None:
    """Run the plugin's actions locally with example params and report pass/fail per action."""
    from synapse_sdk.cli import render
    from synapse_sdk.plugins.smoke import CheckStatus, check_actions

    values = parse_params(params)
    if values is not None and action is None:
        raise fail('--params applies to one action: name it, e.g. `synapse plugin test train --params ...`')
    checks = check_actions(path, action, values)
    render.print_checks(checks)
    if any(c.status is CheckStatus.FAILED for c in checks):
        raise typer.Exit(1)


@app.command('update-config')
@handle_errors
def update_config(path: PathOpt = Path('.')) -> None:
    """Write the entrypoints and input/output types found in the code into config.yaml."""
    from synapse_sdk.cli import render
    from synapse_sdk.plugins._config_sync import sync_config

    render.print_sync(sync_config(path))


@app.command('create')
@handle_errors
def create(
    name: Annotated[str | None, typer.Option('--name', '-n', help='Display name.')] = None,
    code: Annotated[str | None, typer.Option('--code', '-c', help='Slug (default: from the name).')] = None,
    category: Annotated[PluginCategory | None, typer.Option('--category', help='Plugin category.')] = None,
    description: Annotated[str | None, typer.Option('--description', '-d', help='One-line description.')] = None,
    path: Annotated[Path, typer.Option('--path', '-p', help='Folder to create the plugin in.')] = Path('.'),
    yes: Annotated[bool, typer.Option('--yes', '-y', help='Ask nothing: take flags and defaults.')] = False,
) -> None:
    """Create synapse-<code>-plugin/ from templates (interactive unless --yes)."""
    from synapse_sdk.plugins.scaffold import PluginSpec, create_plugin, slugify, text_problem

    answers: dict[str, Any] = {'name': name, 'code': code, 'category': category, 'description': description}
    if not yes:
        answers = _ask(answers)
    if not answers['name']:
        raise fail('--name is required with --yes')
    problem = text_problem(answers['name'])
    if problem:
        raise fail(f'name: {problem}')
    answers['code'] = answers['code'] or slugify(answers['name'])
    if not answers['code']:
        raise fail(f'--code is required: no slug can be made from the name {answers["name"]!r}')
    answers['category'] = answers['category'] or PluginCategory.CUSTOM
    answers['description'] = answers['description'] or ''
    try:
        spec = PluginSpec(**answers)
    except ValueError as exc:  # pydantic's ValidationError: name the field
        errors: list[dict[str, Any]] = getattr(exc, 'errors', list)()
        message = '; '.join(f'{e["loc"][0]}: {e["msg"].removeprefix("Value error, ")}' for e in errors) or str(exc)
        raise fail(message) from exc
    folder = create_plugin(spec, path)
    typer.echo(f'Created {folder}')
    typer.echo(f'Next: cd {folder} && synapse plugin test')


def _ask(answers: dict[str, Any]) -> dict[str, Any]:
    """Prompt (questionary) for whatever the flags left out; answers are checked as they are typed."""
    import questionary

    from synapse_sdk.plugins.scaffold import code_problem, slugify, text_problem

    out = dict(answers)
    if not out['name']:
        out['name'] = _answer(questionary.text('Plugin name:', validate=lambda v: text_problem(v) or True))
    if not out['code']:
        prompt = questionary.text(
            'Plugin code (slug):', default=slugify(out['name']), validate=lambda v: code_problem(v) or True
        )
        out['code'] = _answer(prompt)
    if out['category'] is None:
        choices = [c.value for c in PluginCategory]
        out['category'] = PluginCategory(_answer(questionary.select('Category:', choices=choices, default='custom')))
    if out['description'] is None:
        optional = questionary.text('Description:', default='', validate=lambda v: text_problem(v, False) or True)
        out['description'] = _answer(optional)
    return out


def _answer(question: Any) -> Any:
    value = question.ask()
    if value is None:  # Ctrl-C
        raise typer.Abort()
    return value


@app.command('publish')
@handle_errors
def publish(
    path: PathOpt = Path('.'),
    dry_run: Annotated[
        bool, typer.Option('--dry-run', help='Show what would ship and why the rest is left out; upload nothing.')
    ] = False,
) -> None:
    """Check the plugin, build its archive and publish it to the backend as release <code>@<version>.

    Every problem is listed (one line each) and nothing is uploaded when the version is not semantic
    or an action's entrypoint does not import. A version already published cannot be replaced.
    """
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    release = _publish_checked(path)
    _publish_summary(out, release, listing=dry_run)
    if dry_run:
        out.print('Dry run: nothing was uploaded.', markup=False)
        return
    from synapse_sdk.connect import create_backend_client
    from synapse_sdk.plugins._remote import backend_label

    client = create_backend_client()
    if client is None:
        raise fail('No backend to publish to: run `synapse login`, or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN')
    label = f'{release.code}@{release.version}'
    try:
        reply = _publish_upload(client, release, label)
    finally:
        client.close()
    out.print(f'Published {label} as release {reply["id"]} to {backend_label(client)}', markup=False)


def _publish_checked(path: Path) -> Any:
    """``prepare_release(path)``; a release that cannot be published prints each problem on its own line."""
    from synapse_sdk.cli.errors import err_console
    from synapse_sdk.exceptions import PluginError
    from synapse_sdk.plugins.publish import prepare_release

    try:
        return prepare_release(path)
    except PluginError as exc:
        problems = exc.details.get('problems')
        if not problems:
            raise
        error = fail(f'cannot publish {exc.details["release"]} ({_count(len(problems), "problem")}):')
        for problem in problems:
            err_console.print(f'  {problem}', markup=False, highlight=False, soft_wrap=True)
        raise error from exc


def _publish_summary(out: Any, release: Any, *, listing: bool) -> None:
    """The archive in one line; with ``listing``, every file that ships and every path left out, with the rule."""
    from synapse_sdk.plugins.publish import format_size

    manifest = release.manifest
    head = (
        f'{release.code}@{release.version} would ship' if listing else f'Publishing {release.code}@{release.version}:'
    )
    out.print(
        f'{head} {_count(len(manifest.shipped), "file")}, {format_size(manifest.total_size)} '
        f'(archive {format_size(len(release.archive))}, sha256 {release.sha256[:12]})',
        markup=False,
    )
    if not listing:
        return
    for item in manifest.shipped:
        out.print(f'  {format_size(item.size):>10}  {item.path}', markup=False)
    out.print(f'Left out ({len(manifest.excluded)}):' if manifest.excluded else 'Left out: nothing', markup=False)
    for left in manifest.excluded:
        files = f' ({_count(left.files, "file")})' if left.path.endswith('/') and left.files else ''
        out.print(f'  {left.path}{files}: {left.reason}', markup=False)


def _count(number: int, noun: str) -> str:
    return f'{number} {noun}' + ('' if number == 1 else 's')


def _publish_upload(client: Any, release: Any, label: str) -> dict[str, Any]:
    """Upload the release; a version the backend already has is refused with what to do."""
    from synapse_sdk.exceptions import ClientError, RequestValidationError
    from synapse_sdk.plugins._remote import backend_label

    try:
        reply: dict[str, Any] = client.plugin_releases.publish(
            release.code, release.version, release.config, release.archive
        )
    except RequestValidationError as exc:
        try:
            client.plugin_releases.get(label)
        except ClientError:
            exists = False
        else:
            exists = True
        if not exists:  # refused for another reason: the backend's own message says which
            raise
        raise fail(
            f'{label} is already published on {backend_label(client)} and a release cannot be replaced; '
            'bump version in config.yaml and publish again'
        ) from exc
    return reply
