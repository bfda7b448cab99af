"""The connectors' HTTP transport: one app, every partner's endpoints."""
