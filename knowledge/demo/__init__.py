"""Harbor Burger Co. demo corpus: fictional QSR manuals and the script that builds them."""
