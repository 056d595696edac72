"""Reading, cleaning, chunking and embedding articles into snapshots."""
