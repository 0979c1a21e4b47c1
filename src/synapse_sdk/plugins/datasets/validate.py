"""``validate_dataset(path, format)``: read a dataset without writing, and report every problem found."""

from __future__ import annotations

import os
from pathlib import Path

from synapse_sdk.plugins.datasets.converter import open_reader, parse_format
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.report import ConversionReport, ReportBuilder

__all__ = ['validate_dataset']


def validate_dataset(path: str | os.PathLike[str], fmt: str | DatasetFormat) -> ConversionReport:
    """Read every item of the dataset at ``path``; ``report.problems`` lists what is bad, with file and line.

    A file that cannot be read at all (e.g. a truncated COCO JSON) raises
    :class:`~synapse_sdk.exceptions.ValidationError` naming the file and line.
    """
    source = parse_format(fmt)
    builder = ReportBuilder(source)
    for _ in open_reader(source, Path(path), builder, ConvertOptions()):
        pass
    return builder.build(output=None)
