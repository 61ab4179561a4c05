"""Harbor Burger Co. demo corpus: fictional QSR manuals, their questions and embeddings,
and how load_demo loads them (the script that writes the PDFs is tools/demo/build.py)."""
