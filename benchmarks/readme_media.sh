#!/usr/bin/env bash
# The README's GIFs, from the bundled models (seed 0):
#   bash benchmarks/readme_media.sh
# Four futures of assets/examples/street.jpg from the default model at the photo's aspect ratio,
# one of them with its layers (video = mask * foreground + (1 - mask) * background, and the flow),
# and four futures of a Moving Fashion-MNIST frame from mfmnist-motion.
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/readme
vgpred predict assets/examples/street.jpg -o "$out/scenes-futures.gif" -n 4 --grid --size 256 --seed 0
vgpred predict assets/examples/street.jpg -o "$out/scenes.gif" --layers --size 192 --seed 0
vgpred predict -c mfmnist-motion assets/examples/fashion-digits.png -o "$out/mfmnist-futures.gif" -n 4 --grid --seed 0
ls -l "$out"
