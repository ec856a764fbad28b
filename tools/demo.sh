#!/usr/bin/env bash
# The quick start: set up the environment if needed, make a synthetic clip
# set, test a randomly initialised tiny BLIP-2 video captioner on it, train
# it with cross-entropy (XE), then with SCST from the best XE checkpoint (the
# seed's two stages), test both and print one table of their metrics, with
# the share of test captions that name the right shapes, colours and
# background, and some captions side by side. CPU only.
#
#   bash tools/demo.sh            # OPT language model
#   bash tools/demo.sh t5         # T5 language model
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh
# One OpenMP thread per process: with two dataloader workers decoding
# clips on a 2-core machine, the training process's second thread only
# waits for a core (a demo XE step took 0.34 s with two threads, 0.18 s
# with one).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

llm="${1:-opt}"
xe_config="configs/demo/tiny_${llm}_synthetic.py"
scst_config="configs/demo/tiny_${llm}_synthetic_scst.py"
[ -f "$xe_config" ] || { echo "no demo config $xe_config (use opt or t5)" >&2; exit 2; }
data=data/synthetic_clips
# The configs' default work directories: the SCST config loads the best
# checkpoint of the XE one from there.
xe_dir="work_dirs/tiny_${llm}_synthetic"
scst_dir="work_dirs/tiny_${llm}_synthetic_scst"
untrained_dir="work_dirs/tiny_${llm}_synthetic_untrained"

# Print the lines of a training or test log that show progress: the end
# of each epoch and each evaluation.
show_progress() {
    local line epoch_re='Epoch\(train\) +\[([0-9]+)\]\[([0-9]+)/([0-9]+)\]'
    local loss_re='loss: (-?[0-9.]+)' cider_re='caption/CIDEr: ([0-9.]+)'
    local share_re='synthetic/accuracy: ([0-9.]+)'
    while IFS= read -r line; do
        if [[ $line =~ $epoch_re ]]; then
            local epoch="${BASH_REMATCH[1]}" done="${BASH_REMATCH[2]}"
            local total="${BASH_REMATCH[3]}"
            if [[ $done == "$total" && $line =~ $loss_re ]]; then
                echo "    epoch $epoch: loss ${BASH_REMATCH[1]}"
            fi
        elif [[ $line =~ Epoch\((val|test)\) && $line =~ $cider_re ]]; then
            local cider="${BASH_REMATCH[1]}" share=''
            if [[ $line =~ $share_re ]]; then
                share=", right captions ${BASH_REMATCH[1]}"
            fi
            echo "    evaluation: CIDEr $cider$share"
        fi
    done
}

# Run a step with its output in a log, showing its progress; on failure
# show the log's end and stop.
run_logged() {
    local log="$1"
    shift
    "$@" 2>&1 | tee "$log" | show_progress || {
        tail -n 40 "$log" >&2
        echo "[demo] failed: $*  (full log: $log)" >&2
        exit 1
    }
}

# Train CONFIG into WORK_DIR (log: WORK_DIR/train.log).
train() {
    local config="$1" work_dir="$2"
    rm -rf "$work_dir"  # each run starts afresh: same seed, same result
    mkdir -p "$work_dir"
    run_logged "$work_dir/train.log" python tools/train.py "$config"
}

# Test CONFIG with CHECKPOINT (none: the random initialisation) into
# WORK_DIR; predictions to WORK_DIR/test_captions.json.
test_model() {
    local config="$1" work_dir="$2" checkpoint="${3:-}"
    mkdir -p "$work_dir"
    run_logged "$work_dir/test.log" \
        python tools/test.py "$config" ${checkpoint:+"$checkpoint"} \
        --work-dir "$work_dir" --dump "$work_dir/test_captions.json"
}

best_checkpoint() {
    ls "$1"/best_*.pth
}

metric() {  # metric LOG NAME
    local value
    value="$(grep -h "Epoch(test)" "$1" | grep -oE "$2: [0-9.]+" | cut -d' ' -f2)"
    [ -n "$value" ] || { echo "[demo] no $2 in $1" >&2; exit 1; }
    echo "$value"
}

start=$SECONDS
echo "[demo] 1/8 synthetic clips in $data"
python tools/data/make_synthetic_clips.py "$data" \
    --num-train 2048 --num-val 48 --num-test 96 > /dev/null

echo "[demo] 2/8 testing the untrained (randomly initialised) model" \
    "(log: $untrained_dir/test.log)"
rm -rf "$untrained_dir"
test_model "$xe_config" "$untrained_dir"

echo "[demo] 3/8 cross-entropy training: $xe_config (log: $xe_dir/train.log)"
train "$xe_config" "$xe_dir"

xe_best="$(best_checkpoint "$xe_dir")"
echo "[demo] 4/8 testing the XE model: $xe_best"
test_model "$xe_config" "$xe_dir" "$xe_best"

echo "[demo] 5/8 SCST training from the best XE checkpoint: $scst_config" \
    "(log: $scst_dir/train.log)"
train "$scst_config" "$scst_dir"

scst_best="$(best_checkpoint "$scst_dir")"
echo "[demo] 6/8 testing the SCST model: $scst_best"
test_model "$scst_config" "$scst_dir" "$scst_best"

num_test="$(python -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
    "$data/annotations/test.json")"
echo "[demo] 7/8 test metrics on $num_test clips (right captions: the share" \
    "naming the clip's shapes, colours and background)"
printf '  %-9s %8s %8s %8s %8s %15s\n' stage BLEU-4 METEOR ROUGE-L CIDEr \
    'right captions'
for stage in untrained XE SCST; do
    case "$stage" in
        untrained) log="$untrained_dir/test.log" ;;
        XE) log="$xe_dir/test.log" ;;
        SCST) log="$scst_dir/test.log" ;;
    esac
    share="$(metric "$log" synthetic/accuracy)"
    printf '  %-9s %8s %8s %8s %8s %14.1f%%\n' "$stage" \
        "$(metric "$log" caption/BLEU_4)" "$(metric "$log" caption/METEOR)" \
        "$(metric "$log" caption/ROUGE_L)" "$(metric "$log" caption/CIDEr)" \
        "$(python -c "print(100 * $share)")"
done
echo "  example captions:"
python tools/analysis_tools/show_captions.py "$xe_dir/test_captions.json" \
    "$scst_dir/test_captions.json" "$data/annotations/test.json" \
    --labels XE SCST --num 6 | sed 's/^/  /'

pictures="work_dirs/demo_pictures"
first_test="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["video"])' \
    "$data/annotations/test.json")"
echo "[demo] 8/8 captioning two videos with the SCST model (demo/caption_video.py)," \
    "pictures in $pictures: a real one, not what the model learnt (expect" \
    "shapes), and the first test clip"
rm -rf "$pictures"
mkdir -p "$pictures"
for video in demo/examples/bikes_h264.mp4 "$data/videos/$first_test"; do
    if ! python demo/caption_video.py "$video" "$scst_config" \
        --checkpoint "$scst_best" --show-dir "$pictures" \
        2>>"$pictures/caption_video.log" | sed 's/^/  /'; then
        tail -n 20 "$pictures/caption_video.log" >&2
        echo "[demo] failed: captioning $video" >&2
        exit 1
    fi
done

echo "[demo] done in $((SECONDS - start)) s. Written:"
echo "  clips and annotations:  $data"
echo "  untrained model test:   $untrained_dir (test.log, test_captions.json)"
echo "  XE run:                 $xe_dir (train.log, $(basename "$xe_best")," \
    "test.log, test_captions.json)"
echo "  SCST run:               $scst_dir (train.log, $(basename "$scst_best")," \
    "test.log, test_captions.json)"
echo "  pictures:               $pictures (one PNG per captioned video)"
echo "Try the SCST model in a browser, at http://127.0.0.1:7860/:"
echo "  $(command -v python) demo/web_demo.py $scst_config --checkpoint $scst_best"
