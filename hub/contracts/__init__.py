"""Generated contract documents: AsyncAPI for Kafka, OpenAPI for the ingest."""
