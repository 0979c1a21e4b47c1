"""The face detector example (``examples/face-detector-plugin``): model folder, detection, task data, samples.

Real OpenCV and scikit-image (the ``face-detector`` extra); no Ray. The Serve side is covered by
``tests/integration/serving/test_face_detector_serving.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.example_modules import load_example_module

from synapse_sdk.exceptions import MissingDependencyError

EXAMPLE = Path(__file__).parents[3] / 'examples' / 'face-detector-plugin'


faces = load_example_module('face_detector_faces', EXAMPLE / 'plugin' / 'faces.py')
matching = load_example_module('face_detector_matching', EXAMPLE / 'plugin' / 'matching.py')
samples = load_example_module('face_detector_samples', EXAMPLE / 'samples.py')


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return faces.build_model_folder(tmp_path_factory.mktemp('haar') / 'model')


@pytest.fixture(scope='module')
def detector(model_dir: Path):
    return faces.load_detector(model_dir)


@pytest.fixture(scope='module')
def generated(tmp_path_factory: pytest.TempPathFactory):
    return samples.make_samples(tmp_path_factory.mktemp('samples'), count=12, seed=0)


# -- samples -------------------------------------------------------------------------------------


def test_samples_hold_i_mod_4_faces_and_are_deterministic(generated, tmp_path):
    assert [len(s.boxes) for s in generated] == [i % 4 for i in range(12)]
    again = samples.make_samples(tmp_path, count=12, seed=0)
    assert [s.path.read_bytes() for s in again] == [s.path.read_bytes() for s in generated]
    truth = json.loads((tmp_path / 'truth.json').read_text())
    assert truth['sample-03'] == {'file': 'sample-03.jpg', 'boxes': generated[3].boxes}
    other = samples.make_samples(tmp_path / 'other', count=12, seed=1)
    assert [s.boxes for s in other] != [s.boxes for s in generated]


def test_sample_boxes_lie_inside_their_image_and_do_not_overlap(generated):
    import cv2

    for sample in generated:
        height, width = cv2.imread(str(sample.path)).shape[:2]
        for box in sample.boxes:
            assert 0 <= box['x'] and box['x'] + box['w'] <= width and 0 <= box['y'] and box['y'] + box['h'] <= height
            assert faces_side_in_range(box)
        for i, a in enumerate(sample.boxes):
            assert all(matching.iou(a, b) == 0 for b in sample.boxes[i + 1 :])


def faces_side_in_range(box: dict) -> bool:
    low, high = samples.FACE_SIDES
    return low - 1 <= box['w'] <= high + 1 and box['w'] == box['h']


def test_the_astronaut_face_box_is_what_the_detector_finds(detector):
    import cv2
    from skimage import data

    ok, encoded = cv2.imencode('.png', cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    found = detector.detect(encoded.tobytes())
    assert [(b['x'], b['y'], b['w'], b['h']) for b in found] == [samples.FACE_BOX]


# -- detection -----------------------------------------------------------------------------------


def test_every_known_face_is_found_with_iou_at_least_0_5_and_images_without_faces_stay_empty(detector, generated):
    false_positives = 0
    for sample in generated:
        found = detector.detect(sample.path.read_bytes())
        outcome = matching.match(sample.boxes, found, 0.5)
        assert not outcome.missed, (sample.name, sample.boxes, found)
        assert all(pair.iou >= 0.8 for pair in outcome.pairs), (sample.name, outcome)
        if not sample.boxes and sample.name.endswith(('00', '04', '08')):  # plain backgrounds
            assert found == []
        false_positives += len(outcome.false_positives)
    assert false_positives <= 1  # one blob of the noisy backgrounds, see RESULTS.md for 200 images


def test_detections_are_sorted_labelled_integer_boxes(detector, generated):
    found = detector.detect(generated[3].path.read_bytes())
    assert found == sorted(found, key=lambda b: (b['y'], b['x'], b['w'], b['h']))
    assert all(set(b) == {'label', 'x', 'y', 'w', 'h'} and b['label'] == 'face' for b in found)
    assert all(isinstance(b[k], int) for b in found for k in 'xywh')
    assert detector.detect(generated[3].path.read_bytes()) == found


def test_task_data_is_the_pre_annotation_task_object_format(detector, generated):
    import cv2

    sample = generated[2]
    data = detector.task_data(sample.path.read_bytes())
    assert set(data) == {'annotations', 'annotationsData'}
    assert data['annotationsData'] == {'image_1': []}
    objects = data['annotations']['image_1']
    assert [o['id'] for o in objects] == ['face-0', 'face-1']
    assert all(o['tool'] == 'bounding_box' and o['classification'] == {'class': 'face'} for o in objects)
    boxes = [
        {'x': o['data']['x'], 'y': o['data']['y'], 'w': o['data']['width'], 'h': o['data']['height']} for o in objects
    ]
    assert not matching.match(sample.boxes, boxes).missed
    png = cv2.imencode('.png', cv2.imread(str(sample.path)))[1].tobytes()
    assert len(detector.task_data(png)['annotations']['image_1']) == 2  # any format OpenCV decodes


def test_to_task_objects_clips_to_the_image_and_drops_what_is_left_empty():
    boxes = [
        {'label': 'face', 'x': -10, 'y': 5, 'w': 30, 'h': 20},
        {'label': 'face', 'x': 90, 'y': 90, 'w': 30, 'h': 30},
        {'label': 'face', 'x': 200, 'y': 0, 'w': 10, 'h': 10},  # wholly outside
        {'label': 'cat', 'x': 10, 'y': 10, 'w': 0, 'h': 10},  # empty
    ]
    objects = faces.to_task_objects(boxes, (100, 100))['annotations']['image_1']
    assert [o['data'] for o in objects] == [
        {'x': 0.0, 'y': 5.0, 'width': 20.0, 'height': 20.0},
        {'x': 90.0, 'y': 90.0, 'width': 10.0, 'height': 10.0},
    ]
    assert [o['id'] for o in objects] == ['face-0', 'face-1']
    assert faces.to_task_objects([], (10, 10)) == {'annotations': {'image_1': []}, 'annotationsData': {'image_1': []}}


@pytest.mark.parametrize(
    ('payload', 'message'),
    [
        (b'', 'not an image: no bytes'),
        (b'definitely not a jpeg', 'not an image: 21 bytes OpenCV cannot decode'),
        (b'\xff\xd8\xff\xe0' + b'\x00' * 64, 'OpenCV cannot decode'),
    ],
)
def test_bytes_that_are_not_an_image_are_refused_with_a_plain_message(detector, payload, message):
    with pytest.raises(ValueError, match=message):
        detector.detect(payload)


def test_a_non_bytes_input_is_refused(detector):
    with pytest.raises(ValueError, match='expected bytes, got str'):
        detector.detect('sample-00.jpg')


# -- the model folder ----------------------------------------------------------------------------


def test_the_model_folder_is_deterministic_and_holds_the_defaults(model_dir, tmp_path):
    again = faces.build_model_folder(tmp_path / 'again')
    assert sorted(p.name for p in again.iterdir()) == sorted([faces.CASCADE_FILE, faces.CONFIG_FILE])
    for name in (faces.CASCADE_FILE, faces.CONFIG_FILE):
        assert (again / name).read_bytes() == (model_dir / name).read_bytes()
    assert json.loads((again / faces.CONFIG_FILE).read_text()) == faces.DEFAULT_CONFIG


def _broken_model(model_dir: Path, tmp_path: Path, **changes) -> Path:
    folder = faces.build_model_folder(tmp_path / 'broken')
    config = {**faces.DEFAULT_CONFIG, **changes}
    (folder / faces.CONFIG_FILE).write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ('changes', 'message'),
    [
        ({'cascade': '../etc/passwd'}, "'cascade' must be a file name in the model folder"),
        ({'label': ''}, "'label' must be a non-empty string"),
        ({'scaleFactor': 1}, "'scaleFactor' must be a number > 1"),
        ({'scaleFactor': True}, "'scaleFactor' must be a number > 1"),
        ({'minNeighbors': -1}, "'minNeighbors' must be an integer >= 0"),
        ({'minNeighbors': 2.5}, "'minNeighbors' must be an integer >= 0"),
        ({'minSize': [48]}, "'minSize' must be \\[width, height\\]"),
        ({'minSize': [48, 0]}, "'minSize' must be \\[width, height\\]"),
    ],
)
def test_an_invalid_detector_config_names_the_file_and_the_field(model_dir, tmp_path, changes, message):
    folder = _broken_model(model_dir, tmp_path, **changes)
    with pytest.raises(ValueError, match=message) as caught:
        faces.load_detector(folder)
    assert str(folder / faces.CONFIG_FILE) in str(caught.value)


def test_every_problem_of_a_config_is_listed_at_once(model_dir, tmp_path):
    folder = _broken_model(model_dir, tmp_path, label=3, minNeighbors='many')
    with pytest.raises(ValueError, match=r"'label' .*; 'minNeighbors'"):
        faces.load_detector(folder)


@pytest.mark.parametrize(
    ('breakage', 'message'),
    [
        (lambda f: (f / faces.CONFIG_FILE).unlink(), 'detector config not found'),
        (lambda f: (f / faces.CONFIG_FILE).write_text('{"cascade": '), 'invalid detector config'),
        (lambda f: (f / faces.CONFIG_FILE).write_text('[1, 2]'), 'expected a JSON object'),
        (lambda f: (f / faces.CASCADE_FILE).unlink(), 'cascade file not found'),
        (lambda f: (f / faces.CASCADE_FILE).write_bytes(b''), 'cascade file is empty'),
        (lambda f: (f / faces.CASCADE_FILE).write_text('<opencv_storage>\n</opencv_storage>\n'), 'not a readable'),
        (
            lambda f: (f / faces.CASCADE_FILE).write_bytes((f / faces.CASCADE_FILE).read_bytes()[:5000]),
            'not a readable OpenCV cascade',
        ),
    ],
)
def test_a_broken_model_folder_is_refused_naming_the_file(tmp_path, breakage, message):
    folder = faces.build_model_folder(tmp_path / 'model')
    breakage(folder)
    with pytest.raises(ValueError, match=message) as caught:
        faces.load_detector(folder)
    assert str(folder) in str(caught.value)


def test_without_opencv_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cv2', None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'synapse-sdk\[face-detector\]'"):
        faces.build_model_folder(Path('unused'))


def test_an_opencv_without_cascades_is_named(monkeypatch):
    fake = ModuleType('cv2')  # stands in for OpenCV 5.x, which we cannot install beside 4.x
    fake.__version__ = '5.1.0'  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, 'cv2', fake)
    with pytest.raises(MissingDependencyError, match=r'OpenCV 5\.1\.0 has no CascadeClassifier'):
        faces.load_detector(Path('unused'))


# -- matching ------------------------------------------------------------------------------------


def test_iou_of_known_boxes():
    a = {'x': 0, 'y': 0, 'w': 10, 'h': 10}
    assert matching.iou(a, a) == 1.0
    assert matching.iou(a, {'x': 5, 'y': 0, 'w': 10, 'h': 10}) == pytest.approx(50 / 150)
    assert matching.iou(a, {'x': 10, 'y': 0, 'w': 10, 'h': 10}) == 0.0
    assert matching.iou({'x': 0, 'y': 0, 'w': 0, 'h': 0}, {'x': 0, 'y': 0, 'w': 0, 'h': 0}) == 0.0


def test_match_is_greedy_one_to_one_and_reports_both_leftovers():
    truth = [{'x': 0, 'y': 0, 'w': 10, 'h': 10}, {'x': 100, 'y': 100, 'w': 10, 'h': 10}]
    found = [{'x': 1, 'y': 0, 'w': 10, 'h': 10}, {'x': 0, 'y': 0, 'w': 10, 'h': 10}, {'x': 50, 'y': 50, 'w': 5, 'h': 5}]
    outcome = matching.match(truth, found)
    assert [(p.truth, p.detection, p.iou) for p in outcome.pairs] == [(0, 1, 1.0)]
    assert outcome.missed == (1,)
    assert outcome.false_positives == (0, 2)


boxes = st.fixed_dictionaries(
    {
        'x': st.integers(-50, 200),
        'y': st.integers(-50, 200),
        'w': st.integers(0, 120),
        'h': st.integers(0, 120),
    }
)


@given(boxes, boxes)
def test_iou_is_symmetric_and_bounded(a, b):
    value = matching.iou(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(matching.iou(b, a))


@given(st.lists(boxes, max_size=6), st.lists(boxes, max_size=6), st.floats(0.05, 1.0))
def test_match_accounts_for_every_box_exactly_once(truth, found, threshold):
    outcome = matching.match(truth, found, threshold)
    paired_truth = [p.truth for p in outcome.pairs]
    paired_found = [p.detection for p in outcome.pairs]
    assert sorted(paired_truth + list(outcome.missed)) == list(range(len(truth)))
    assert sorted(paired_found + list(outcome.false_positives)) == list(range(len(found)))
    assert all(p.iou >= threshold for p in outcome.pairs)
