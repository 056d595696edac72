"""Span-constrained decoding: the model may only write a word-aligned slice of a passage it was shown, or NONE.

Every answer the generator writes is therefore verbatim by construction. The constraint works on bytes, so it
is independent of the tokenizer: a token is allowed when its bytes continue the output along at least one
passage. It can also be written as a GBNF grammar for servers that take one (llama.cpp's ``llama-server``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.text import has_han
from qa.records import SpanMatch

NONE = "NONE"
_SEPARATOR = b"\x00"


class TokenIndex:
    """Token ids by their bytes, so the tokens that are prefixes of a text are found by a few dict lookups."""

    def __init__(self, pieces: Iterable[tuple[int, bytes]]) -> None:
        self.by_bytes: dict[bytes, list[int]] = {}
        longest = 1
        for token_id, piece in pieces:
            if piece:
                self.by_bytes.setdefault(piece, []).append(token_id)
                longest = max(longest, len(piece))
        self.longest = longest

    def prefixes_of(self, text: bytes) -> Iterable[int]:
        for n in range(1, min(len(text), self.longest) + 1):
            ids = self.by_bytes.get(text[:n])
            if ids:
                yield from ids


class SpanConstraint:
    """The set of outputs allowed for one request: word-aligned spans of ``passages``, or exactly ``NONE``.

    ``advance`` keeps the passage positions that still agree with the output; ``allowed`` lists the token ids
    that keep at least one alive; ``can_stop`` says whether the output may end here (at a word end).
    """

    def __init__(self, passages: Sequence[str], allow_none: bool = True, max_span_bytes: int = 400) -> None:
        self.passages = list(passages)
        parts = [p.encode("utf-8") for p in self.passages]
        if allow_none:
            parts.append(NONE.encode())
        self.corpus = _SEPARATOR.join(parts)
        self.max_span_bytes = max_span_bytes
        self._segment_starts: list[int] = []
        offset = 0
        for part in parts:
            self._segment_starts.append(offset)
            offset += len(part) + 1
        self._none_start = self._segment_starts[-1] if allow_none else -1
        texts = self.passages + ([NONE] if allow_none else [])
        self.starts, self.ends = self._boundaries(texts)
        self.output = b""
        self.active: list[int] = list(self.starts)

    def _boundaries(self, parts: list[str]) -> tuple[list[int], set[int]]:
        """Byte offsets where a span may begin (after white space, or where a word follows punctuation) and
        end (before white space, or where punctuation follows a word); judged on characters, not bytes. A Han
        character is a word of its own (Chinese has no spaces), so Chinese spans align to characters."""
        starts: list[int] = []
        ends: set[int] = set()
        for seg, text in enumerate(parts):
            base = self._segment_starts[seg]
            if self._none_start >= 0 and base == self._none_start:
                starts.append(base)
                ends.add(base + len(text.encode()))
                continue
            offset = base
            for i, ch in enumerate(text):
                prev = text[i - 1] if i else " "
                nxt = text[i + 1] if i + 1 < len(text) else " "
                width = len(ch.encode())
                if not ch.isspace():
                    han = has_han(ch)
                    if prev.isspace() or (ch.isalnum() and (han or has_han(prev) or not prev.isalnum())):
                        starts.append(offset)
                    if nxt.isspace() or (ch.isalnum() and (han or has_han(nxt) or not nxt.isalnum())):
                        ends.add(offset + width)
                offset += width
        return starts, ends

    def reset(self) -> None:
        self.output = b""
        self.active = list(self.starts)

    def _continuation(self, pos: int, limit: int) -> bytes:
        at = pos + len(self.output)
        stop = self.corpus.find(_SEPARATOR, at)
        stop = len(self.corpus) if stop < 0 else stop
        return self.corpus[at:min(stop, at + limit)]

    def allowed(self, tokens: TokenIndex) -> set[int]:
        """Token ids whose bytes continue the output along some still-possible passage position."""
        room = self.max_span_bytes - len(self.output)
        if room <= 0:
            return set()
        out: set[int] = set()
        seen: set[bytes] = set()
        for pos in self.active:
            rest = self._continuation(pos, min(room, tokens.longest))
            if rest and rest not in seen:
                seen.add(rest)
                out.update(tokens.prefixes_of(rest))
        return out

    def can_stop(self) -> bool:
        n = len(self.output)
        return n > 0 and any(p + n in self.ends for p in self.active)

    def accepts(self, piece: bytes) -> bool:
        """Whether ``piece`` would continue the output along some passage position (nothing changes)."""
        n = len(self.output)
        return bool(piece) and any(self.corpus[p + n:p + n + len(piece)] == piece
                                   and _SEPARATOR not in self.corpus[p + n:p + n + len(piece)] for p in self.active)

    def advance(self, piece: bytes) -> bool:
        """Append ``piece`` to the output; False (and nothing changed) if no passage position allows it."""
        n = len(self.output)
        alive = [p for p in self.active if self.corpus[p + n:p + n + len(piece)] == piece
                 and _SEPARATOR not in self.corpus[p + n:p + n + len(piece)]]
        if not alive:
            return False
        self.output += piece
        self.active = alive
        return True

    @property
    def is_none(self) -> bool:
        return self._none_start >= 0 and self.output == NONE.encode() and self._none_start in self.active

    def matches(self) -> list[SpanMatch]:
        """Every passage position the finished output occupies, in passage order (character offsets)."""
        n = len(self.output)
        found = []
        for pos in self.active:
            if pos + n not in self.ends or pos == self._none_start:
                continue
            seg = max(i for i, s in enumerate(self._segment_starts) if s <= pos)
            seg_start = self._segment_starts[seg]
            raw = self.corpus[seg_start:pos]
            start = len(raw.decode("utf-8", errors="ignore"))
            text = self.output.decode("utf-8", errors="ignore")
            found.append(SpanMatch(seg, start, start + len(text)))
        return sorted(found, key=lambda m: (m.passage, m.start))

    def gbnf(self) -> str:
        """The same constraint as a GBNF grammar, linear in the passage length.

        Each passage is cut at every place a span may start or end; rule ``aK`` is "piece K, then maybe (or,
        where a span may not end, necessarily) the rule of the piece after it", so a span can start at any word
        and stop at any word end, before trailing punctuation too.
        """
        rules: list[str] = []
        roots: list[str] = []
        starts = set(self.starts)
        for seg, seg_start in enumerate(self._segment_starts):
            if seg_start == self._none_start:
                continue
            seg_end = self._segment_starts[seg + 1] - 1 if seg + 1 < len(self._segment_starts) else len(self.corpus)
            cuts = sorted({seg_start, seg_end} | {p for p in starts if seg_start < p < seg_end}
                          | {p for p in self.ends if seg_start < p < seg_end})
            names = [f"a{len(rules) + i}" for i in range(len(cuts) - 1)]
            for i, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
                literal = gbnf_literal(self.corpus[lo:hi])
                nxt = names[i + 1] if i + 1 < len(names) else None
                if nxt is None:
                    rules.append(f"{names[i]} ::= {literal}")
                elif hi in self.ends:
                    rules.append(f"{names[i]} ::= {literal} ({nxt})?")
                else:
                    rules.append(f"{names[i]} ::= {literal} {nxt}")
                if lo in starts:
                    roots.append(names[i])
        alternatives = ([gbnf_literal(NONE.encode())] if self._none_start >= 0 else []) + roots
        return "\n".join([f"root ::= {' | '.join(alternatives)}", *rules]) + "\n"


def gbnf_literal(data: bytes) -> str:
    text = data.decode("utf-8", errors="ignore")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") \
        .replace("\t", "\\t")
    return f'"{escaped}"'
