"""The OpenAPI 3 document, generated from the routes' declarations and marshmallow schemas."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from sfa.http.endpoints import EndpointSpec

_PATH_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


def _schema_name(schema: Schema) -> str:
    name = type(schema).__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def build_openapi(app: Flask, version: str) -> dict[str, Any]:
    spec = APISpec(
        title="SFA sync server",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "Sales-force automation with offline mobile sync."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        declared: EndpointSpec | None = getattr(view, "endpoint_spec", None)
        if declared is None:
            continue
        path = _PATH_ARG.sub(r"{\1}", rule.rule)
        paths.setdefault(path, {})[declared.method.lower()] = _operation(declared, rule.arguments)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()


def _operation(declared: EndpointSpec, path_args: set[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": declared.summary,
        "tags": [declared.tag],
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in sorted(path_args)
        ],
        "responses": {
            str(declared.status): _success(declared),
            "default": {
                "description": "error",
                "content": {"application/json": {"schema": "Error"}},
            },
        },
        "x-roles": sorted(declared.roles) or ["public"],
    }
    if declared.query is not None:
        operation["parameters"].append({"in": "query", "schema": declared.query})
    if declared.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": declared.body}},
        }
    elif declared.raw_body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if declared.roles:
        operation["security"] = [{"bearer": []}]
    return operation


def _success(declared: EndpointSpec) -> dict[str, Any]:
    if declared.response is None:
        return {"description": "success", "content": {"application/json": {"schema": {}}}}
    return {
        "description": "success",
        "content": {"application/json": {"schema": declared.response}},
    }
