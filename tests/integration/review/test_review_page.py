"""The review page in a real browser (Chromium): drawing, filters, the keyboard, commit and undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.integration.review.conftest import ReviewRun, ReviewServer, make_run, save_doc_image

from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.actions.to_task.record import open_run

pytestmark = [pytest.mark.integration, pytest.mark.browser]

#: what the page draws, per task: each object's element, attributes and box on the screen
READ_SHAPES = """
() => Array.from(document.querySelectorAll('article.task')).map((article) => {
  const img = article.querySelector('img');
  const svg = article.querySelector('svg.overlay');
  const at = img.getBoundingClientRect();
  return {
    task: Number(article.dataset.taskId),
    natural: [img.naturalWidth, img.naturalHeight],
    shown: [at.left, at.top, at.width, at.height],
    viewBox: svg.getAttribute('viewBox'),
    shapes: Array.from(svg.querySelectorAll('.object.proposed')).map((node) => {
      const r = node.getBoundingClientRect();
      const attrs = {};
      for (const name of ['x', 'y', 'width', 'height', 'points']) attrs[name] = node.getAttribute(name);
      return {id: node.dataset.objectId, tag: node.tagName, attrs, screen: [r.left, r.top, r.width, r.height],
              visible: getComputedStyle(node).display !== 'none'};
    }),
  };
})
"""


def open_page(page: Any, server: ReviewServer, run: ReviewRun) -> None:
    """Open the run's page with the printed link and wait until every image is loaded and measured."""
    page.goto(server.page_url(run.run_id))
    page.wait_for_selector('article.task')
    for article in page.locator('article.task').all():
        article.scroll_into_view_if_needed()
        article.locator('.frame.loaded').wait_for()
    page.evaluate('window.scrollTo(0, 0)')


def boxes(data: Any) -> dict[str, dict[str, Any]]:
    return {o['id']: o for o in data['annotations']['image_1']}


def visible_ids(page: Any) -> set[str]:
    return set(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('.object.proposed'))
                 .filter((n) => getComputedStyle(n).display !== 'none').map((n) => n.dataset.objectId)"""
        )
    )


def test_each_box_is_drawn_at_its_image_coordinates(page, review_server, review_run):
    open_page(page, review_server, review_run)
    drawn = page.evaluate(READ_SHAPES)
    assert [t['task'] for t in drawn] == review_run.task_ids
    for task in drawn:
        width, height = review_run.sizes[task['task']]
        assert task['natural'] == [width, height]
        assert task['viewBox'] == f'0 0 {width} {height}'
        left, top, shown_w, shown_h = task['shown']
        scale_x, scale_y = shown_w / width, shown_h / height
        assert scale_x == pytest.approx(scale_y, rel=1e-3)  # the image keeps its aspect ratio
        expected = boxes(review_run.proposed[task['task']])
        assert {s['id'] for s in task['shapes']} == set(expected)
        for shape in task['shapes']:
            obj = expected[shape['id']]
            if obj['tool'] == 'bounding_box':
                geometry = obj['data']
                assert shape['tag'] == 'rect'
                attrs = {k: float(shape['attrs'][k]) for k in ('x', 'y', 'width', 'height')}
                assert attrs == {k: float(geometry[k]) for k in ('x', 'y', 'width', 'height')}
                assert shape['screen'] == pytest.approx(
                    [
                        left + geometry['x'] * scale_x,
                        top + geometry['y'] * scale_y,
                        geometry['width'] * scale_x,
                        geometry['height'] * scale_y,
                    ],
                    abs=0.5,
                )
            else:
                assert shape['tag'] == 'polygon'
                points = [[float(v) for v in pair.split(',')] for pair in shape['attrs']['points'].split()]
                assert points == [[float(x), float(y)] for x, y in obj['data']]
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                assert shape['screen'] == pytest.approx(
                    [
                        left + min(xs) * scale_x,
                        top + min(ys) * scale_y,
                        (max(xs) - min(xs)) * scale_x,
                        (max(ys) - min(ys)) * scale_y,
                    ],
                    abs=0.5,
                )


def test_the_confidence_slider_hides_exactly_the_objects_scored_below_it(page, review_server, review_run):
    open_page(page, review_server, review_run)
    every = {i: o for data in review_run.proposed.values() for i, o in boxes(data).items()}
    assert visible_ids(page) == set(every)
    slider = page.locator('#confidence')
    slider.focus()
    for _ in range(10):  # the keyboard moves the slider: 10 steps of 0.05
        page.keyboard.press('ArrowRight')
    assert page.locator('#confidence-value').text_content() == '0.50'
    kept = {i for i, o in every.items() if o.get('confidence') is None or o['confidence'] >= 0.5}
    assert visible_ids(page) == kept
    assert kept != set(every) and any(o.get('confidence') is None for i, o in every.items() if i in kept)
    for _ in range(10):
        page.keyboard.press('ArrowRight')
    assert visible_ids(page) == {i for i, o in every.items() if o.get('confidence') is None}  # 1.0: unscored only


def test_the_class_filter_and_the_legend(page, review_server, review_run):
    open_page(page, review_server, review_run)
    legend = page.locator('#legend li').all_text_contents()
    assert [text.split(' (')[0].strip() for text in legend] == ['car', 'person']
    page.locator('#class-filter').select_option('person')
    every = {i: o for data in review_run.proposed.values() for i, o in boxes(data).items()}
    assert visible_ids(page) == {i for i, o in every.items() if o['classification']['class'] == 'person'}
    colours = page.evaluate(
        "() => Array.from(document.querySelectorAll('.object.proposed')).map((n) => [n.dataset.label, "
        "n.getAttribute('stroke')])"
    )
    assert len({c for label, c in colours if label == 'car'}) == 1
    assert {c for label, c in colours if label == 'car'} != {c for label, c in colours if label == 'person'}


def test_the_page_works_with_the_keyboard_alone(page, review_server, review_run, backend_client):
    open_page(page, review_server, review_run)
    first, second, third, _ = review_run.task_ids
    page.keyboard.press('j')
    assert page.evaluate('document.activeElement.dataset.taskId') == str(first)
    outline = page.evaluate('getComputedStyle(document.activeElement).outlineStyle')
    assert outline != 'none'  # the focus ring shows
    page.keyboard.press('a')  # approve the first, focus moves on
    page.wait_for_selector(f'article[data-task-id="{first}"][data-decision="approved"]')
    assert page.evaluate('document.activeElement.dataset.taskId') == str(second)
    page.keyboard.press('r')
    page.wait_for_selector(f'article[data-task-id="{second}"][data-decision="rejected"]')
    assert page.evaluate('document.activeElement.dataset.taskId') == str(third)
    page.keyboard.press('k')
    page.keyboard.press('ArrowUp')
    assert page.evaluate('document.activeElement.dataset.taskId') == str(first)
    page.keyboard.press('p')
    page.wait_for_selector(f'article[data-task-id="{first}"][data-decision="pending"]')
    page.keyboard.press('ArrowRight')
    page.keyboard.press('Tab')  # from the task to its Approve button: a real, focusable button
    assert page.evaluate('[document.activeElement.tagName, document.activeElement.textContent]') == [
        'BUTTON',
        'Approve',
    ]
    page.keyboard.press('Enter')
    page.wait_for_selector(f'article[data-task-id="{second}"][data-decision="approved"]')
    page.keyboard.press('?')
    assert page.locator('#help').is_visible()
    page.keyboard.press('Escape')
    assert not page.locator('#help').is_visible()
    expect(page.locator('[data-count="approved"]')).to_have_text('1')
    expect(page.locator('[data-count="pending"]')).to_have_text('3')
    with open_run(review_run.run_id) as record:
        decisions = {e.task_id: e.decision for e in record.entries()}
    assert decisions == {first: 'pending', second: 'approved', third: 'pending', review_run.task_ids[3]: 'pending'}


def test_approve_then_commit_writes_exactly_the_approved_tasks_and_undo_restores_them(
    page, review_server, review_run, backend_client: BackendClient, tmp_path: Path
):
    from synapse_sdk.plugins.actions.to_task.commit import undo_run

    open_page(page, review_server, review_run)
    ids = review_run.task_ids
    approved = [ids[0], ids[1]]  # one task without data, one annotated by hand before
    for task_id in approved:
        page.locator(f'article[data-task-id="{task_id}"] button.approve').click()
        page.wait_for_selector(f'article[data-task-id="{task_id}"][data-decision="approved"]')
    page.locator(f'article[data-task-id="{ids[2]}"] button.reject').click()
    page.wait_for_selector(f'article[data-task-id="{ids[2]}"][data-decision="rejected"]')
    page.locator('#show-current').check()
    shot = tmp_path / 'review.png'
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    save_doc_image(shot, 'review.png')

    assert page.locator('#commit').text_content() == 'Commit 2 approved'
    page.locator('#commit').click()
    page.wait_for_selector('#report:not([hidden])')
    assert page.locator('#report dd[data-field="written"]').text_content() == '2'
    assert page.locator('#report dd[data-field="conflicts"]').text_content() == '0'
    expect(page.locator('[data-count="written"]')).to_have_text('2')
    for task_id in ids:
        data = backend_client.get_task(task_id)['data']
        want = review_run.proposed[task_id] if task_id in approved else review_run.current[task_id]
        assert data == want, task_id

    with open_run(review_run.run_id) as record:
        report = undo_run(record, backend_client)
    assert (report.restored, report.conflicts, report.failed) == (2, [], [])
    for task_id in ids:
        assert backend_client.get_task(task_id)['data'] == review_run.current[task_id]


def test_approve_all_shown_follows_the_filters(page, review_server, backend_client):
    run = make_run(backend_client, 4)
    open_page(page, review_server, run)
    page.locator('#decision-filter').select_option('pending')
    page.locator(f'article[data-task-id="{run.task_ids[0]}"] button.reject').click()
    page.wait_for_selector(f'article[data-task-id="{run.task_ids[0]}"][hidden]', state='attached')
    page.locator('#approve-shown').click()
    expect(page.locator('[data-count="approved"]')).to_have_text('3')
    with open_run(run.run_id) as record:
        assert {e.task_id: e.decision for e in record.entries()} == {
            run.task_ids[0]: 'rejected',
            **{t: 'approved' for t in run.task_ids[1:]},
        }
