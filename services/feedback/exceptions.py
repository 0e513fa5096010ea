"""Errors raised by feedback: the catalogue's (services/common/error_catalogue.py), with their details."""

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound


def feedback_not_found(fid: str) -> NotFound:
    return catalogue.error("feedback_not_found", {"feedback_id": fid})


def already_rated(code: str) -> Conflict:
    return catalogue.error("already_rated", {"dossier_code": code})


def not_delivered(status: str) -> Conflict:
    return catalogue.error("not_delivered", {"status": status})
