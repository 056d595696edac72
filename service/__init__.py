"""The HTTP layer of article-qa: FastAPI routes, schemas and the running index state; the answering stages
live in ``qa``."""
