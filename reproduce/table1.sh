#!/usr/bin/env bash
# The report's Table 1 with its own architectures ("seed" presets) and training regime:
# Huber loss (delta 0.3), Adam at 1e-3, one pass, no early stopping;
# CRNN 7,000 steps of 3 samples, RNN 5,000 steps of 3, DNN and CNN 7,000 steps of 2.
# Five runs each (seeds 0-4) on the default store; R² on its test split goes to
# data/repeats/MODEL-seed.json, read by `massfield plot` (figure 8) and `massfield table`.
set -euo pipefail
runs=${1:-5}
regime() {  # model, steps, batch size
  massfield repeat "$1" --repeats "$runs" --set "train.$1.preset=seed" \
    --set "train.$1.loss=huber" --set "train.$1.learning_rate=0.001" \
    --set "train.$1.schedule=constant" --set "train.$1.epochs=1" \
    --set "train.$1.steps_per_epoch=$2" --set "train.$1.batch_size=$3" \
    --set "train.$1.patience=0"
}
regime crnn 7000 3
regime rnn 5000 3
regime dnn 7000 2
regime cnn 7000 2
