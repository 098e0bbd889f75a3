"""The ``tunesmith`` command line: thin commands over the library."""
