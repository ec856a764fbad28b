"""Reading annotation and result files that users and other programs
write: JSON (LAVIS layout, COCO results) and CSV tables, with errors that
name the file and, where there is one, the line or record."""

import csv
import io
import json
import os
import os.path as osp
from typing import Dict, List

from mmengine.fileio import exists, get_text
from mmengine.utils import is_abs


class AnnotationError(ValueError):
    """An annotation file or one of its records is not usable."""


def file_not_found(
    path: str, what: str = 'Annotation file', joined: str = ''
) -> FileNotFoundError:
    """The error for a missing input file, saying where it was looked for.

    A relative path is resolved against the current directory, which is
    often not the one the user had in mind (a config written for the
    repository root, run from elsewhere), so the message gives both.

    Args:
        path (str): The path that was tried.
        what (str): What the file is, to start the message. Defaults to
            ``'Annotation file'``.
        joined (str): How ``path`` was built, when it was (e.g. the
            ``data_root`` it was joined to). Defaults to ``''``.

    Returns:
        FileNotFoundError: The error to raise.
    """
    message = f'{what} not found: {path}'
    if not is_abs(path):
        message += (
            f' (resolved to {osp.abspath(path)}, relative to the current '
            f'directory {os.getcwd()})'
        )
    if joined:
        message += f'; {joined}'
    return FileNotFoundError(message)


def read_json_file(path: str, expected: str, what: str = 'Annotation file'):
    """Read a JSON file written by a user or another program.

    A UTF-8 byte-order mark is accepted: spreadsheet programs and some
    editors write one ("CSV UTF-8"), and ``json`` refuses it.

    Args:
        path (str): A local path or a URI of MMEngine's file backends.
        expected (str): What the file should hold, for error messages
            (e.g. ``'a JSON list of records'``).
        what (str): What the file is, for the missing-file message.
            Defaults to ``'Annotation file'``.

    Returns:
        The parsed JSON value.

    Raises:
        FileNotFoundError: If the file does not exist (see
            :func:`file_not_found`).
        AnnotationError: If the file is blank or not JSON, naming it and
            ``expected``.
    """
    if not exists(path):
        raise file_not_found(path, what)
    text = get_text(path, encoding='utf-8-sig')
    if not text.strip():
        raise AnnotationError(
            f'{path}: the file is blank; expected {expected}'
        )
    try:
        return json.loads(text)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise AnnotationError(
            f'{path}: not valid JSON ({err}); expected {expected}'
        ) from err


#: The layout of caption result files (what ``tools/test.py --dump``
#: writes), for messages.
RESULT_LAYOUT = (
    'a COCO caption result list [{"image_id": ..., "caption": ...}]'
)


def load_caption_results(path: str) -> Dict[str, str]:
    """Read a COCO caption result file (``tools/test.py --dump x.json``).

    Args:
        path (str): The result file.

    Returns:
        dict[str, str]: Video id (as a string) -> predicted caption, in
        file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        AnnotationError: If it is not a list of ``image_id`` / ``caption``
            objects, or predicts a video twice, naming the file and result.
    """
    data = read_json_file(path, RESULT_LAYOUT, what='Result file')
    if not isinstance(data, list):
        raise AnnotationError(
            f'{path}: expected {RESULT_LAYOUT}, got a {type(data).__name__}'
        )
    predictions: Dict[str, str] = {}
    for i, record in enumerate(data):
        if not (
            isinstance(record, dict)
            and 'image_id' in record
            and 'caption' in record
        ):
            raise AnnotationError(
                f'{path}: result {i} lacks "image_id" or "caption": {record!r}'
            )
        video_id = str(record['image_id'])
        if video_id in predictions:
            raise AnnotationError(
                f'{path}: video {video_id!r} predicted twice.'
            )
        predictions[video_id] = record['caption']
    return predictions


def read_csv_records(path: str, what: str = 'Annotation file') -> List[dict]:
    """The rows of a CSV file whose first row names the columns.

    A UTF-8 byte-order mark is accepted ("CSV UTF-8" of spreadsheets). A row
    with more fields than the header is an error: it is almost always a
    caption holding a comma without quotes, which ``csv.DictReader`` would
    cut at the comma, keeping the rest under no column. A row with fewer
    fields gets None for the columns it lacks (as ``csv.DictReader`` gives
    them), which the dataset's record checks then name.

    Args:
        path (str): A local path or a URI of MMEngine's file backends.
        what (str): What the file is, for the missing-file message.
            Defaults to ``'Annotation file'``.

    Returns:
        list[dict]: One dict per row, column name -> text, in file order
        (blank lines skipped).

    Raises:
        FileNotFoundError: If the file does not exist.
        AnnotationError: If a row has more fields than the header, or the
            file is not valid CSV, naming the file and the line.
    """
    if not exists(path):
        raise file_not_found(path, what)
    text = get_text(path, encoding='utf-8-sig')
    reader = csv.reader(io.StringIO(text, newline=''))
    records = []
    try:
        header = next(reader, [])
        for row in reader:
            if not row:  # a blank line
                continue
            if len(row) > len(header):
                raise AnnotationError(
                    f'{path}: line {reader.line_num}: {len(row)} fields '
                    f'where the header ({",".join(header)}) has '
                    f'{len(header)}; a field holding a comma must be quoted '
                    '("...", as spreadsheets write it)'
                )
            row += [None] * (len(header) - len(row))
            records.append(dict(zip(header, row)))
    except csv.Error as err:
        raise AnnotationError(
            f'{path}: line {reader.line_num}: not valid CSV ({err})'
        ) from err
    return records
