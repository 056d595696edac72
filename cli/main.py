"""The ``article-qa`` command: serve, ingest, ask."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.config import Settings, explain_invalid
from core.errors import ArticleQAError
from evaluation.datasets import DATASETS

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("articles_dir", "data_dir", "host", "port", "feeds", "sitemaps"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _quiet_libraries() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("faiss", "faiss.loader", "sentence_transformers", "bm25s", "httpx", "transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import logs
    from service.app import create_app

    settings = _settings(args)
    if not settings.articles_dir.is_dir():
        print(f"error: articles folder {settings.articles_dir} does not exist", file=sys.stderr)
        return EXIT_USAGE
    app = create_app(settings, watch=args.watch)
    service = settings.service
    print(f"article-qa: serving http://{service.host}:{service.port}  (articles: {settings.articles_dir}, "
          f"data: {settings.data_dir})", file=sys.stderr)
    logs.configure(service.log_format)
    uvicorn.run(app, host=service.host, port=service.port, log_level="info", log_config=None, access_log=False,
                timeout_graceful_shutdown=math.ceil(service.shutdown_grace_seconds))
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingest.pipeline import build_snapshot

    settings = _settings(args)
    if args.workers is not None and args.workers < 1:
        print("error: --workers needs at least 1 worker", file=sys.stderr)
        return EXIT_USAGE
    engine = {k: v for k, v in (("ingest_workers", args.workers), ("ingest_cluster", args.cluster)) if v is not None}
    settings = settings.override(**engine)
    feeds_failed = _collect_feeds(settings)
    bars: dict[str, tqdm] = {}
    labels = {"embedding": ("embedding chunks", "chunk"), "sentences": ("embedding sentences", "sentence")}

    def progress(stage: str, done: int, total: int) -> None:
        if stage in labels and not args.quiet:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=labels[stage][0], unit=labels[stage][1], file=sys.stderr)
            bar.n = done
            bar.refresh()

    def first_version(version: str) -> None:
        if not args.quiet:
            print(f"snapshot {version} published (passages; a service answers from it now); "
                  "encoding its sentence vectors", file=sys.stderr)

    try:
        report = build_snapshot(settings.articles_dir, settings.data_dir, settings, progress, force=args.force,
                                on_first_version=first_version)
    except ArticleQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        for bar in bars.values():
            bar.close()
    print(report.summary())
    for key, why in sorted(report.skipped.items()):
        print(f"skipped {key}: {why}", file=sys.stderr)
    for key, kept in sorted(report.duplicates.items()):
        print(f"duplicate {key}: same text as article {kept}, stored once", file=sys.stderr)
    for article_id in report.kept_previous:
        print(f"kept the previously indexed version of {article_id} (its file could not be read)", file=sys.stderr)
    return EXIT_PARTIAL if report.skipped or feeds_failed else EXIT_OK


def _collect_feeds(settings: Settings) -> bool:
    """Download new and changed articles of the configured feeds and sitemaps; True if anything failed."""
    from ingest.collect import collect_all

    failed = False
    for report in collect_all(settings):
        print(report.summary(), file=sys.stderr)
        for url, why in sorted(report.skipped.items()):
            print(f"  skipped {url}: {why}", file=sys.stderr)
        for url, why in sorted(report.failed.items()):
            print(f"  failed {url}: {why}", file=sys.stderr)
        failed = failed or not report.ok or bool(report.failed)
    return failed


def _add_feed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--feed", dest="feeds", action="append", metavar="URL",
                        help="RSS or Atom feed to fetch articles from (repeatable; ARTICLE_QA_FEEDS)")
    parser.add_argument("--sitemap", dest="sitemaps", action="append", metavar="URL",
                        help="sitemap to fetch articles from (repeatable; ARTICLE_QA_SITEMAPS)")


def cmd_ask(args: argparse.Namespace) -> int:
    from index.backends import backend_for
    from index.embedding import get_embedder
    from qa.generation.models import generator_provider
    from qa.pipeline import AnswerPipeline
    from service.confidence import confidence_label

    settings = _settings(args)
    try:
        snapshot, problems = backend_for(settings).load_latest()
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        pipeline = AnswerPipeline(snapshot, get_embedder(settings.embedding.model, settings.threads), settings,
                                  generator_provider(settings))
        result = pipeline.ask(args.question, args.top_k, mode=args.mode)
    except ArticleQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if result.abstained:
        print(f"No answer in the articles ({result.reason}) [confidence {result.confidence:.2f}]")
    else:
        words = confidence_label(result.confidence, result.abstained)
        print(f"{result.answer}   [{words}, confidence {result.confidence:.2f}]")
    for c in result.citations:
        print(f"\n  [{c.title}] ({c.date or 'undated'}, {c.source}) chars {c.start}-{c.end}\n  \"{c.quote}\"")
    if args.verbose or result.abstained:
        print("\nretrieved passages:")
        for h in result.hits:
            print(f"  {h.rank}. {h.article.title} ({h.article.date or 'undated'}) score {h.score:.4f}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from evaluation.runner import EvalOptions, comparison, runner_for, write_report
    from qa.generation.models import generator_provider
    from qa.records import AnswerMode

    settings = _settings(args)
    if args.datasets_dir:
        settings = settings.override(datasets_dir=args.datasets_dir)
    if args.eval_dir:
        settings = settings.override(eval_dir=args.eval_dir)
    if args.threshold is not None:
        settings = settings.override(abstain_threshold=args.threshold)
    mode = AnswerMode(args.mode)
    options = EvalOptions(args.dataset, mode, args.sample, args.seed, args.corpus_limit, oracle=not args.no_oracle,
                          noise=args.noise)
    try:
        generator = generator_provider(settings) if mode != AnswerMode.EXTRACTIVE else None
        runner = runner_for(settings, options, generator)
        bar = tqdm(desc=f"indexing {args.dataset}", unit="chunk", file=sys.stderr, disable=args.quiet)

        def indexing(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        answerer = runner.build_index(indexing)
        bar.close()
        bar = tqdm(total=len(runner.questions), desc=f"asking ({mode.value})", unit="q", file=sys.stderr,
                   disable=args.quiet)

        def asking(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        reports = [runner.run(answerer, asking)]
        bar.close()
        if args.with_plain:
            bar = tqdm(total=len(runner.questions), desc="asking (plain baseline)", unit="q", file=sys.stderr,
                       disable=args.quiet)
            reports.append(runner.run(runner.plain(answerer), asking))
            bar.close()
    except (ArticleQAError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for report in reports:
        json_path, md_path = write_report(report, args.out or settings.eval_dir / "reports")
        print(md_path.read_text())
        print(f"report: {json_path}")
    if len(reports) > 1:  # with --with-plain: the pipeline and the plain baseline
        print(comparison(reports[0], reports[1]))
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    from evaluation.calibration import (
        EXTEND_OBJECTIVE,
        OBJECTIVE,
        best,
        cross_validated,
        errors,
        load_predictions,
        plot,
        refit,
        replay,
        rows,
        sweep,
        table,
    )
    from qa.decision import DecisionModels

    reports: dict[str, list[dict[str, object]]] = {}
    for report in args.reports:
        if not report.is_file():
            print(f"error: no report at {report}; run `article-qa eval` first", file=sys.stderr)
            return EXIT_ERROR
        reports[report.stem] = load_predictions(report)
    if args.fit or args.extend:
        reader = args.fit or args.extend
        target = args.write or _settings(args).data_dir / "decision.json"
        current = DecisionModels.load(target) if target.is_file() else DecisionModels({})
        how = f"--extend {reader}" if args.extend else f"--fit {reader}"
        command = "article-qa calibrate " + " ".join(str(r) for r in args.reports) + f" {how}"
        try:
            made = refit(reports, reader, bool(args.extend), DecisionModels.load(), current, command)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        made.models.save(target)
        result, baseline = made.result, made.baseline
        series = {f"{name} (fitted)": points for name, points in result.per_dataset.items()}
        for name, points in result.per_dataset.items():
            print(f"## {name}, fitted {reader} decision\n\n{table(points)}\n")
            if baseline is not None:
                print(f"packaged decision: {replay(result.data[name], baseline)}")
            print(f"at the chosen threshold: {replay(result.data[name], result.model)}")
            print(f"errors at the chosen threshold: {errors(result.data[name], result.model)}\n")
        weights = ", ".join(f"{f} {w:+.2f}" for f, w in zip(result.model.features, result.model.weights, strict=True))
        print(f"weights (standardised): {weights}; bias {result.model.bias:+.2f}")
        print("reliability (bin, mean confidence, share right, answers): "
              + "; ".join(f"{lo:.1f}: {p:.2f}/{acc:.2f} ({n})" for lo, p, acc, n in result.reliability.bins))
        print(f"expected calibration error {result.reliability.ece:.3f}")
        for name, figures in cross_validated(result.data, reader, baseline=baseline, extend=bool(args.extend)).items():
            print(f"cross-validated (5 folds, each question decided by a model fitted without it), {name}: {figures}")
        print(f"threshold {result.model.threshold:.3f}, office share of the loss {result.office_share:g} "
              f"({EXTEND_OBJECTIVE if args.extend else OBJECTIVE}); model written to {target}; "
              f"serve it with ARTICLE_QA_DECISION_MODEL={target}")
        calibration = result.reliability
    else:
        series = {}
        calibration = None
        for name, predictions in reports.items():
            points = sweep(rows(predictions))
            series[name] = points
            top = best(points)
            print(f"## {name}\n\n{table(points)}\n\nbest threshold {top.threshold:.3f}: F1 {top.f1}\n")
    if args.plot:
        title = f"{args.fit} answers" if args.fit else "answers"
        print(f"plot: {plot(series, args.plot, title, calibration)}")
    return EXIT_OK


def cmd_model_server(args: argparse.Namespace) -> int:
    import signal
    import threading

    from qa.generation.local_server import runtime_installed, start_server
    from qa.generation.models import cache_dir, resolve

    settings = _settings(args)
    if not runtime_installed():
        print("error: the local generator runtime is not installed; run scripts/install.sh",
              file=sys.stderr)
        return EXIT_ERROR
    try:
        path = resolve(args.model or settings.generator.model)
    except ArticleQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    key = settings.generator.api_key.get_secret_value() if settings.generator.api_key else None
    try:
        server = start_server(str(path), cache_dir(), settings.generator.runtime, settings.generator.ctx,
                              settings.generator.threads, args.host, args.port, (key,) if key else ())
    except ArticleQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    runtime = type(server).__name__
    print(f"article-qa model server: {server.base_url}/v1 ({path.name}, {runtime})", file=sys.stderr, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.close()
    return EXIT_OK


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from service.feedback import FeedbackStore

    settings = _settings(args)
    store = FeedbackStore(settings.data_dir / settings.service.feedback_file)
    if not store.path.exists():
        print(f"error: no feedback yet at {store.path}", file=sys.stderr)
        return EXIT_ERROR
    if args.output is None:
        count = store.export(sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8") as out:
            count = store.export(out)
    print(f"exported {count} ratings" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def _noise_rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated rates such as 0,1; got {text!r}") from exc
    if not rates or any(not 0.0 <= r <= 1.0 for r in rates):
        raise argparse.ArgumentTypeError(f"rates must lie between 0 and 1; got {text!r}")
    return rates


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="article-qa", description="Question answering over news articles.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service and chat page")
    serve.add_argument("--articles", dest="articles_dir", type=Path, help="articles folder (ARTICLE_QA_ARTICLES_DIR)")
    serve.add_argument("--data", dest="data_dir", type=Path, help="data folder (ARTICLE_QA_DATA_DIR)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--watch", action="store_true", help="rebuild when the articles folder changes")
    _add_feed_options(serve)
    serve.set_defaults(func=cmd_serve)

    ingest = sub.add_parser("ingest", help="build or update the index snapshot from an articles folder")
    ingest.add_argument("articles_dir", type=Path, nargs="?", help="articles folder")
    ingest.add_argument("--data", dest="data_dir", type=Path)
    ingest.add_argument("--force", action="store_true", help="publish a new snapshot even if nothing changed")
    ingest.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_feed_options(ingest)
    ingest.add_argument("--workers", type=int, default=None,
                        help="embed on N local worker processes, a Dask cluster on 127.0.0.1 "
                        "(ARTICLE_QA_INGEST_WORKERS)")
    ingest.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="embed on the Dask cluster at ADDRESS, e.g. tcp://scheduler:8786 "
                        "(ARTICLE_QA_INGEST_CLUSTER)")
    ingest.set_defaults(func=cmd_ingest)

    ask = sub.add_parser("ask", help="answer one question from the current snapshot")
    ask.add_argument("question")
    ask.add_argument("--data", dest="data_dir", type=Path)
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--mode", choices=["extractive", "generative", "auto"], default=None)
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="measure answer and retrieval quality on a benchmark in shared/datasets")
    ev.add_argument("dataset", choices=list(DATASETS))
    ev.add_argument("--mode", choices=["extractive", "generative", "auto"], default="extractive")
    ev.add_argument("--sample", type=int, default=None, help="ask only this many questions (random, by --seed)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--corpus-limit", type=int, default=None,
                    help="index only the sampled questions' documents plus this many others (for quick checks)")
    ev.add_argument("--no-oracle", action="store_true",
                    help="squad2-dev-half: skip the second pass with the gold paragraph given (halves the time)")
    ev.add_argument("--noise", type=_noise_rates, default=None, metavar="RATES",
                    help="rgb-en-fact: comma-separated noise rates to run, 1 = negatives only (default: all)")
    ev.add_argument("--with-plain", action="store_true",
                    help="also run the plain baseline (top-3 chunks, copy or NONE, no checks) on the same questions")
    ev.add_argument("--threshold", type=float, default=None, help="abstention threshold (default: the setting)")
    ev.add_argument("--datasets-dir", type=Path, default=None, help="shared/datasets (ARTICLE_QA_DATASETS_DIR)")
    ev.add_argument("--eval-dir", type=Path, default=None, help="where indexes go (ARTICLE_QA_EVAL_DIR)")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default: <eval dir>/reports)")
    ev.add_argument("-q", "--quiet", action="store_true")
    ev.set_defaults(func=cmd_eval)

    cal = sub.add_parser("calibrate", help="sweep the abstention threshold over eval reports")
    cal.add_argument("reports", type=Path, nargs="+", help="JSON reports written by `article-qa eval`")
    cal.add_argument("--plot", type=Path, default=None, help="write the trade-off plot (PNG) here")
    how = cal.add_mutually_exclusive_group()
    how.add_argument("--fit", default=None, metavar="READER",
                     help="fit this reader's decision model on the reports and choose its threshold: extractive, "
                          "or generative:<model> (e.g. generative:qwen2.5-0.5b)")
    how.add_argument("--extend", default=None, metavar="READER",
                     help="add to this reader's packaged decision the features it lacks (the asked-for credit "
                          "line, the counted noun), fitted on the reports with its other weights and threshold held")
    cal.add_argument("--write", type=Path, default=None,
                     help="where to write the fitted models (default: <data>/decision.json; the packaged "
                          "qa/decision.json is only replaced by copying a reviewed file there)")
    cal.add_argument("--data", dest="data_dir", type=Path, help="data folder (ARTICLE_QA_DATA_DIR)")
    cal.set_defaults(func=cmd_calibrate)

    ms = sub.add_parser("model-server", help="run the generator model as an OpenAI-compatible server "
                                             "(llama.cpp's llama-server), for ARTICLE_QA_GENERATOR_URL")
    ms.add_argument("--model", default=None, help="a packaged model name or a GGUF path (ARTICLE_QA_GENERATOR_MODEL)")
    ms.add_argument("--host", default="127.0.0.1")
    ms.add_argument("--port", type=int, default=8081)
    ms.set_defaults(func=cmd_model_server)

    fb = sub.add_parser("feedback", help="answer ratings given in the chat page")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    export = fb_sub.add_parser("export", help="write every rating as JSON Lines")
    export.add_argument("--data", dest="data_dir", type=Path, help="data folder (ARTICLE_QA_DATA_DIR)")
    export.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: standard output)")
    export.set_defaults(func=cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_libraries()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        logging.getLogger().setLevel(logging.INFO)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except ValidationError as exc:
        explained = explain_invalid(exc)
        if explained is None:
            raise
        print(f"error: invalid setting: {explained}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
