"""Command-line interface: `numerous` and `numerous-bootstrap`."""
