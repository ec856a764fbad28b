#!/usr/bin/env bash
# Train under Slurm, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [options]
# GPUS is the number of tasks in all, GPUS_PER_NODE the tasks (and GPUs)
# per node; the options go to tools/train.py. MASTER_PORT defaults to one
# derived from the job id (20000 + id % 10000), so jobs that share a node
# do not collide; srun passes the environment on, so it can be set here.
set -euo pipefail
if [ "$#" -lt 4 ]; then
    echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG" \
        "WORK_DIR [options]" >&2
    exit 2
fi
partition="$1"
job_name="$2"
config="$3"
work_dir="$4"
shift 4
gpus="${GPUS:-8}"
gpus_per_node="${GPUS_PER_NODE:-8}"
read -r -a srun_args <<< "${SRUN_ARGS:-}"
cd "$(dirname "$0")/.."
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" srun \
    --partition="$partition" \
    --job-name="$job_name" \
    --gres=gpu:"$gpus_per_node" \
    --ntasks="$gpus" \
    --ntasks-per-node="$gpus_per_node" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    "${srun_args[@]}" \
    python -u tools/train.py "$config" --work-dir="$work_dir" \
    --launcher=slurm "$@"
