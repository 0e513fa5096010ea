"""Development and trial stand-ins: the demo catalog, a simulated payment provider, a mail sink.
Never imported by a service and not in the production image (deploy/Dockerfile, target runtime)."""
