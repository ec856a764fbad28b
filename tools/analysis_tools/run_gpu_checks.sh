#!/usr/bin/env bash
# The GPU checks of a real-size step, in one go (about 5 minutes on one
# H200): a training step without host synchronisation
# (tests/models/test_cuda_sync.py), then benchmark_train_step.py at
# Flan-T5-XL size (random weights, no download) for 8 and 16 frames at
# batch 64 with and without --amp, with the Q-Former in bf16, with gradient
# checkpointing, at OPT-2.7B size, and the SCST leaf's settings.
#
#   bash tools/analysis_tools/run_gpu_checks.sh [OUT_DIR]   # default: work_dirs/gpu_checks
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:-work_dirs/gpu_checks}"
mkdir -p "$out"
bench="python tools/analysis_tools/benchmark_train_step.py --random-weights --device cuda --steps 3 --warmup 2"
failed=0
check() {  # NAME COMMAND...: its output to the screen and OUT/NAME.log
    local name="$1"
    shift
    echo "=== $name: $*"
    "$@" 2>&1 | grep -v 'Warning\|warn(' | tee "$out/$name.log" || failed=1
}
check sync python -m pytest tests/models/test_cuda_sync.py -q -p no:cacheprovider
check t5 $bench configs/msvd_flant5xl_ft.py --frames 8 16 --batch 64 \
    --amp off on --json "$out/t5.json"
check t5_qformer_bf16 $bench configs/msvd_flant5xl_ft.py --frames 8 16 \
    --batch 64 --cfg-options model.neck.compute_dtype=bfloat16
check t5_checkpointing $bench configs/msvd_flant5xl_ft.py --frames 16 \
    --batch 64 --cfg-options model.neck.gradient_checkpointing=True \
    model.head.gradient_checkpointing=True
check opt2.7b $bench configs/msrvtt_opt2.7b_ft.py --frames 8 --batch 64 \
    --amp off on
check scst $bench configs/msvd_flant5xl_scst.py --frames 16 --batch 2 \
    --steps 2 --warmup 1
echo "logs in $out"
exit "$failed"
