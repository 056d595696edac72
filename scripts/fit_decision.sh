#!/usr/bin/env bash
# Refit the packaged answer/abstain decision (qa/decision.json) from fresh dev runs; see docs/evaluation.md.
#   scripts/fit_decision.sh                    # 0.5B generative, generic generative and extractive (about 45 minutes)
#   scripts/fit_decision.sh qwen2.5-1.5b       # the 1.5B model's own fit (about 40 minutes)
# Writes the reports to data/eval/fit/ and the models to $OUT (default: data/decision.json; copy a reviewed file
# to qa/decision.json to package it).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-qwen2.5-0.5b}
FIT=${FIT:-data/eval/fit}
OUT=${OUT:-data/decision.json}
AQA=.venv/bin/article-qa
DATASETS="campus-news seed-questions realtimeqa-news squad2-dev-half rgb-en-fact"
PLAIN=${PLAIN---with-plain}   # PLAIN= skips the plain-pipeline baseline runs (half the time)

run() {  # eval with no fitted model in the loop, so every candidate is recorded as the reader proposed it
  ARTICLE_QA_DECISION_MODEL=/nonexistent ARTICLE_QA_GENERATOR_MODEL=$MODEL "$AQA" eval "$@" -q >/dev/null
}
reports() { for d in $DATASETS; do [ -f "$FIT/$1/$d-$2.json" ] && echo "$FIT/$1/$d-$2.json"; done; }

run campus-news --mode generative --out "$FIT/$MODEL"
run seed-questions --mode generative --out "$FIT/$MODEL"
run realtimeqa-news --mode generative $PLAIN --out "$FIT/$MODEL"
RGB_SAMPLE=60; [ "$MODEL" = qwen2.5-0.5b ] || RGB_SAMPLE=30   # the larger model is three times slower
run rgb-en-fact --mode generative --sample $RGB_SAMPLE --noise 0,1 $PLAIN --out "$FIT/$MODEL"
if [ "$MODEL" = qwen2.5-0.5b ]; then
  run squad2-dev-half --mode generative --sample 250 --no-oracle $PLAIN --out "$FIT/$MODEL"
fi
# shellcheck disable=SC2046
"$AQA" calibrate $(reports "$MODEL" generative) --fit "generative:$MODEL" --write "$OUT" \
  --plot "docs/decision-generative-${MODEL#qwen2.5-}.png"
if [ "$MODEL" = qwen2.5-0.5b ]; then
  # shellcheck disable=SC2046
  "$AQA" calibrate $(reports "$MODEL" generative) --fit generative --write "$OUT"
  run campus-news --out "$FIT/extractive"
  run seed-questions --out "$FIT/extractive"
  run realtimeqa-news --out "$FIT/extractive"
  run rgb-en-fact --noise 0,1 --out "$FIT/extractive"
  run squad2-dev-half --sample 1500 --no-oracle --out "$FIT/extractive"
  # shellcheck disable=SC2046
  "$AQA" calibrate $(reports extractive extractive) --fit extractive --write "$OUT" --plot docs/decision-extractive.png
fi
