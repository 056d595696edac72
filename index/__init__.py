"""The embedding model, FAISS and BM25 indexes and the chunk store, published as one versioned snapshot."""
