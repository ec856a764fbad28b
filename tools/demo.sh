#!/usr/bin/env bash
# The quick start: set up the environment if needed, make a synthetic clip
# set, train a tiny BLIP-2 video captioner on it with cross-entropy (XE),
# then with SCST from the best XE checkpoint (the seed's two stages), test
# both and print their metrics and captions side by side. CPU only.
#
#   bash tools/demo.sh            # OPT language model
#   bash tools/demo.sh t5         # T5 language model
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh

llm="${1:-opt}"
xe_config="configs/demo/tiny_${llm}_synthetic.py"
scst_config="configs/demo/tiny_${llm}_synthetic_scst.py"
[ -f "$xe_config" ] || { echo "no demo config $xe_config (use opt or t5)" >&2; exit 2; }
data=data/synthetic_clips
# The configs' default work directories: the SCST config loads the best
# checkpoint of the XE one from there.
xe_dir="work_dirs/tiny_${llm}_synthetic"
scst_dir="work_dirs/tiny_${llm}_synthetic_scst"

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

# Train CONFIG into WORK_DIR, print its loss and validation curves.
train() {
    local config="$1" work_dir="$2"
    rm -rf "$work_dir"  # each run starts afresh: same seed, same result
    mkdir -p "$work_dir"
    run_logged "$work_dir/train.log" python tools/train.py "$config"
    echo "  loss at the end of each epoch (epoch:loss):"
    grep -hE 'Epoch\(train\) +\[[0-9]+\]\[([0-9]+)/\1\]' "$work_dir/train.log" \
        | sed -E 's/^.*Epoch\(train\) +\[([0-9]+)\].* loss: (-?[0-9.]+).*$/\1:\2/' \
        | paste -sd' ' | fold -s -w 90 | sed 's/^/    /'
    echo "  validation CIDEr (epoch:CIDEr):"
    grep -h "Epoch(val)" "$work_dir/train.log" \
        | sed -E 's/^.*Epoch\(val\) +\[([0-9]+)\].* caption\/CIDEr: ([0-9.]+).*$/\1:\2/' \
        | paste -sd' ' | fold -s -w 90 | sed 's/^/    /'
}

# Test the best checkpoint of WORK_DIR; predictions to test_captions.json.
test_best() {
    local config="$1" work_dir="$2"
    local best
    best="$(ls "$work_dir"/best_*.pth)"
    echo "  best checkpoint: $best"
    run_logged "$work_dir/test.log" \
        python tools/test.py "$config" "$best" --work-dir "$work_dir" \
        --dump "$work_dir/test_captions.json"
}

metric() {  # metric LOG NAME
    grep -h "Epoch(test)" "$1" | grep -oE "caption/$2: [0-9.]+" | cut -d' ' -f2
}

echo "[demo] 1/6 synthetic clips in $data"
python tools/data/make_synthetic_clips.py "$data" \
    --num-train 96 --num-val 48 --num-test 96

echo "[demo] 2/6 cross-entropy training: $xe_config (log: $xe_dir/train.log)"
train "$xe_config" "$xe_dir"

echo "[demo] 3/6 testing the XE model"
test_best "$xe_config" "$xe_dir"

echo "[demo] 4/6 SCST training from the best XE checkpoint: $scst_config" \
    "(log: $scst_dir/train.log)"
train "$scst_config" "$scst_dir"

echo "[demo] 5/6 testing the SCST model"
test_best "$scst_config" "$scst_dir"

num_test="$(python -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
    "$data/annotations/test.json")"
echo "[demo] 6/6 test metrics on $num_test clips"
printf '  %-6s %8s %8s %8s %8s\n' stage BLEU-4 METEOR ROUGE-L CIDEr
for stage in XE SCST; do
    [ "$stage" = XE ] && log="$xe_dir/test.log" || log="$scst_dir/test.log"
    printf '  %-6s %8s %8s %8s %8s\n' "$stage" "$(metric "$log" BLEU_4)" \
        "$(metric "$log" METEOR)" "$(metric "$log" ROUGE_L)" \
        "$(metric "$log" CIDEr)"
done
echo "  example captions:"
python tools/analysis_tools/show_captions.py "$xe_dir/test_captions.json" \
    "$scst_dir/test_captions.json" "$data/annotations/test.json" \
    --labels XE SCST --num 6 | sed 's/^/  /'
echo "[demo] done: logs, checkpoints and captions in $xe_dir and $scst_dir"
