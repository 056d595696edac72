"""``article-qa eval``: answer and retrieval quality on the public benchmarks in ``shared/datasets``."""
