"""Operating the portal: the process runner of `make run` and the tests (``ops.suite``) and its
supervision (``ops.supervise``). Not imported by any service."""
