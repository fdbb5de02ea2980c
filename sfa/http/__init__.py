"""The HTTP edge shared by every feature's views: route declaration, access control, error
bodies, request ids, logs, metrics and the OpenAPI document."""
