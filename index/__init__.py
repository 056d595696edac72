"""The embedding model, FAISS and BM25 indexes and the chunk store, published as one versioned snapshot."""

import os

# OpenMP threads that spin while waiting starve each other on a busy 2-core machine: a query encode took
# 950 ms instead of 20 ms with 2 torch threads next to other work. Passive waiting must be set before
# torch or faiss load their OpenMP runtime; an explicit OMP_WAIT_POLICY in the environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
