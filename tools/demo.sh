#!/usr/bin/env bash
# The quick start: set up the environment if needed, make a synthetic clip
# set, train a tiny BLIP-2 video captioner on it (cross-entropy), test the
# best checkpoint and print example captions. CPU only; a few minutes.
#
#   bash tools/demo.sh            # OPT language model
#   bash tools/demo.sh t5         # T5 language model
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh

llm="${1:-opt}"
config="configs/demo/tiny_${llm}_synthetic.py"
[ -f "$config" ] || { echo "no demo config $config (use opt or t5)" >&2; exit 2; }
data=data/synthetic_clips
work_dir="work_dirs/demo_${llm}"

# Run a step with its output in a log; on failure show the log's end.
run_logged() {
    local log="$1"
    shift
    "$@" > "$log" 2>&1 || {
        tail -n 40 "$log" >&2
        echo "[demo] failed: $*  (full log: $log)" >&2
        exit 1
    }
}

echo "[demo] 1/4 synthetic clips in $data"
python tools/data/make_synthetic_clips.py "$data" --num-train 96

echo "[demo] 2/4 training $config (log: $work_dir)"
rm -rf "$work_dir"  # each run starts afresh: same seed, same result
mkdir -p "$work_dir"
run_logged "$work_dir/train.log" \
    python tools/train.py "$config" --work-dir "$work_dir"
best="$(ls "$work_dir"/best_*.pth)"
echo "  loss at the end of each epoch:"
grep -hE 'Epoch\(train\) +\[[0-9]+\]\[([0-9]+)/\1\]' "$work_dir/train.log" \
    | sed -E 's/^.*Epoch\(train\) +\[([0-9]+)\].* loss: ([0-9.]+).*$/    epoch \1: \2/'
echo "  validation:"
grep -h "Epoch(val)" "$work_dir/train.log" | sed 's/^.*Epoch(val) */    /' \
    | sed -E 's/  (caption\/(BLEU_[123]|METEOR|ROUGE_L)|data_time|time): [0-9.]+//g'

echo "[demo] 3/4 testing $best"
run_logged "$work_dir/test.log" \
    python tools/test.py "$config" "$best" --work-dir "$work_dir" \
    --dump "$work_dir/test_captions.json"
grep -h "Epoch(test)" "$work_dir/test.log" | sed 's/^.*Epoch(test) \[[0-9/]*\] */  test: /'

echo "[demo] 4/4 example captions on the test clips"
python tools/analysis_tools/show_captions.py "$work_dir/test_captions.json" \
    "$data/annotations/test.json" --num 6
