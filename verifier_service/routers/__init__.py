"""One router per concern: verification, published lists, audit, health (and the window
page, when installed)."""
