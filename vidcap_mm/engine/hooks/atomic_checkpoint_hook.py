"""Checkpoints written atomically, the previous best removed only after the
new one is complete."""

import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Optional, Union

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.utils import mkdir_or_exist

ATOMIC_BACKEND = 'local_atomic'


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic.

    ``LocalBackend.put`` opens the target and writes into it: a crash or a
    full disk halfway leaves a truncated checkpoint under the final name,
    which ``--resume``, ``tools/test.py`` and a ``load_from`` pattern then
    pick up. Here the bytes go to a temporary file in the same directory,
    are flushed to disk, and the file is renamed into place
    (``os.replace`` is atomic on POSIX and Windows), so a checkpoint name
    always names a complete file.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        self._write_atomically(obj, filepath, 'wb')

    def put_text(
        self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8'
    ) -> None:
        self._write_atomically(obj.encode(encoding), filepath, 'wb')

    @staticmethod
    def _write_atomically(data: bytes, filepath, mode: str) -> None:
        directory = osp.dirname(osp.abspath(filepath))
        mkdir_or_exist(directory)
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp'
        )
        try:
            with os.fdopen(fd, mode) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` with crash-safe saving.

    - Every checkpoint, best ones included, is written through
      :class:`AtomicLocalBackend` (unless ``backend_args`` names another
      backend, e.g. for object storage) and the ``last_checkpoint`` file is
      rewritten only after its checkpoint is complete.
    - MMEngine removes the previous best checkpoint BEFORE writing the new
      one; a crash in between left no best at all. Here the previous best
      is removed once the new one is on disk.

    Args:
        *args, **kwargs: Those of ``CheckpointHook``.
    """

    def __init__(self, *args, backend_args: Optional[dict] = None, **kwargs):
        out_dir = kwargs.get('out_dir')
        if backend_args is None and (out_dir is None or '://' not in out_dir):
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.save_best:
            return
        previous = self._best_paths()
        # With no previous path known, the parent removes nothing.
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = None
        else:
            self.best_ckpt_path_dict = dict.fromkeys(self.best_ckpt_path_dict)
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            # The new best may be incomplete: keep pointing at the old one.
            for key, old in previous.items():
                self._set_best_path(key, old)
            raise
        current = self._best_paths()
        for key, old in previous.items():
            new = current.get(key)
            if new is None:  # not improved: keep the previous best
                self._set_best_path(key, old)
            elif old and old != new and is_main_process():
                if self.file_backend.isfile(old):
                    self.file_backend.remove(old)
                    runner.logger.info(
                        f'The previous best checkpoint {old} is removed'
                    )

    def _best_paths(self) -> dict:
        if len(self.key_indicators) == 1:
            return {self.key_indicators[0]: self.best_ckpt_path}
        return dict(self.best_ckpt_path_dict)

    def _set_best_path(self, key: str, path: Optional[str]) -> None:
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = path
        else:
            self.best_ckpt_path_dict[key] = path
