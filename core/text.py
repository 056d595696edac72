"""Text primitives shared by chunking and answering: sentences, words, dates, numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from dateutil import parser as date_parser

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han characters (Simplified and Traditional): one token each
HAN = re.compile(f"[{CJK}]")


def has_han(text: str) -> bool:
    """Whether ``text`` holds Chinese (a Han character): Chinese prompts, scoring and matching follow from it."""
    return HAN.search(text) is not None


CHINESE_SHARE = 0.3  # a text is written in Chinese when at least this share of its letters are Han characters
LANGUAGE_SAMPLE = 2000  # characters of a long text read to tell its language
_LETTER = re.compile(r"[^\W\d_]")


def is_chinese(text: str) -> bool:
    """Whether ``text`` is written in Chinese, not merely naming something in it ("the 理大 campus")."""
    sample = text[:LANGUAGE_SAMPLE]
    letters = len(_LETTER.findall(sample))
    return letters > 0 and len(HAN.findall(sample)) >= CHINESE_SHARE * letters


_ZH_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_ZH_MONTH = r"(?:1[0-2]|0?[1-9])"
ZH_DATE = re.compile(  # "2024年5月20日"
    rf"(?<!\d)(?P<zh_year>{_YEAR})\s*年\s*(?P<zh_month>{_ZH_MONTH})\s*月\s*(?P<zh_day>{_ZH_DAY})\s*[日号號]")
ZH_MONTH_YEAR = re.compile(rf"(?<!\d){_YEAR}\s*年\s*{_ZH_MONTH}\s*月(?!\s*\d)")  # "2024年5月"
ZH_YEAR = re.compile(rf"(?<!\d){_YEAR}\s*年")  # "2014年"
ZH_MONTH_DAY = re.compile(rf"(?<!\d){_ZH_MONTH}\s*月\s*{_ZH_DAY}\s*[日号號]")  # "5月20日"
# What a Chinese count is counted in ("82台", "2万人次", "逾600名"): the measure words of news text, longest first.
ZH_MEASURE_WORDS = (
    "人次|平方米|平方公里|平方呎|公里|公顷|公頃|小时|小時|分钟|分鐘|个百分点|個百分點|个|個|名|位|人|台|场|場|次|项|項|"
    "所|家|间|間|张|張|本|篇|条|條|件|座|栋|棟|层|層|届|屆|年|天|周|週|岁|歲|米|亩|畝|吨|噸|倍|种|種|门|門|支|床|套|"
    "架|辆|輛|艘|枚|册|冊|期|批|组|組|队|隊|国|國"
)
_ZH_MAGNITUDE = "万萬亿億千百"
_ZH_CURRENCY = "港元|港币|港幣|美元|人民币|人民幣|英镑|英鎊|欧元|歐元|日元|元"
_ZH_AMOUNT = rf"\d[\d,]*(?:\.\d+)?\s*[{_ZH_MAGNITUDE}]*"
ZH_COUNT = re.compile(rf"(?:逾|超过|超過|近|约|約|共|达|達)?{_ZH_AMOUNT}(?:{ZH_MEASURE_WORDS})")
ZH_MONEY = re.compile(
    rf"(?:港币|港幣|人民币|人民幣|美元)\s*{_ZH_AMOUNT}(?:{_ZH_CURRENCY})?|{_ZH_AMOUNT}(?:{_ZH_CURRENCY})")
ZH_NUMERAL = re.compile(rf"[零一二两兩三四五六七八九十百千万萬亿億]+(?:{ZH_MEASURE_WORDS})")  # "三年", "十二名"
FULL_DATE = re.compile(
    rf"\b(?:{_DAY}\s+(?:{MONTHS})\.?,?\s+{_YEAR}"
    rf"|(?:{MONTHS})\.?\s+{_DAY},?\s+{_YEAR}"
    rf"|{_YEAR}-[01]\d-[0-3]\d)\b"
    rf"|{ZH_DATE.pattern}"
)
MONTH_YEAR = re.compile(rf"\b(?:{MONTHS})\.?,?\s+{_YEAR}\b")
DAY_MONTH = re.compile(rf"\b(?:{_DAY}\s+(?:{MONTHS})\b|(?:{MONTHS})\.?\s+{_DAY}\b)")
YEAR = re.compile(rf"\b{_YEAR}s?\b")
WEEKDAY = re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")

NUMBER_WORDS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|"
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|half"
)
_QUANT_PREFIX = (
    r"(?:(?:more than|less than|fewer than|over|under|about|around|nearly|almost|some|up to|at least|"
    r"approximately|roughly)\s+)?"
)
NUMBER = re.compile(
    rf"{_QUANT_PREFIX}(?:[$€£¥]\s?)?(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)(?:\s?(?:%|percent|million|billion|thousand|trillion|bn|m|k)\b)?"
    rf"|{_QUANT_PREFIX}\b(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*\b",
    re.I,
)
MONEY = re.compile(
    r"(?:[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|thousand|trillion|bn|m|k)\b)?"
    r"|\b\d[\d,]*(?:\.\d+)?\s?(?:million|billion|thousand|trillion)?\s?(?:dollars|euros|pounds|yuan|yen|rupees|HKD|USD|RMB|EUR|GBP)\b)",
    re.I,
)

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "inc", "ltd", "co", "corp", "gov",
    "gen", "col", "lt", "sgt", "rep", "sen", "no", "vol", "fig", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "e.g", "i.e", "a.m", "p.m", "approx", "dept",
    "univ", "assn", "bros", "ave", "blvd", "rd", "est",
}
_CJK_END = "。！？；"  # sentence ends of Chinese text: no space follows them
_SENTENCE_END = re.compile(rf"[.!?]+[\"'”’)\]]*(?=\s+|$)|[{_CJK_END}]+[」』”’）]*")
_POSSESSIVE = re.compile(r"['’]s$")
# The one tokenizer: letters/digits runs, an apostrophe suffix ("Peter's", "don't"), and hyphen/dot compounds
# ("co-host", "U.S", "3.5") kept together; ``words`` splits the compounds for lexical matching.
# A Han character is a token of its own (Chinese has no spaces between words), so spans align to characters.
TOKEN = re.compile(rf"[{CJK}]|[^\W_{CJK}]+(?:['’][^\W\d_{CJK}]+)?(?:[-.][^\W_{CJK}]+)*")
_COMPOUND = re.compile(r"[-.]")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of sentences in ``text[start:end]``; paragraph breaks always end a sentence."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for para_start, para_end in _paragraph_spans(text, start, end):
        spans.extend(_split_paragraph(text, para_start, para_end))
    return spans


def _paragraph_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    for match in re.finditer(r"\n\s*\n|\n", text[start:end]):
        seg_end = start + match.start()
        yield from _trimmed(text, pos, seg_end)
        pos = start + match.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    sent_start = start
    segment = text[start:end]
    for match in _SENTENCE_END.finditer(segment):
        cut = start + match.end()
        if cut >= end:
            break
        if not _is_boundary(text, start + match.start(), cut, end):
            continue
        spans.extend(_trimmed(text, sent_start, cut))
        sent_start = cut
    spans.extend(_trimmed(text, sent_start, end))
    return spans


def _is_boundary(text: str, punct_at: int, cut: int, end: int) -> bool:
    nxt = cut
    while nxt < end and text[nxt].isspace():
        nxt += 1
    if nxt >= end or text[punct_at] in _CJK_END:
        return True
    following = text[nxt]
    if not (following.isupper() or following.isdigit() or following in "\"'“‘(["):
        return False
    if text[punct_at] != ".":
        return True
    word_match = re.search(r"([A-Za-z.]+)$", text[max(0, punct_at - 12):punct_at])
    word = word_match.group(1).lower().strip(".") if word_match else ""
    if word in _ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isalpha())


def tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` for every token of ``text``, compounds kept whole."""
    return [(m.start(), m.end(), m.group(0)) for m in TOKEN.finditer(text)]


def split_compound(token: str) -> list[str]:
    """A token's word parts, lower-cased, without a possessive "'s" ("U.S" -> ["u", "s"])."""
    return [_POSSESSIVE.sub("", part) for part in _COMPOUND.split(token.lower()) if part]


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated and dotted compounds are split)."""
    return [w for m in TOKEN.finditer(text) for w in split_compound(m.group(0))]


def parse_date(value: str | None) -> date | None:
    """A calendar date from ISO or written forms ("24 February 2025", "January 11, 2021"), else None."""
    if not value:
        return None
    value = value.strip()
    zh = ZH_DATE.search(value)
    if zh:
        try:
            return date(int(zh.group("zh_year")), int(zh.group("zh_month")), int(zh.group("zh_day")))
        except ValueError:
            return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
            return date.fromisoformat(value[:10])
        return date_parser.parse(value, fuzzy=False).date()
    except (ValueError, OverflowError, TypeError):
        match = FULL_DATE.search(value)
        if match and match.group(0) != value:
            return parse_date(match.group(0))
        return None
