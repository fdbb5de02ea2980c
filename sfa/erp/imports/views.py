from __future__ import annotations

from flask import Blueprint, current_app

from sfa.clock import today
from sfa.db import db
from sfa.erp.imports.schemas import ImportReportSchema
from sfa.erp.imports.services import import_document
from sfa.http.endpoints import endpoint

bp = Blueprint("imports", __name__, url_prefix="/api/v1/admin")


@endpoint(
    bp,
    "/import",
    method="POST",
    roles={"admin", "erp"},
    summary="Import master data (sfa-import/1); an invalid file imports nothing (422, all errors)",
    raw_body=True,
    response=ImportReportSchema(),
    max_body="MAX_IMPORT_BYTES",
)
def import_master_data(body: object):
    hasher = current_app.extensions["sfa.auth"].hasher
    return import_document(db.session, hasher, body, today())
