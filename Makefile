# The newcomer's two commands: `make run` and `make test`.
SEED_ARTICLES := ../shared/articles
# The seed articles when the project sits beside shared/; otherwise ./articles, created empty.
ARTICLES ?= $(if $(wildcard $(SEED_ARTICLES)),$(SEED_ARTICLES),articles)
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench screenshots

install:
	scripts/install.sh

run: install
	mkdir -p $(ARTICLES)
	.venv/bin/article-qa serve --articles $(ARTICLES) --data $(DATA) --host $(HOST) --port $(PORT) --watch

test:
	scripts/install.sh --browser
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check core ingest index qa service evaluation cli tests bench scripts
	.venv/bin/mypy core ingest index qa service evaluation cli tests bench scripts
	.venv/bin/lint-imports

screenshots:  # refreshes docs/screenshot-*.png from the real page (the tests never write into the tree)
	.venv/bin/python scripts/screenshots.py
