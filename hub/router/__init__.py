"""The router: a pure handler (route one record) and its Kafka service."""
