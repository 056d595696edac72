"""The reading prompt: numbered passages with their titles and dates, the question, and a copy-or-NONE task.

The worked examples are earlier chat turns: small models follow a shown format more reliably than a described
one, and as a fixed prefix of every prompt they are evaluated once and then served from the KV cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from core.text import has_han
from qa.generation.constraint import NONE

SYSTEM_PROMPT = (
    "You answer questions about news articles using only the numbered passages given. "
    "Reply with the shortest exact phrase copied from a passage that answers the question: a name, a number, "
    f"a date or a few words, never a whole sentence. If no passage answers the question, reply exactly: {NONE}"
)
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Passages:\n[1] City museum names a new director (2023-05-02): The city museum opened in 1998 and now has "
     "forty rooms. Its new director, Ann Lee, started work in May after ten years at the national gallery.\n"
     "Question: Who is the museum's new director?", "Ann Lee"),
    ("Passages:\n[1] Storm Clara floods the north (2023-11-14): Storm Clara brought flooding to three northern "
     "counties on Tuesday.\n[2] Power cuts after the storm (2023-11-15): Officials said 1,200 homes lost power "
     "and two bridges were closed.\nQuestion: How many homes lost power?", "1,200"),
    ("Passages:\n[1] Harbour bridge approved (2024-03-08): The harbour bridge will cost $2 billion and open in "
     "2027. Work on the approach roads began last spring.\nQuestion: Who designed the bridge?", NONE),
)

# The same format in Chinese, shown when the question is asked in Chinese: a small model copies from Chinese
# passages far more reliably after a Chinese example than after English ones.
EXAMPLES_ZH: tuple[tuple[str, str], ...] = (
    ("Passages:\n[1] 市博物馆任命新馆长 (2023-05-02): 2023年5月2日，市博物馆宣布任命李安为新馆长。博物馆于1998年开馆，"
     "现有展厅40个，去年接待观众120万人次。\nQuestion: 博物馆现有多少个展厅？", "40个"),
    ("Passages:\n[1] 港灣大橋獲批 (2024-03-08): 港灣大橋造價20億元，預計2027年通車。\nQuestion: 大橋由誰設計？", NONE),
)


@dataclass(frozen=True)
class PromptPassage:
    """One passage as the model sees it; ``body`` is verbatim article text, the header is context only."""

    title: str
    date: str | None
    body: str

    def header(self) -> str:
        title = " ".join(self.title.split())
        return f"{title} ({self.date})" if self.date else title


def passage_lines(passages: Sequence[PromptPassage]) -> list[str]:
    return [f"[{i}] {p.header()}: {' '.join(p.body.split())}" for i, p in enumerate(passages, start=1)]


def reading_messages(question: str, passages: Sequence[PromptPassage], as_of: date | None = None,
                     examples: bool = True) -> list[dict[str, str]]:
    """Chat messages asking for an answer copied from ``passages`` (or NONE)."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    if examples:
        for shown, reply in EXAMPLES_ZH if has_han(question) else EXAMPLES:
            messages += [{"role": "user", "content": shown}, {"role": "assistant", "content": reply}]
    when = f"Today is {as_of.isoformat()}.\n" if as_of else ""
    body = "\n".join(passage_lines(passages))
    messages.append({"role": "user", "content": f"{when}Passages:\n{body}\nQuestion: {question}"})
    return messages

