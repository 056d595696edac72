#!/usr/bin/env bash
# Extend the packaged decision (qa/decision.json) with the features its fit lacks (the asked-for credit line, the
# counted noun after a number), holding its fitted weights and thresholds; see docs/evaluation.md, "Extending".
#   scripts/extend_decision.sh             # the office's sets and samples of the public ones (about 40 minutes)
#   PUBLIC= scripts/extend_decision.sh     # the office's sets only (10 minutes): features 0 on the public sets
# The 1.5B runs need its model: scripts/install.sh --generator-large.
# Writes the reports to data/eval/fit/extend/ and the models to $OUT (default: data/decision.json; copy a reviewed
# file to qa/decision.json to package it).
set -euo pipefail
cd "$(dirname "$0")/.."
FIT=${FIT:-data/eval/fit/extend}
OUT=${OUT:-data/decision.json}
PUBLIC=${PUBLIC-yes}
AQA=.venv/bin/article-qa
OFFICE="seed-questions campus-news campus-news-zh"

run() {  # eval with no fitted model in the loop, so every candidate is recorded as the reader proposed it
  ARTICLE_QA_DECISION_MODEL=/nonexistent "$AQA" eval "$@" -q >/dev/null
}

[ -f "$OUT" ] || cp qa/decision.json "$OUT"
for d in $OFFICE; do
  run "$d" --mode generative --out "$FIT/qwen2.5-0.5b"
  run "$d" --out "$FIT/extractive"
  ARTICLE_QA_GENERATOR_MODEL=qwen2.5-1.5b run "$d" --mode generative --out "$FIT/qwen2.5-1.5b"
done
if [ -n "$PUBLIC" ]; then
  run realtimeqa-news --mode generative --sample 150 --corpus-limit 300 --out "$FIT/qwen2.5-0.5b"
  run rgb-en-fact --mode generative --sample 60 --noise 0,1 --out "$FIT/qwen2.5-0.5b"
  run squad2-dev-half --mode generative --sample 250 --corpus-limit 300 --no-oracle --out "$FIT/qwen2.5-0.5b"
fi
for reader in generative:qwen2.5-0.5b generative; do
  "$AQA" calibrate "$FIT"/qwen2.5-0.5b/*.json --extend "$reader" --write "$OUT"
done
"$AQA" calibrate "$FIT"/qwen2.5-1.5b/*.json --extend generative:qwen2.5-1.5b --write "$OUT"
"$AQA" calibrate "$FIT"/extractive/*.json --extend extractive --write "$OUT"
