"""The chat API's message text: numbered references and a Sources footer, safe Markdown, and read back for
follow-ups (unit tests of the formatter; the real server and client are in test_openai_api.py)."""

from __future__ import annotations

from qa.records import Answer, Citation
from service.chat_text import NOT_IN_ARTICLES, QUOTE_CHARS, compose, history, read_reply

MANCHESTER = Citation("pkuhsc-manchester-joint-webinar", "Peking University Health Science Center and the University "
                      "of Manchester Hold a Joint Webinar", "2021-01-11", "pkuhsc-manchester-joint-webinar.txt", None,
                      "The PKUHSC-Manchester Joint Research Center for Medical Genetics was established in 2014, "
                      "through which the two universities have carried out cooperation.", 968, 1167)


def answer(text: str | None, citations: tuple[Citation, ...] = (MANCHESTER,), rewritten: str | None = None) -> Answer:
    return Answer("When was the Manchester joint centre founded?", rewritten, text, text is None, 0.7, "",
                  citations if text is not None else (), (), "v1", "extractive")


def test_the_answer_carries_numbered_references_and_a_sources_footer() -> None:
    message = compose(answer("2014"))
    assert message.body == "2014 [1]"
    assert message.footer == (
        "\n\nSources:\n[1] Peking University Health Science Center and the University of Manchester Hold a Joint "
        "Webinar (2021-01-11), article pkuhsc-manchester-joint-webinar: \"The PKUHSC-Manchester Joint Research "
        "Center for Medical Genetics was established in 2014, through which the two universities have carried "
        "out cooperation.\"")
    assert message.text == message.body + message.footer


def test_an_abstention_is_a_plain_sentence_naming_a_rewritten_question() -> None:
    assert compose(answer(None)).text == f"{NOT_IN_ARTICLES} to this question."
    rewritten = compose(answer(None, rewritten="Who wrote the article about PolyU?")).text
    assert rewritten == f'{NOT_IN_ARTICLES} to this question (understood as "Who wrote the article about PolyU?").'
    assert read_reply(rewritten).answer is None


def test_article_text_never_becomes_markdown_links_images_or_html() -> None:
    hostile = Citation("evil", "<img src=x onerror=alert(1)> [click](javascript:alert(1))", None, "evil.json",
                       "javascript:alert(1)", "![tracker](http://evil.example/pixel.png) `code` *bold*\nsecond line",
                       0, 10)
    text = compose(answer("<b>x</b>", (hostile,))).text
    assert "<" not in text.replace("\\<", "") and ">" not in text.replace("\\>", "")
    assert "](" not in text.replace("\\](", "") and "javascript:" not in text.split("article evil")[1].split(":")[0]
    assert "\\!\\[tracker\\]" not in text and "!\\[tracker\\]" in text  # no image: its brackets are escaped
    assert "\\`code\\` \\*bold\\* second line" in text and text.count("\n") == 3  # the quote stays on its line
    assert read_reply(text).answer == "<b>x</b>"


def test_long_quotes_are_shortened_on_a_word_boundary() -> None:
    long = Citation("a", "T", None, "a.txt", "https://news.example.edu/a.html", "word " * 200, 0, 1000)
    line = compose(answer("word", (long,))).footer.splitlines()[-1]
    quote = line.split(': "', 1)[1]
    assert len(quote) <= QUOTE_CHARS + 3 and quote.endswith(' …"')
    assert set(quote[:-3].split()) == {"word"}  # cut between words
    assert ", article a, https://news.example.edu/a.html: " in line


def test_a_reply_reads_back_into_its_answer_and_cited_articles() -> None:
    text = compose(answer("2014")).text
    assert read_reply(text).answer == "2014"
    assert read_reply(text).article_ids == ("pkuhsc-manchester-joint-webinar",)
    assert read_reply("In 2014, I think.").answer == "In 2014, I think."  # a message this API did not write
    assert read_reply("").answer is None


def test_history_pairs_messages_and_keeps_only_articles_still_indexed() -> None:
    reply = compose(answer("2014")).text
    messages = [("system", "Be brief."), ("user", "When was the Manchester joint centre founded?"),
                ("assistant", reply), ("user", "And the other one?"), ("assistant", "")]
    turns = history(messages, lambda article_id: True)
    assert [(t.question, t.answer, t.article_ids) for t in turns] == [
        ("When was the Manchester joint centre founded?", "2014", ("pkuhsc-manchester-joint-webinar",)),
        ("And the other one?", None, ())]
    assert history(messages, lambda article_id: False)[0].article_ids == ()
