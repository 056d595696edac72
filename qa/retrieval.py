"""The retrieval stage: hybrid search of the served index for the standalone question, within its filters."""

from __future__ import annotations

from index.retriever import HybridRetriever
from qa.records import Query, Retrieved


class RetrievalStage:
    """Asks the index for at least ``depth`` passages (the evidence stage reads more than the client shows)."""

    def __init__(self, retriever: HybridRetriever, depth: int) -> None:
        self.retriever = retriever
        self.depth = depth

    def run(self, query: Query) -> Retrieved:
        result = self.retriever.search(query.text, max(query.top_k, self.depth), query.filters, query.prefer,
                                       reserve_by=self.depth)
        return Retrieved(tuple(result.hits), result.query_vector)
