"""read_csv_records: CSV rows as records, refusing a row cut by an
unquoted comma and naming the file and line."""

import pytest

from vidcap_mm.datasets import AnnotationError, read_csv_records


def test_rows_as_records_with_a_byte_order_mark(tmp_path):
    path = tmp_path / 'a.csv'
    path.write_bytes(
        '\ufeffvideo,caption\r\n'
        'a.mp4,"onions, then a pan"\r\n'
        '\r\n'
        'b.mp4,"two\nlines"\r\n'
        'c.mp4\r\n'.encode('utf-8')
    )
    assert read_csv_records(str(path)) == [
        dict(video='a.mp4', caption='onions, then a pan'),
        dict(video='b.mp4', caption='two\nlines'),
        dict(video='c.mp4', caption=None),
    ]


def test_unquoted_comma_names_the_line(tmp_path):
    path = tmp_path / 'a.csv'
    path.write_text(
        'video,caption\na.mp4,"x, y"\n\nb.mp4,onions, then fries\n'
    )
    with pytest.raises(AnnotationError) as info:
        read_csv_records(str(path))
    assert str(info.value).startswith(
        f'{path}: line 4: 3 fields where the header (video,caption) has 2;'
    )


def test_invalid_csv_and_missing_file(tmp_path):
    path = tmp_path / 'a.csv'
    path.write_text('video,caption\na.mp4,' + 'x' * 200_000 + '\n')
    with pytest.raises(AnnotationError, match=r'a\.csv: line 2: not valid'):
        read_csv_records(str(path))
    with pytest.raises(FileNotFoundError, match='Annotation file not found'):
        read_csv_records(str(tmp_path / 'none.csv'))
