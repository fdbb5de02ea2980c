"""The managers' dashboard: server-rendered HTML with inline SVG charts, over the same
forecasting services as ``/api/v1/forecasting`` (no third-party JavaScript)."""
