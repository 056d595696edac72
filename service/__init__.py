"""The HTTP service, CLI and answering layer of article-qa."""
