"""The services' public payloads: what the gateway's routes take and give (and the OpenAPI
describes), imported by the service that owns them and by the gateway, so the HTTP contract is
written once and no service's internal models leak into it. One module per service; a service's
own models stay in its ``schemas.py``."""
