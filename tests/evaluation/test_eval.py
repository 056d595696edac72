"""A small sample of every benchmark runs here, through the same code as `article-qa eval`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from evaluation import metrics as m
from evaluation.runner import EvalOptions, comparison, rgb_errors, runner_for
from tests.conftest import DATASETS, GENERATOR_MISSING, ROOT, SHARED, needs_datasets


def test_squad_metrics() -> None:
    assert m.normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert m.answer_scores("the 10th and 11th centuries", ["10th and 11th centuries"]) == (1.0, 1.0)
    em, f1 = m.answer_scores("11th century", ["10th and 11th centuries"])
    assert em == 0.0 and 0.0 < f1 < 1.0
    assert m.answer_scores(None, []) == (1.0, 1.0) and m.answer_scores("x", []) == (0.0, 0.0)
    assert m.ndcg_at(["a", "b"], {"b": 1}, 10) == pytest.approx(1 / math.log2(3))
    assert m.recall_at(["a", "b", "c"], {"c"}, 2) == 0.0 and m.reciprocal_rank(["a", "c"], {"c"}) == 0.5


def test_rgb_rows_are_counted_by_cause() -> None:
    rows = [{"noise": 0.0, "correct": 1.0, "abstained": False}, {"noise": 0.0, "correct": 0.0, "abstained": False},
            {"noise": 0.0, "correct": 0.0, "abstained": True}, {"noise": 1.0, "correct": 1.0, "abstained": True},
            {"noise": 1.0, "correct": 0.0, "abstained": False}]
    assert rgb_errors(rows) == {"correct": 2, "retrieval_miss": 0, "reading_error": 1, "wrong_abstention": 1,
                                "answered_unanswerable": 1}


@needs_datasets
@pytest.mark.parametrize(
    ("dataset", "keys"),
    [
        ("realtimeqa-news", ["em", "f1", "recall@3", "mrr", "citation_in_gold_pct"]),
        ("squad2-dev-half", ["f1", "answerable_f1", "abstention_recall", "paragraph_top1_pct", "oracle"]),
        ("rgb-en-fact", ["accuracy_noise_0.0", "accuracy_noise_0.8", "negative_rejection_pct", "errors"]),
        ("cmrc2018-dev", ["em", "f1", "paragraph_top1_pct"]),
        ("rgb-zh", ["accuracy_noise_0.0", "negative_rejection_pct", "errors"]),
        ("beir-scifact", ["ndcg@10", "recall@100"]),
    ],
)
def test_each_benchmark_runs_on_a_sample(tmp_path: Path, dataset: str, keys: list[str]) -> None:
    settings = Settings(datasets_dir=DATASETS, eval_dir=tmp_path)
    sample = 6 if not dataset.startswith("rgb") else 2
    runner = runner_for(settings, EvalOptions(dataset, sample=sample, seed=1, corpus_limit=15))
    report = runner.run(runner.build_index())
    for key in keys:
        assert key in report.metrics
    assert report.predictions and report.latency_ms["total"]["p50"] > 0
    if dataset == "beir-scifact":
        assert 0.0 <= report.metrics["ndcg@10"] <= 1.0
        assert report.metrics["ndcg@10"] > 0.3, "the gold abstract is in a 15-document corpus; it should rank"
    else:
        for p in report.predictions:
            if p["prediction"] is not None:
                assert any(p["prediction"] in c["quote"] for c in p["citations"])


@needs_datasets
def test_generative_eval_and_the_plain_baseline_run_on_a_sample(tmp_path: Path) -> None:
    """The generative mode of the eval command and the plain baseline it is compared with, real generator."""
    from qa.generation.models import generator_provider
    from qa.records import AnswerMode

    settings = Settings(datasets_dir=DATASETS, eval_dir=tmp_path)
    provider = generator_provider(settings)
    if provider is None:
        pytest.skip(GENERATOR_MISSING)
    runner = runner_for(settings, EvalOptions("realtimeqa-news", AnswerMode.GENERATIVE, sample=3, seed=1,
                                              corpus_limit=10), provider)
    pipeline = runner.build_index()
    report = runner.run(pipeline)
    assert report.options["mode"] == "generative" and "first_token" in report.latency_ms
    for p in report.predictions:
        assert "raw" in p["signals"] and p["signals"]["reader"] == "generative:qwen2.5-0.5b"
        assert set(p["features"]) >= {"first_prob", "none_prob", "copy_mass", "generated"}
        if p["prediction"] is not None:
            assert any(p["prediction"] in c["quote"] for c in p["citations"])
    plain = runner.run(runner.plain(pipeline))
    assert plain.options["mode"] == "plain" and len(plain.predictions) == 3
    assert "| f1 |" in comparison(report, plain)


@needs_datasets
def test_eval_command_writes_json_and_markdown(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "eval", "realtimeqa-news", "--sample", "3", "--corpus-limit", "5",
         "--datasets-dir", str(DATASETS), "--eval-dir", str(tmp_path), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| recall@3 |" in proc.stdout
    report = json.loads((tmp_path / "reports" / "realtimeqa-news-extractive.json").read_text())
    assert report["options"]["sample"] == 3 and len(report["predictions"]) == 3
    assert (tmp_path / "reports" / "realtimeqa-news-extractive.md").is_file()
    assert all("reader" in p["features"] and "candidate" in p["signals"] for p in report["predictions"])

    fitted = tmp_path / "decision.json"
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "calibrate",
         str(tmp_path / "reports" / "realtimeqa-news-extractive.json"), "--fit", "extractive",
         "--write", str(fitted), "--plot", str(tmp_path / "plot.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    model = json.loads(fitted.read_text())["models"]["extractive"]
    assert len(model["weights"]) == len(model["features"]) and 0.0 <= model["threshold"] <= 1.0
    assert (tmp_path / "plot.png").stat().st_size > 1000
    assert "expected calibration error" in proc.stdout


@needs_datasets
def test_calibrate_extends_the_packaged_decision_on_an_office_report(tmp_path: Path) -> None:
    """``--extend`` refits only the features the packaged decision lacks and records how, keeping its fit's record."""
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "eval", "seed-questions", "--datasets-dir", str(DATASETS),
         "--eval-dir", str(tmp_path), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "reports" / "seed-questions-extractive.json"
    written = tmp_path / "decision.json"
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "calibrate", str(report), "--extend", "extractive", "--write", str(written)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    saved = json.loads(written.read_text())
    packaged = json.loads((ROOT / "qa" / "decision.json").read_text())
    record = saved["fitted_on"]["extractive"]["extended"]
    assert record["reports"] == ["seed-questions-extractive"] and "--extend extractive" in record["command"]
    assert set(record["features"]) == set(packaged["fitted_on"]["extractive"]["extended"]["features"])
    model = saved["models"]["extractive"]
    assert set(model["features"]) == set(packaged["models"]["extractive"]["features"])
    public = tmp_path / "reports" / "realtimeqa-news-extractive.json"
    public.write_text(report.read_text())
    refused = subprocess.run(
        [sys.executable, "-m", "cli.main", "calibrate", str(public), "--extend", "extractive", "--write", str(written)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert refused.returncode != 0 and "office" in refused.stderr


def test_cross_validation_decides_each_question_without_it() -> None:
    """Out-of-sample replay: a signal that predicts right answers keeps working on held-out folds."""
    from evaluation.calibration import Option, Row, cross_validated
    from qa.records import DecisionFeatures

    data = []
    for i in range(40):
        right = i % 2 == 0
        option = Option("yes" if right else "wrong", DecisionFeatures(reader=0.9 if right else 0.1, dense=0.5))
        data.append(Row((option,), ("yes",), 0.5))
    figures = cross_validated({"toy": data}, "extractive")
    assert figures["toy"]["f1"] == 50.0 and figures["toy"]["answered_pct"] == 50.0
    assert cross_validated({"toy": data[:3]}, "extractive") == {}


def test_the_office_sets_weigh_as_much_as_all_public_ones_together() -> None:
    """A threshold that serves a public set by withholding the office's right answers loses: a small office
    set whose right answers score low is fitted on (below the public minimum) and half the objective."""
    from evaluation.calibration import MAX_LOSS_F1, OFFICE_SHARE, Option, Row, dataset_shares, fit_rows, replay
    from qa.records import DecisionFeatures

    shares = dataset_shares(["campus-news-auto", "seed-questions", "squad2-dev-half", "realtimeqa-news"])
    assert shares["campus-news-auto"] + shares["seed-questions"] == OFFICE_SHARE
    assert shares["squad2-dev-half"] == shares["realtimeqa-news"] == (1 - OFFICE_SHARE) / 2
    public = []
    for i in range(200):  # the public set: low reader scores are wrong answers to unanswerable questions
        right = i % 2 == 0
        option = Option("yes" if right else "wrong", DecisionFeatures(reader=0.8 if right else 0.3))
        public.append(Row((option,), ("yes",) if right else (), 0.5))
    office = [Row((Option("Lang Lang", DecisionFeatures(reader=0.3)),), ("Lang Lang",), 0.5,
                  listed=("Lang Lang",)) for _ in range(20)]
    alone = fit_rows({"squad2-dev-half": public}, "extractive")
    both = fit_rows({"squad2-dev-half": public, "campus-news": office}, "extractive")
    assert alone.model.probability(office[0].options[0].features) < alone.model.threshold
    assert both.model.probability(office[0].options[0].features) >= both.model.threshold
    # Against the decision it replaces, a refit may not buy the office's answers with a public set's F1.
    kept = fit_rows({"squad2-dev-half": public, "campus-news": office}, "extractive", baseline=alone.model)
    before = replay(public, alone.model)["f1"]
    assert replay(public, kept.model)["f1"] >= before - MAX_LOSS_F1 > replay(public, both.model)["f1"]


def test_noise_rates_out_of_range_are_a_clear_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "cli.main", "eval", "rgb-en-fact", "--noise", "0,2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "between 0 and 1" in proc.stderr


def test_unknown_dataset_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "cli.main", "eval", "nope"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_office_rule_counts_contained_answers() -> None:
    assert m.office_right("on 28 February 2025", ["28 February"], False)
    assert not m.office_right("Paul Wong", ["Cheng Yuet-ying"], False)
    assert m.office_right("Qiao Jie and Keith Brennan", ["Qiao Jie", "Keith Brennan"], True)
    assert not m.office_right("Qiao Jie", ["Qiao Jie", "Keith Brennan"], True)
    assert m.office_right(None, [], False) and not m.office_right("x", [], False)


@needs_datasets
def test_campus_news_runs_questions_and_follow_ups_over_seed_and_campus_articles(tmp_path: Path) -> None:
    """The office's own kind of questions: the campus articles served with the seed articles, each follow-up
    asked with the turn before it as history."""
    settings = Settings(datasets_dir=DATASETS, eval_dir=tmp_path)
    runner = runner_for(settings, EvalOptions("campus-news", sample=5, seed=2))
    report = runner.run(runner.build_index())
    served = {p.name for p in (tmp_path / "campus-news" / "articles").iterdir()}
    assert {"pkuhsc-manchester-joint-webinar.txt", "igem-gold-medal.txt"} <= served
    metrics = report.metrics
    assert metrics["questions"] == 5 and metrics["followups"] == len(runner.dataset.conversations) == 6
    assert 0 <= metrics["right"] <= 5 and 0 <= metrics["followups_right"] <= 6
    second = [p for p in report.predictions if p.get("turn") == 2]
    assert len(second) == 6 and sum(bool(p["rewritten"]) for p in second) >= 3, "follow-ups are made standalone"
    assert all("listed" in p and "right" in p for p in report.predictions)


def test_chinese_answers_are_scored_per_character() -> None:
    """CMRC 2018's rule: each Han character is a unit of F1; words stay words."""
    assert m.units("约5800万元 PolyU") == ["约", "5800", "万", "元", "polyu"]
    assert m.f1("约5800万元", "5800万元") == pytest.approx(2 * 0.75 / 1.75)
    assert m.answer_scores("孙宏玉", ["孙宏玉"]) == (1.0, 1.0)
    assert m.office_right("逾600名学者", ["逾600名"], False) and not m.office_right("1,300名", ["600"], False)
    assert m.contains_answer("港幣2億元，", ["2億元"])


@needs_datasets
def test_the_chinese_office_set_serves_its_articles_with_the_seed_articles() -> None:
    from evaluation.datasets import OFFICE, load

    dataset = load("campus-news-zh", DATASETS)
    assert "campus-news-zh" in OFFICE and len(dataset.questions) == 18
    assert sum(not q.answerable for q in dataset.questions) == 2
    assert [f.name for f in dataset.article_folders] == ["articles", "articles"]
    assert dataset.article_folders[0] == SHARED / "articles"
