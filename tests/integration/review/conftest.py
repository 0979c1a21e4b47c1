"""A dry run's record over real tasks of the local backend (real PNGs), the review app serving it, a browser."""

from __future__ import annotations

import io
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.plugins.actions.to_task.files import normalise_files
from synapse_sdk.plugins.actions.to_task.record import RunMeta, RunRecord, new_run_id
from synapse_sdk.plugins.actions.to_task.summary import summarize

CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
]
_NAMES = itertools.count(1)

#: (width, height) of each task's image: different sizes and aspect ratios, so a scaling slip shows
SIZES = [(640, 480), (300, 500), (512, 512), (800, 360)]


@dataclass
class ReviewRun:
    """A dry run's record and what it was made from."""

    run_id: str
    project: int
    task_ids: list[int]
    sizes: dict[int, tuple[int, int]]
    images: dict[int, bytes]
    current: dict[int, Any]
    proposed: dict[int, Any]
    folder: Path
    extra: dict[str, Any] = field(default_factory=dict)


def png(width: int, height: int, seed: int) -> bytes:
    """A real PNG: a gradient with a few blocks, different per seed."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * 255 // width), (y * 255 // height), np.full_like(x, 80 + 40 * seed)], axis=-1)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        pixels[y0 : y0 + 40, x0 : x0 + 40] = rng.integers(0, 255, 3)
    out = io.BytesIO()
    Image.fromarray(pixels.astype('uint8')).save(out, format='PNG')
    return out.getvalue()


def box(ident: str, label: str, x: float, y: float, w: float, h: float, confidence: float | None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        'id': ident,
        'tool': 'bounding_box',
        'classification': {'class': label},
        'data': {'x': x, 'y': y, 'width': w, 'height': h},
    }
    if confidence is not None:
        obj['confidence'] = confidence
    return obj


def proposal(index: int, width: int, height: int) -> dict[str, Any]:
    """Boxes at fractional and integer positions, scored and unscored, two classes, and one polygon."""
    objects = [
        box(f'b{index}-1', 'car', 10.5, 20.25, width / 3, height / 4, 0.9),
        box(f'b{index}-2', 'person', width / 2, height / 2, 37, 53.5, 0.3 + 0.1 * index),
        box(f'b{index}-3', 'car', width - 81, height - 61, 80, 60, None),
    ]
    if index % 2 == 0:
        objects.append(
            {
                'id': f'p{index}',
                'tool': 'polygon',
                'classification': {'class': 'person'},
                'data': [[5, 5], [width / 4, 12.5], [width / 5, height / 3]],
                'confidence': 0.65,
            }
        )
    return {'annotations': {'image_1': objects}}


def make_client(local_backend: Any) -> BackendClient:
    return BackendClient(local_backend.base_url, local_backend.token, retry=RetryPolicy(attempts=3, backoff=0.01))


def make_run(client: BackendClient, count: int = 4) -> ReviewRun:
    """``count`` real tasks (a PNG each; the odd ones with data already) and a dry run's record proposing boxes."""
    name = f'review-{next(_NAMES)}'
    collection = client.data_collections.create(name, [{'name': 'image', 'is_primary': True}])
    project = client.projects.create(name, data_collection=collection['id'])['id']
    meta = RunMeta(
        run_id=new_run_id(),
        created_at='2025-01-01T00:00:00+00:00',
        dry_run=True,
        project=project,
        method='file',
        job_name=name,
        backend=client.backend_identity(),
        backend_url=client.base_url,
        status='finished',
    )
    record = RunRecord.create(meta)
    run = ReviewRun(meta.run_id, project, [], {}, {}, {}, {}, record.folder)
    for i in range(count):
        width, height = SIZES[i % len(SIZES)]
        image = png(width, height, i)
        uploaded = client.data_files.upload(image, f'img{i}.png')
        unit = client.data_units.create(
            collection['id'], {'image': {'file': uploaded['id'], 'is_primary': True}}, key=f'img{i}'
        )
        task_id = client.tasks.create(project, data_unit=unit['id'])['id']
        current: dict[str, Any] = {}
        if i % 2 == 1:  # already annotated by hand: the commit replaces it, an undo puts it back
            current = {'annotations': {'image_1': [box(f'old{i}', 'car', 1, 2, 3, 4, None)]}}
            client.annotate_task_data(task_id, current)
        task = client.get_task(task_id, {'expand': 'data_unit'})
        primary = next(f for f in normalise_files(task['data_unit']['files']) if f.get('is_primary'))
        proposed = proposal(i, width, height)
        record.propose(
            task_id,
            task['data'],
            proposed,
            {'url': primary['url'], 'name': f'img{i}.png'},
            summarize(current, proposed),
        )
        run.task_ids.append(task_id)
        run.sizes[task_id] = (width, height)
        run.images[task_id] = image
        run.current[task_id] = task['data']
        run.proposed[task_id] = proposed
    record.close()
    return run


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))


@pytest.fixture
def backend_client(local_backend: Any) -> Iterator[BackendClient]:
    client = make_client(local_backend)
    yield client
    client.close()


@pytest.fixture
def review_run(backend_client: BackendClient) -> ReviewRun:
    return make_run(backend_client)


@dataclass
class ReviewServer:
    base_url: str  #: ``http://127.0.0.1:<port>/``
    key: str
    app: Any

    def page_url(self, run_id: str) -> str:
        return f'{self.base_url}review/{run_id}/?key={self.key}'


@pytest.fixture
def review_server(local_backend: Any, asgi_server: Any) -> Iterator[ReviewServer]:
    """The review app on 127.0.0.1, its client a real one of the local backend."""
    from synapse_sdk.review import create_review_app

    app = create_review_app(lambda: make_client(local_backend))
    with asgi_server(app) as base_url:
        yield ReviewServer(base_url, app.state.review_key, app)
    app.state.review.close()


@pytest.fixture(scope='module')
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, headless, with a fresh profile (one per test module).

    Not per session: Playwright's sync API keeps an event loop running on this thread while it is open,
    and later tests that call ``asyncio.run`` would fail.
    """
    if not CHROMIUM.is_file():
        pytest.fail(f'{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)')
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp('chromium-profile')
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={'width': 1280, 'height': 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, review_server: ReviewServer) -> Iterator[Any]:
    """A fresh tab (closed before the review server stops: the page polls it)."""
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on('pageerror', lambda exc: errors.append(str(exc)))
    page.on('console', lambda msg: errors.append(msg.text) if msg.type == 'error' else None)
    yield page
    page.close()
    browser_context.clear_cookies()
    assert errors == [], f'the page reported errors: {errors}'


def save_doc_image(source: Path, name: str) -> None:
    """Copy a screenshot into docs/ when SYNAPSE_UPDATE_DOC_IMAGES=1 (how docs/review.png is made)."""
    if os.environ.get('SYNAPSE_UPDATE_DOC_IMAGES') == '1':
        shutil.copyfile(source, Path(__file__).resolve().parents[3] / 'docs' / name)
