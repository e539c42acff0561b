"""Errors meant for a person, apart from bugs.

Everything the library refuses to do for a reason a user can act on (a file that is not an
image, a name that can't name a collection, no MNIST on the server) raises a subclass of
`Refused`, whose message is one line saying what happened and what to do. The app and the
scripts show those as they are; any other exception is a bug, logged with its traceback and
shown as one generic line. `public` is the part anyone may read, where the message names
paths only whoever runs the server should see.
"""


class Refused(Exception):
    """A request refused for a reason a person can act on; `str()` says which, in one line."""

    def __init__(self, message, public=None):
        super().__init__(message)
        self.public = public or message


class InvalidSetting(Refused, ValueError):
    """A setting, flag or name outside what is allowed (a config field, an architecture name)."""
