"""The HTTP face of costtracker: JSON API under /api, server-rendered pages elsewhere."""
