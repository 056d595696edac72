"""Generator speed side by side: prompt reading and writing rates of model files, interleaved in one run.

Each round asks every model the same reading prompts (evidence of the size the service shows, a fresh question
each time so nothing but the fixed prefix is cached) and reports medians of the prompt tokens read per second,
the time to the answer, and the ratio to the first model. The machine is shared, so only the ratios in one run
mean much.

    .venv/bin/python -m bench.generator_speed --models qwen2.5-0.5b qwen2.5-0.5b-q4_k_m --rounds 5
    .venv/bin/python -m bench.generator_speed --models qwen2.5-0.5b@in_process qwen2.5-0.5b@native

A model may name its runtime after an ``@`` (``in_process``: the prebuilt wheel; ``native``: llama-server built
for this CPU by scripts/build_llama_server.py; default ``auto``).
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import cast

from qa.generation.base import finish
from qa.generation.chat_server import ChatServerGenerator
from qa.generation.constraint import SpanConstraint
from qa.generation.local_server import ModelServer, Runtime, start_server
from qa.generation.models import cache_dir, resolve
from qa.generation.prompts import PromptPassage, reading_messages
from qa.records import SpanGeneration

PASSAGES = [
    PromptPassage("City council approves the harbour bridge", "2024-03-08",
                  "The city council voted 31 to 9 on Tuesday to approve the harbour bridge, a 1.2-kilometre crossing "
                  "that will cost $2 billion and open in 2027. Work on the approach roads began last spring, and "
                  "the mayor said the first pylons would rise in September."),
    PromptPassage("Museum names a new director", "2023-05-02",
                  "The city museum opened in 1998 and now has forty rooms. Its new director, Ann Lee, started work "
                  "in May after ten years at the national gallery, where she led the restoration of the east wing "
                  "and a survey of 3,000 prints."),
    PromptPassage("Storm Clara floods the north", "2023-11-14",
                  "Storm Clara brought flooding to three northern counties on Tuesday. Officials said 1,200 homes "
                  "lost power and two bridges were closed, and that schools in Hallam would stay shut until Friday."),
]
QUESTIONS = ["How much will the harbour bridge cost?", "Who is the museum's new director?",
             "How many homes lost power?", "When will the bridge open?", "How many rooms does the museum have?",
             "Which town's schools stay shut?", "How many councillors voted against the bridge?",
             "Where did Ann Lee work before?", "How many prints were surveyed?", "When did road work begin?"]


def _start(entry: str, threads: int) -> ModelServer:
    model, _, runtime = entry.partition("@")
    chosen = cast(Runtime, runtime or "auto")
    return start_server(str(resolve(model)), cache_dir(), chosen, 4096, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["qwen2.5-0.5b", "qwen2.5-0.5b-q4_k_m"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    servers = {m: _start(m, args.threads) for m in args.models}
    clients = {m: ChatServerGenerator(s.base_url) for m, s in servers.items()}
    bodies = [" ".join(p.body.split()) for p in PASSAGES]
    runs: dict[str, list[SpanGeneration]] = {m: [] for m in args.models}
    for client in clients.values():  # warm the fixed prefix (system prompt and worked examples)
        finish(client.read(reading_messages(QUESTIONS[0], PASSAGES), SpanConstraint(bodies), 24))
    for r in range(args.rounds):
        order = args.models if r % 2 == 0 else list(reversed(args.models))
        for i, question in enumerate(QUESTIONS):
            for model in order:
                shown = PASSAGES[i % 3:] + PASSAGES[:i % 3]  # a new passage order: only the prefix is cached
                runs[model].append(finish(clients[model].read(reading_messages(question, shown),
                                                              SpanConstraint(bodies), 24)))
    base = statistics.median(g.seconds for g in runs[args.models[0]])
    for model, results in runs.items():
        seconds = statistics.median(g.seconds for g in results)
        fresh = statistics.median(g.prompt_tokens - g.cached_tokens for g in results)
        print(json.dumps({"model": model, "runtime": type(servers[model]).__name__, "answers": len(results),
                          "seconds_p50": round(seconds, 3),
                          "first_token_p50": round(statistics.median(g.first_token_seconds for g in results), 3),
                          "new_prompt_tokens_p50": fresh, "prompt_tokens_p50": statistics.median(
                              g.prompt_tokens for g in results),
                          "ratio_to_first": round(seconds / base, 3)}))
    for server in servers.values():
        server.close()


if __name__ == "__main__":
    main()
