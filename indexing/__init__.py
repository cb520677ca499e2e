"""Document ingestion: parsing, chunking, embedding and vector indexes."""
