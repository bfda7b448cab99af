"""Security: keys, sealing, signing, Kafka principals, credentials and ACLs."""
