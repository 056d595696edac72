"""Specific exception classes; the HTTP layer maps them to status codes in one place."""

from __future__ import annotations


class ArticleQAError(Exception):
    """Base class: ``code`` is a stable machine-readable name, the message is for people."""

    code = "error"


class InvalidArticleError(ArticleQAError):
    """An article (file or JSON) could not be read or has no usable text."""

    code = "invalid_article"


class UnsupportedFileError(InvalidArticleError):
    """The file type is not one article-qa reads."""

    code = "unsupported_file"


class EmptyCorpusError(ArticleQAError):
    """The articles folder holds nothing that could be indexed."""

    code = "empty_corpus"


class ArticleNotFoundError(ArticleQAError):
    code = "article_not_found"


class ArticleExistsError(ArticleQAError):
    code = "article_exists"


class SnapshotNotFoundError(ArticleQAError):
    code = "no_snapshot"


class SnapshotCorruptError(ArticleQAError):
    """A snapshot's files do not match the checksums in its manifest."""

    code = "snapshot_corrupt"


class NotReadyError(ArticleQAError):
    code = "not_ready"


class NoArticlesError(NotReadyError):
    """The articles folder holds nothing to index yet: the service runs and says how to add articles."""

    code = "no_articles"


class InvalidQuestionError(ArticleQAError):
    code = "invalid_question"


class AdminDisabledError(ArticleQAError):
    code = "admin_disabled"


class UnauthorizedError(ArticleQAError):
    code = "unauthorized"


class PayloadTooLargeError(ArticleQAError):
    code = "payload_too_large"


class GeneratorUnavailableError(ArticleQAError):
    """Generative answers were asked for but no generator is installed or loadable."""

    code = "generator_unavailable"


class GeneratorBusyError(ArticleQAError):
    code = "generator_busy"


class JobNotFoundError(ArticleQAError):
    code = "job_not_found"


class IndexBusyError(ArticleQAError):
    """Another process holds the data folder's write lock."""

    code = "index_busy"


# serving limits and write faults
class GeneratorTimeoutError(GeneratorBusyError):
    """A generation ran past its time limit and was stopped."""

    code = "generator_timeout"


class RateLimitedError(ArticleQAError):
    """A client asked more often than the configured rate; ``retry_after`` says when it may ask again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IndexWriteError(ArticleQAError):
    """A snapshot could not be written (for example the disk is full); the previous snapshot stays."""

    code = "index_write_failed"


# sources: feeds and sitemaps
class FeedsNotConfiguredError(ArticleQAError):
    """A feed action was asked of a service started with no feeds or sitemaps to poll."""

    code = "feeds_not_configured"


class FeedError(ArticleQAError):
    """A feed, sitemap or article page could not be fetched or used; it is reported and skipped."""

    code = "feed_error"


class FetchFailedError(FeedError):
    """The server could not be reached, or answered with an error ``status``."""

    code = "fetch_failed"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FetchRefusedError(FeedError):
    """The URL is not fetched by policy: not http(s), or it leads outside the feed's site."""

    code = "fetch_refused"


class PrivateAddressError(FetchRefusedError):
    """The host resolves to a private, loopback or otherwise non-public address."""

    code = "private_address"


class RobotsDisallowedError(FetchRefusedError):
    """The site's robots.txt does not allow article-qa to fetch this URL."""

    code = "robots_disallowed"


class FetchTimeoutError(FeedError):
    code = "fetch_timeout"


class RedirectLoopError(FeedError):
    """Redirects came back to a URL already visited, or there were too many of them."""

    code = "redirect_loop"


class ResponseTooLargeError(FeedError):
    code = "response_too_large"


class ResponseEncodingError(FeedError):
    """The response is not text in its declared encoding (UTF-8 when none is declared)."""

    code = "bad_encoding"


class NotAFeedError(FeedError):
    """The response is not an RSS/Atom feed or a sitemap (for example an HTML page, or not XML at all)."""

    code = "not_a_feed"


# index backends
class IndexUnavailableError(ArticleQAError):
    """The index engine (a Milvus server or the embedded engine) cannot be reached or refused a call."""

    code = "index_unavailable"


# the OpenAI-compatible chat API
class InvalidChatRequestError(ArticleQAError):
    """A chat-completions request that cannot be answered as sent; ``param`` names the field at fault."""

    code = "invalid_request"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class UnsupportedParameterError(InvalidChatRequestError):
    """A chat-completions parameter asks for something article-qa cannot do (several choices, tools, logprobs)."""

    code = "unsupported_parameter"


class ModelNotFoundError(InvalidChatRequestError):
    """The chat API was asked for a model (answer mode) it does not serve."""

    code = "model_not_found"


class InvalidApiKeyError(UnauthorizedError):
    """The chat API needs an API key (``ARTICLE_QA_OPENAI_API_KEY``) and the request's is missing or wrong."""

    code = "invalid_api_key"
