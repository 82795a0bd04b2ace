"""Reviewer web console, served by `vigil serve` under /console.

Sign in with a key from `vigil keys create --role reviewer --name NAME`; the role decides the pages.
Pages are rendered on the server (templates/); static/console.js only adds live countdowns and keys.
"""
