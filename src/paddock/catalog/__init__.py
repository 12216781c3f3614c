"""What the experience centre sells: products, each a set of demands on the capacity pools."""
