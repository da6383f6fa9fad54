"""Public ledger routes: the signed checkpoint of the ledger head, and proofs of extension.

No token needed: anyone may hold a checkpoint and check later that the history extends it.
``GET /ledger/checkpoint`` is the current head, signed (see
:mod:`trace.services.inspection.checkpoints`
for the exact signed bytes). ``GET /ledger/proof?from=<seq>`` gives what a holder of checkpoint
``seq`` needs: every entry after it (its digest) and the signed checkpoint of today's head, so
that recomputing the chain from the old chain hash reaches the new one.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Blueprint, Flask, Response, current_app
from marshmallow import ValidationError

from trace.api import inspection_schemas as s
from trace.api import problems
from trace.api.docs import documented
from trace.api.io import dump, load_query
from trace.db import db
from trace.services.errors import ServiceError
from trace.services.inspection import checkpoints

_checkpoint = s.CheckpointSchema()
_proof = s.ProofSchema()
_proof_query = s.ProofQuery()


def signing_key(app: Flask) -> Ed25519PrivateKey:
    return checkpoints.load_signing_key(app.config, app.instance_path)


#: Anyone may fetch these, from any origin; a checkpoint is only worth what is current.
_HEADERS = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}


@documented(summary="The ledger head, signed (Ed25519)", tag="Ledger",
            response=s.CheckpointSchema, errors=(503,), public=True)  # fmt: skip
def checkpoint() -> Response:
    key = signing_key(current_app)
    return dump(_checkpoint, checkpoints.current(db.session, key).as_dict(), headers=_HEADERS)


@documented(summary="What a holder of checkpoint <from> needs to check today's history "
            "extends it", tag="Ledger", query=s.ProofQuery, response=s.ProofSchema,
            errors=(422, 503), public=True)  # fmt: skip
def proof() -> Response:
    args = load_query(_proof_query)
    start = args["from"]
    checkpoints.check_proof_start(db.session, start)
    key = signing_key(current_app)
    head = checkpoints.current(db.session, key)
    entries = [
        e.__dict__ for e in checkpoints.proof_entries(db.session, start) if e.seq <= head.seq
    ]
    return dump(
        _proof,
        {
            "algorithm": "chain = hex(SHA-256(chain_hex + digest)) for each entry in order, "
            "starting from the held checkpoint's chain_hash; the result must equal "
            "checkpoint.chain_hash",
            "from_seq": start,
            "entries": entries,
            "checkpoint": head.as_dict(),
        },
        headers=_HEADERS,
    )


def create_blueprint() -> Blueprint:
    bp = Blueprint("ledger_public", __name__)
    bp.add_url_rule("/ledger/checkpoint", "checkpoint", checkpoint, methods=["GET"])
    bp.add_url_rule("/ledger/proof", "proof", proof, methods=["GET"])
    bp.register_error_handler(
        checkpoints.SigningKeyError,
        lambda error: problems.problem(503, "Signing key unavailable", str(error)),
    )
    bp.register_error_handler(ValidationError, problems.from_validation_error)
    bp.register_error_handler(ServiceError, problems.from_service_error)
    return bp
