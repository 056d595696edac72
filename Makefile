# The newcomer's two commands: `make run` and `make test`.
ARTICLES ?= ../shared/articles
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench screenshots

install:
	scripts/install.sh

run: install
	.venv/bin/article-qa serve --articles $(ARTICLES) --data $(DATA) --host $(HOST) --port $(PORT)

test:
	scripts/install.sh --browser
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check core ingest index qa service evaluation cli tests bench
	.venv/bin/mypy core ingest index qa service evaluation cli tests bench
	.venv/bin/lint-imports

screenshots:  # refreshes docs/screenshot-*.png from the real page (the tests never write into the tree)
	.venv/bin/python scripts/screenshots.py
