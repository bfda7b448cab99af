"""The safeguarding message hub: policy, router, history, crypto, monitor, team queue, CLI."""

__version__ = "0.1.0"
