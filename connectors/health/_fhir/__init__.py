"""FHIR reading helpers of the health connector (private to it)."""
