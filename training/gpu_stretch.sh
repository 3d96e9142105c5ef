#!/usr/bin/env bash
# One stretch of training on a GPU machine: three generators side by side, then their speed.
#
#   OUT=/some/folder MIN=6.5 W=5 bash training/gpu_stretch.sh
#
# MODELS picks some of the runs (default the first three), W the data workers of each, REFRESH the
# draws per pooled root system, INIT_<model> the weights to start from (a shipped name or a
# generator .json in the repository, e.g. under training/ or a carried runs/), SEED a new seed for fresh data,
# EXTRA more options for every run (e.g. --lr-g 5e-5 --lr-schedule cosine --ema 0.999), EXTRA_<model> more for one run (later
# options win), NO_SPEED=1 skips the speed benchmark.
#
# Runs from the repository root without installing it (the GPU machine has torch and the
# scientific stack, and nothing can be fetched there). Trains, each for MIN minutes with
# W processes making its data:
#   gpu-compact  the shipped default (base 16) trained further: batch 32 of 128 px
#   gpu-base32   base 32 from random weights: batch 16 of 256 px
#   gpu-base32b  the same as gpu-base32, a second run (e.g. with EXTRA_base32b for an A/B)
#   gpu-base64   the paper's size, base 64, from random weights: batch 16 of 256 px
#   gpu-paper1   the shipped default (base 16) trained further with the paper's batches, as on
#                the CPU: 8 patches of 128 px from one large mask, lr 5e-5, a fresh root system each draw
#   gpu-paper4   the same with each pooled root system used for 4 draws
#   gpu-student16  rootrepair-unet-gpu-compact (base 16) distilled from the default rootrepair-unet-base32
#                (--teacher; CE 500, teacher 1000): batch 16 of 256 px, lr 1e-4
#   gpu-student8   rootrepair-unet-fast (base 8) distilled from it the same way
# with the default model's recipe (unet, cross-entropy + gap cross-entropy 100 + skeleton
# recall 50, chickpea and fibrous, mix and occlusion gaps, noise, roots enlarged x1-2, at
# most 3% of apices in a gap). Each run's generator is exported as float16 (with --ema, its
# moving average, and its last weights as gpu-<model>-last); all of it is
# packed into OUT/runs.tar.part-* (pieces under 16 MB). Then benchmarks/bench_gpu.py.
# A later stretch resumes with --init OUT's generator .json (optimisers start afresh).
set -u
OUT=${OUT:-/tmp/gpu_out}; MIN=${MIN:-6.5}; W=${W:-5}; DEV=${DEV:-cuda}; PY=${PY:-python3}
MODELS=${MODELS:-compact base32 base64}; REFRESH=${REFRESH:-2}
mkdir -p "$OUT"
PP=$(mktemp -d)
cp -r rootrepair "$PP/"; cp -r models "$PP/rootrepair/models"; cp -r traits "$PP/rootrepair/traits"
export PYTHONPATH=$PP PYTHONUNBUFFERED=1
ROOT=$(pwd); cd "$PP"  # so that python -m finds the copy, not the uninstalled tree
$PY -c "import torch; print(torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))"
common="--variant unet --gaps mix,occlusion --preset chickpea,fibrous --noise 1 --scale 1,2 --apex-gap-rate 0.03
 --topology-loss skeleton-recall --lambda-topology 50 --lambda-gap 100 --device $DEV --workers $W --refresh-every $REFRESH
 --max-minutes $MIN --steps 1000000 --val-every 500 --checkpoint-every 500 --patches-per-mask 8"
declare -A ARGS=(
  [compact]="--base 16 --batch 32 --patch 128 --large 768x384 --lr-g 1e-4 --seed 11"
  [base32]="--base 32 --batch 16 --patch 256 --large 1024x512 --lr-g 3e-4 --seed 12"
  [base32b]="--base 32 --batch 16 --patch 256 --large 1024x512 --lr-g 3e-4 --seed 14"
  [base64]="--base 64 --batch 16 --patch 256 --large 1024x512 --lr-g 3e-4 --seed 13"
  [paper1]="--base 16 --batch 8 --patch 128 --large 768x384 --lr-g 5e-5 --seed 41 --patches-per-mask 0 --refresh-every 1"
  [paper4]="--base 16 --batch 8 --patch 128 --large 768x384 --lr-g 5e-5 --seed 42 --patches-per-mask 0 --refresh-every 4"
  [student16]="--base 16 --batch 16 --patch 256 --large 1024x512 --lr-g 1e-4 --seed 71 --teacher rootrepair-unet-base32 --lambda-teacher 1000 --lambda-ce 500"
  [student8]="--base 8 --batch 16 --patch 256 --large 1024x512 --lr-g 1e-4 --seed 72 --teacher rootrepair-unet-base32 --lambda-teacher 1000 --lambda-ce 500"
)
declare -A INIT=([compact]=${INIT_compact:-rootrepair-unet-gap2-compact} [base32]=${INIT_base32:-} [base32b]=${INIT_base32b:-} [base64]=${INIT_base64:-}
  [paper1]=${INIT_paper1:-rootrepair-unet-gpu-compact} [paper4]=${INIT_paper4:-rootrepair-unet-gpu-compact}
  [student16]=${INIT_student16:-rootrepair-unet-gpu-compact} [student8]=${INIT_student8:-rootrepair-unet-fast})
for r in $MODELS; do
    extra_r=EXTRA_$r
    init=${INIT[$r]:+--init ${INIT[$r]}}
    [[ ${INIT[$r]} == */* && ${INIT[$r]} != /* ]] && init="--init $ROOT/${INIT[$r]}"  # a path in the repository
    $PY -m rootrepair train $common --out $ROOT/runs/gpu-$r ${ARGS[$r]} $init ${SEED:+--seed $SEED} ${EXTRA:-} ${!extra_r:-} > "$OUT/$r.log" 2>&1 &
done
wait
cd "$ROOT"; mkdir -p runs/export
for r in $MODELS; do
    # a run with --ema: its moving average as gpu-<model>, its last weights as gpu-<model>-last
    (cd "$PP" && $PY -c "import json, sys, torch; from rootrepair.train import export_generator
dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'
export_generator(sys.argv[1], sys.argv[2], device=dev)
if json.load(open(sys.argv[1] + '/checkpoint.json')).get('ema'): export_generator(sys.argv[1], sys.argv[2] + '-last', device=dev, weights='last')" \
        $ROOT/runs/gpu-$r $ROOT/runs/export/gpu-$r) || echo "export of $r failed"
    cp runs/gpu-$r/metrics.jsonl runs/export/gpu-$r.metrics.jsonl
    tail -c 600 "$OUT/$r.log"
done
tar cf - -C runs export | split -b 15m - "$OUT/runs.tar.part-"
ls -la "$OUT"
[[ -z ${NO_SPEED:-} ]] && (cd benchmarks && $PY bench_gpu.py --device $DEV --extra ../runs/export/gpu-base32.json ../runs/export/gpu-base64.json --out "$OUT/gpu_speed.md") 2>&1 | tail -30
true
