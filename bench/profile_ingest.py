"""Where an incremental rebuild spends its time: pyinstrument over adding one article (model loaded first).

    python -m bench.profile_ingest --corpus realtimeqa --data /work/cache/rtqa-data

Works on a copy of ``--data``; prints pyinstrument's text report (frames under 2 % of the time hidden).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from pyinstrument import Profiler

from bench.common import CORPORA, corpus_folder
from core.config import Settings
from index.embedding import get_embedder
from ingest.pipeline import build_snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="realtimeqa")
    parser.add_argument("--data", type=Path, required=True, help="a data folder holding a snapshot of the corpus")
    parser.add_argument("--articles", type=Path, help="an articles folder instead of --corpus")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()

    folder = args.articles or corpus_folder(args.corpus)
    data = Path(tempfile.mkdtemp(prefix="aqa-profile-")) / "data"
    shutil.copytree(args.data, data)
    work = Path(tempfile.mkdtemp(prefix="aqa-profile-add-"))
    for item in folder.iterdir():
        (work / item.name).symlink_to(item.resolve())
    (work / "profiled.txt").write_text("Profiled article\n\n1 March 2025\n\nThe profiler added this article. "
                                       "It has two sentences.\n")
    settings = Settings(articles_dir=work, data_dir=data)
    get_embedder(settings.embedding.model, settings.threads)
    profiler = Profiler(interval=0.002)
    with profiler:
        report = build_snapshot(work, data, settings)
    text = profiler.output_text(show_all=False, color=False, unicode=False, time="seconds",
                                processor_options={"filter_threshold": 0.02})
    print(report.summary())
    print(text)
    if args.out:
        args.out.write_text(text)
    shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
