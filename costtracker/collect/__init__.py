"""The collection engine: runs sources concurrently, writes what they return idempotently."""
