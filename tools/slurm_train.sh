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
cd "$(dirname "$0")/.."
source tools/srun.sh
run_srun "$partition" "$job_name" \
    python -u tools/train.py "$config" --work-dir="$work_dir" \
    --launcher=slurm "$@"
