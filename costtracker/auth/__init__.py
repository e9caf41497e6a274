"""Who may do what: users and roles, machine tokens, browser sessions, signed report links.

Nothing here knows about HTTP; :mod:`costtracker.web.auth` applies it to requests and
:mod:`costtracker.auth.cli` to the command line.

    principal.py   who is asking (a user, a token or a signed link) and what that allows
    passwords.py   argon2 hashing
    users.py       users and roles, the first admin, the demo admin
    tokens.py      API tokens (stored hashed) and the seed's static tokens
    sessions.py    browser sessions (the cookie holds a random id whose hash is stored)
    ratelimit.py   failed logins counted in the database, so the limit holds across processes
    signing.py     the secret key and signed, expiring report links
    audit.py       the audit log of admin actions
"""
