"""The hub's data contracts: frozen pydantic models and their JSON Schemas."""
