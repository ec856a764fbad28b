"""Two-process (gloo, CPU) evaluation equals the single-process one."""

import os.path as osp
import pickle
import socket
import time
from datetime import timedelta

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dataset import DefaultSampler

from tests.evaluation.caption_metric_samples import FAST_SCORERS, SAMPLES
from vidcap_mm.evaluation.caption_metric import CaptionMetric

WORLD_SIZE = 2
BATCH_SIZE = 2


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_rank(rank, port, out_dir, samples):
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=timedelta(seconds=60),
    )
    try:
        metric = CaptionMetric(
            scorers=FAST_SCORERS, collect_dir=osp.join(out_dir, 'collect')
        )
        # The shard a val dataloader gives this rank: strided, the last
        # batch padded by repeating the first samples.
        indices = list(DefaultSampler(samples, shuffle=False))
        for start in range(0, len(indices), BATCH_SIZE):
            batch = indices[start : start + BATCH_SIZE]
            metric.process(None, [samples[i] for i in batch])
        scores = metric.evaluate(len(samples))
        with open(osp.join(out_dir, f'rank{rank}.pkl'), 'wb') as f:
            pickle.dump(dict(indices=indices, scores=scores), f)
    finally:
        dist.destroy_process_group()


def test_two_processes_match_single_process(tmp_path):
    # fork: the children start without re-importing torch and vidcap_mm.
    context = mp.start_processes(
        _run_rank,
        args=(_free_port(), str(tmp_path), SAMPLES),
        nprocs=WORLD_SIZE,
        join=False,
        start_method='fork',
    )
    deadline = time.monotonic() + 60
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.terminate()
            pytest.fail('distributed evaluation did not finish in 60 s')

    ranks = []
    for rank in range(WORLD_SIZE):
        with open(tmp_path / f'rank{rank}.pkl', 'rb') as f:
            ranks.append(pickle.load(f))
    # Five videos on two ranks: rank 1 evaluates video0 a second time.
    assert ranks[0]['indices'] == [0, 2, 4]
    assert ranks[1]['indices'] == [1, 3, 0]

    metric = CaptionMetric(scorers=FAST_SCORERS)
    metric.process(None, SAMPLES)
    single = metric.evaluate(len(SAMPLES))
    assert ranks[0]['scores'] == single
    # Rank 0 computes, the others receive its result.
    assert ranks[1]['scores'] == single
