"""In-process nameko containers against the real broker and Mongo-wire server."""

import pytest

from services.common.config import load_config


@pytest.fixture(scope="module")
def amqp_uri(infra):
    return infra["amqp_for"]("int")


@pytest.fixture
def intake_config(infra, amqp_uri):
    return load_config(
        "intake",
        {
            "AMQP_URI": amqp_uri,
            "MONGO_URI": infra["mongo_uri"],
            "MONGO_DB": f"{infra['db_prefix']}_intake_int",
            "TRACKING_SECRET_KEY": "it",
        },
    )


@pytest.fixture
def intake_db(mongo, intake_config):
    return mongo[intake_config["MONGO_DB"]]
