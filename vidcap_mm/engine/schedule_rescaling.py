"""Fitting ``param_scheduler`` to a run length changed on the command line
(``--cfg-options train_cfg.max_epochs=N``), for tools/train.py."""

import logging
import math
from typing import List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

# MMEngine's default ``end`` of a parameter scheduler: until training ends.
_UNTIL_THE_END = int(1e9)
# Scheduler arguments counted in steps that the rescaling does not map.
_UNMAPPED_STEPS = ('milestones', 'step_size', 'periods', 'total_steps')


def rescale_schedule(
    cfg: Config, old_train_cfg: Optional[dict], options: dict
) -> None:
    """Fit ``param_scheduler`` to a run length changed on the command line.

    When ``--cfg-options`` changes ``train_cfg.max_epochs`` (or
    ``max_iters``) from L to L', the schedule that ended at L is stretched
    to end at L'. The entries counted in the loop's unit (``by_epoch`` ones
    for ``max_epochs``, the others for ``max_iters``) that end after the
    warm-up and at or before L get ``begin`` and ``end`` mapped by
    ``x -> W + (x - W) * (L' - W) / (L - W)``, and a given ``T_max`` is
    scaled with its entry's length. W is the end of the warm-up, the
    latest entry that begins at 0 and ends before L (0 when there is
    none); it is kept as is, and so are entries counted in the other unit
    that begin at 0 (a warm-up in iterations before an epoch-based run).
    Iterations are rounded, and so are epochs unless
    ``convert_to_iter_based`` turns them into iterations.

    The changes are logged. Where the intent is unclear the schedule is
    kept and a warning says why: no entry ends at L, the new run ends
    within the warm-up, or an entry to map also counts ``milestones``,
    ``step_size``, ``periods`` or ``total_steps``. An entry in the other
    unit that begins later, and one that ends after the new run, are left
    as they are with a warning. A schedule that ``--cfg-options`` sets too
    (any ``param_scheduler`` key) is kept as given.

    Args:
        cfg (Config): The config after ``--cfg-options``; changed in place.
        old_train_cfg (dict, optional): ``train_cfg`` before
            ``--cfg-options``.
        options (dict): The ``--cfg-options``.
    """
    schedule = cfg.get('param_scheduler')
    new_train_cfg = cfg.get('train_cfg') or {}
    for key, by_epoch in (('max_epochs', True), ('max_iters', False)):
        old = (old_train_cfg or {}).get(key)
        new = new_train_cfg.get(key)
        if old is None or new is None or old == new or not schedule:
            continue
        change = f'train_cfg.{key} {old} -> {new} on the command line'
        if any(k.split('.')[0] == 'param_scheduler' for k in options):
            _log(f'{change}; param_scheduler, set there too, is kept')
            continue
        notes, warnings = _stretch(
            _named_entries(schedule), by_epoch, old, new
        )
        if notes:
            _log(f'{change}: ' + '; '.join(notes))
        for warning in warnings:
            _log(f'{change}: {warning}', logging.WARNING)


def _stretch(
    entries: List[Tuple[str, dict]], by_epoch: bool, old, new
) -> Tuple[List[str], List[str]]:
    """Map the schedule as :func:`rescale_schedule` says (in place);
    return what was changed or kept, and the warnings."""
    unit = 'epochs' if by_epoch else 'iterations'
    same = [(n, e) for n, e in entries if e.get('by_epoch', True) == by_epoch]
    other = [(n, e) for n, e in entries if (n, e) not in same]
    warnings = [
        f'{_describe(name, entry)} is not counted in {unit} and begins at '
        f'{entry["begin"]}: not rescaled, check it'
        for name, entry in other
        if entry.get('begin', 0) != 0
    ]
    warm_ups = [
        (n, e) for n, e in same if e.get('begin', 0) == 0 and _end(e) < old
    ]
    warm_up = max((_end(e) for _, e in warm_ups), default=0)
    to_map = [(n, e) for n, e in same if warm_up < _end(e) <= old]
    unclear = [
        f'{_describe(name, entry)} also counts {key}'
        for name, entry in to_map
        for key in _UNMAPPED_STEPS
        if key in entry
    ]
    if new <= warm_up:
        unclear.insert(
            0, f'the run ends within the warm-up ({warm_up} {unit})'
        )
    if all(_end(entry) != old for _, entry in same):
        unclear.insert(0, f'no param_scheduler entry ends at {old} {unit}')
    if unclear:
        warnings.append(f'{unclear[0]}: the schedule is not rescaled')
        return [], warnings + _overruns(same, new, unit)

    def mapped(x):
        if x <= warm_up:
            return x
        return warm_up + (x - warm_up) * (new - warm_up) / (old - warm_up)

    notes = [f'{_describe(n, e)} kept (warm-up)' for n, e in warm_ups]
    notes += [
        f'{_describe(n, e)} kept (not in {unit})'
        for n, e in other
        if e.get('begin', 0) == 0
    ]
    for name, entry in to_map:
        fractional = by_epoch and entry.get('convert_to_iter_based', False)
        begin, end = entry.get('begin', 0), entry['end']
        changes = dict(
            begin=_steps(mapped(begin), fractional),
            end=_steps(mapped(end), fractional),
        )
        if entry.get('T_max') is not None:
            scale = (mapped(end) - mapped(begin)) / (end - begin)
            changes['T_max'] = _steps(entry['T_max'] * scale, fractional)
        changes = {
            key: value
            for key, value in changes.items()
            if value != entry.get(key, 0)
        }
        if changes:
            notes.append(
                f'{_describe(name, entry)} '
                + ', '.join(
                    f'{key} {entry.get(key, 0)} -> {value}'
                    for key, value in changes.items()
                )
            )
            entry.update(changes)
    return notes, warnings + _overruns(same, new, unit)


def _overruns(entries: List[Tuple[str, dict]], new, unit: str) -> List[str]:
    return [
        f'{_describe(name, entry)} ends at {_end(entry)} {unit}, after the '
        f'run ({new})'
        for name, entry in entries
        if new < _end(entry) < _UNTIL_THE_END
    ]


def _named_entries(schedule) -> List[Tuple[str, dict]]:
    """The scheduler dicts, named as ``--cfg-options`` would name them
    (``param_scheduler.1``; one list per optimizer is allowed too)."""
    if isinstance(schedule, dict) and 'type' not in schedule:
        parts = [(f'param_scheduler.{k}', v) for k, v in schedule.items()]
    else:
        parts = [('param_scheduler', schedule)]
    entries = []
    for prefix, part in parts:
        if isinstance(part, dict):
            entries.append((prefix, part))
        else:
            entries += [(f'{prefix}.{i}', e) for i, e in enumerate(part)]
    return entries


def _end(entry: dict):
    return entry.get('end', _UNTIL_THE_END)


def _describe(name: str, entry: dict) -> str:
    return f'{name} ({entry.get("type")})'


def _steps(value: float, fractional: bool):
    """``value`` as an int where it is whole or must be (a count of
    iterations or of epochs stepped as epochs)."""
    whole = math.floor(value + 0.5)
    if abs(value - whole) < 1e-9 or not fractional:
        return whole
    return value


def _log(message: str, level: int = logging.INFO) -> None:
    print_log(message, logger='current', level=level)
