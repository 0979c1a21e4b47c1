"""The face detector model: build its artefact folder, load it, detect faces, shape task data.

The model a user uploads to the backend's ``models/`` is a folder of two files::

    haarcascade_frontalface_default.xml   OpenCV's pre-trained frontal face Haar cascade
    detector.json                          {"cascade", "label", "scaleFactor", "minNeighbors", "minSize"}

Everything here is a pure function of its arguments (no Ray, no Serve, no network), so the Serve
deployment only calls :func:`load_detector` in ``_get_model`` and :meth:`Detector.task_data` in
``infer``. OpenCV is imported where it is used: importing this module costs nothing.
"""

from __future__ import annotations

import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import MissingDependencyError

CASCADE_FILE = 'haarcascade_frontalface_default.xml'
CONFIG_FILE = 'detector.json'

#: The thresholds written by :func:`build_model_folder`; ``detectMultiScale``'s own parameter names.
DEFAULT_CONFIG: dict[str, Any] = {
    'cascade': CASCADE_FILE,
    'label': 'face',
    'scaleFactor': 1.1,
    'minNeighbors': 9,
    'minSize': [48, 48],
}

_INSTALL_HINT = "OpenCV is required: pip install 'synapse-sdk[face-detector]' (opencv-python-headless>=4.8,<5)"


def _cv2() -> Any:
    """Import OpenCV 4.x; 5.x dropped ``CascadeClassifier`` and the bundled cascades."""
    try:
        cv2 = importlib.import_module('cv2')
    except ImportError as exc:
        raise MissingDependencyError(_INSTALL_HINT) from exc
    if not hasattr(cv2, 'CascadeClassifier'):
        raise MissingDependencyError(f'OpenCV {cv2.__version__} has no CascadeClassifier. {_INSTALL_HINT}')
    return cv2


def build_model_folder(dest: Path) -> Path:
    """Write the model artefacts into ``dest`` (created if needed) and return it.

    Deterministic: the same OpenCV wheel gives byte-identical files.
    """
    cv2 = _cv2()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(cv2.data.haarcascades) / CASCADE_FILE, dest / CASCADE_FILE)
    text = json.dumps(DEFAULT_CONFIG, indent=2, sort_keys=True) + '\n'
    (dest / CONFIG_FILE).write_text(text, encoding='utf-8')
    return dest


def _read_config(path: Path) -> dict[str, Any]:
    """Parse and check ``detector.json``; every error names the file."""
    try:
        config = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise ValueError(f'{path}: detector config not found') from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f'{path}: invalid detector config ({exc})') from exc
    if not isinstance(config, dict):
        raise ValueError(f'{path}: invalid detector config (expected a JSON object)')
    problems = _config_problems(config)
    if problems:
        raise ValueError(f'{path}: invalid detector config ({"; ".join(problems)})')
    return config


def _config_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    cascade = config.get('cascade')
    if not isinstance(cascade, str) or Path(cascade).name != cascade or cascade in ('', '.', '..') or '\\' in cascade:
        problems.append("'cascade' must be a file name in the model folder")
    if not isinstance(config.get('label'), str) or not config['label']:
        problems.append("'label' must be a non-empty string")
    scale = config.get('scaleFactor')
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 1:
        problems.append("'scaleFactor' must be a number > 1")
    neighbors = config.get('minNeighbors')
    if isinstance(neighbors, bool) or not isinstance(neighbors, int) or neighbors < 0:
        problems.append("'minNeighbors' must be an integer >= 0")
    size = config.get('minSize')
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        problems.append("'minSize' must be [width, height], positive integers")
    return problems


def load_detector(model_path: Path) -> Detector:
    """Load the folder written by :func:`build_model_folder`.

    Raises:
        ValueError: naming the file, when ``detector.json`` is missing or invalid, or the cascade
            is missing, empty or not a cascade OpenCV can read.
    """
    cv2 = _cv2()
    model_path = Path(model_path)
    config = _read_config(model_path / CONFIG_FILE)
    cascade_path = model_path / config['cascade']
    if not cascade_path.is_file():
        raise ValueError(f'{cascade_path}: cascade file not found')
    if cascade_path.stat().st_size == 0:
        raise ValueError(f'{cascade_path}: cascade file is empty')
    classifier = cv2.CascadeClassifier()
    try:
        loaded = classifier.load(str(cascade_path))
    except cv2.error as exc:  # a truncated or malformed XML raises while parsing; the cause says where
        raise ValueError(f'{cascade_path}: not a readable OpenCV cascade') from exc
    if not loaded or classifier.empty():  # well-formed XML that holds no cascade
        raise ValueError(f'{cascade_path}: not a readable OpenCV cascade')
    return Detector(
        classifier=classifier,
        label=config['label'],
        scale_factor=float(config['scaleFactor']),
        min_neighbors=config['minNeighbors'],
        min_size=(config['minSize'][0], config['minSize'][1]),
    )


def decode_gray(image_bytes: bytes) -> Any:
    """Decode encoded image bytes (JPEG, PNG, ...) to a grayscale ``numpy`` array.

    Raises:
        ValueError: when the bytes are empty or not an image OpenCV can decode.
    """
    cv2 = _cv2()
    np = importlib.import_module('numpy')
    if not isinstance(image_bytes, bytes | bytearray | memoryview):
        raise ValueError(f'not an image: expected bytes, got {type(image_bytes).__name__}')
    if not len(image_bytes):
        raise ValueError('not an image: no bytes')
    try:
        gray = cv2.imdecode(np.frombuffer(image_bytes, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error as exc:
        raise ValueError(f'not an image: {len(image_bytes)} bytes OpenCV cannot decode') from exc
    if gray is None or gray.size == 0:
        raise ValueError(f'not an image: {len(image_bytes)} bytes OpenCV cannot decode')
    return gray


@dataclass(frozen=True)
class Detector:
    """A loaded cascade and its thresholds. Build it with :func:`load_detector`.

    One ``CascadeClassifier`` per detector: call it from one thread at a time (a Serve replica's
    event loop does), or load one detector per thread.
    """

    classifier: Any  #: ``cv2.CascadeClassifier``
    label: str
    scale_factor: float
    min_neighbors: int
    min_size: tuple[int, int]

    def detect(self, image_bytes: bytes) -> list[dict[str, Any]]:
        """Faces in the encoded image, as ``{'label', 'x', 'y', 'w', 'h'}`` pixel boxes.

        Sorted top to bottom, then left to right (then by size), so equal input gives equal output.

        Raises:
            ValueError: when the bytes are not an image.
        """
        return self.detect_gray(decode_gray(image_bytes))

    def detect_gray(self, gray: Any) -> list[dict[str, Any]]:
        """Faces in an already decoded grayscale array (see :func:`decode_gray`)."""
        found = self.classifier.detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=self.min_size,
        )
        boxes = sorted((int(y), int(x), int(w), int(h)) for x, y, w, h in found)
        return [{'label': self.label, 'x': x, 'y': y, 'w': w, 'h': h} for y, x, w, h in boxes]

    def task_data(self, image_bytes: bytes) -> dict[str, Any]:
        """Detect and shape the result as task data in one call (the image is decoded once)."""
        gray = decode_gray(image_bytes)
        height, width = gray.shape[:2]
        return to_task_objects(self.detect_gray(gray), (width, height))


def to_task_objects(boxes: list[dict[str, Any]], image_size: tuple[int, int]) -> dict[str, Any]:
    """Boxes as the task data the pre-annotation plugin writes (``examples/pre-annotation-plugin``).

    ``image_size`` is ``(width, height)``; boxes are clipped to it and dropped when nothing is
    left. Ids are ``face-0``, ``face-1``, ... in the order of ``boxes``, so the same detections
    give the same ids.
    """
    width, height = image_size
    annotations = []
    for box in boxes:
        x0, y0 = max(0.0, float(box['x'])), max(0.0, float(box['y']))
        x1 = min(float(width), float(box['x']) + float(box['w']))
        y1 = min(float(height), float(box['y']) + float(box['h']))
        if x1 <= x0 or y1 <= y0:
            continue
        annotations.append(
            {
                'id': f'face-{len(annotations)}',
                'tool': 'bounding_box',
                'classification': {'class': str(box.get('label', 'face'))},
                'data': {'x': x0, 'y': y0, 'width': x1 - x0, 'height': y1 - y0},
            }
        )
    return {'annotations': {'image_1': annotations}, 'annotationsData': {'image_1': []}}
