"""Shared settings, errors and document types used by every layer of article-qa."""
