"""`make resource`: a new resource of the API, end to end, in the project's own style.

The files it writes come from the Jinja templates in `templates/`: edit them to change what
every later resource looks like.
"""
