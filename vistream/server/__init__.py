"""vistream as a service: REST API (FastAPI), Prometheus metrics and a web dashboard (``vistream serve``).

``vistream.server.app.create_app(manager)`` builds the ASGI app; ``vistream.server.cli.main(argv)`` runs it.
"""
