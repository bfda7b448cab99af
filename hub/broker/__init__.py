"""The local Kafka broker and the declarative topics."""
