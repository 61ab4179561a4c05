"""The generator of the Harbor Burger Co. demo manuals (``python -m tools.demo.build``):
their words in ``src/``, their diagrams, and the layout that writes the PDFs the app
loads from ``knowledge/demo/manuals/``."""
