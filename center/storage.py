"""Uploads that are never half-written, a clean answer when the disk is full, and static URLs.

:class:`MediaStorage` (the default storage when no S3 bucket is configured)
writes each upload under a hidden temporary name first and links it to its
real name only once it is complete, so a failed write (a full disk, a quota)
leaves nothing behind and no one ever reads half a file.

A request that fails because the storage is full gets a clean 503 page from
:class:`StorageFullMiddleware`; the files that request had already written are
removed too, since the database writes they belonged to were rolled back (the
admin saves in one transaction).

:class:`StaticStorage` (production's static files) is whitenoise's hashed,
compressed storage, with each file's URL worked out once per process.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.http import HttpResponse
from django.template import loader
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)

STORAGE_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# The files written during the current request: (storage, name).
_written: contextvars.ContextVar[list[tuple[Storage, str]] | None] = contextvars.ContextVar(
    "center_storage_written", default=None
)


def is_storage_full(error: BaseException) -> bool:
    """Is this the error of a full disk or an exhausted quota?"""
    return isinstance(error, OSError) and error.errno in STORAGE_FULL_ERRNOS


class MediaStorage(FileSystemStorage):
    """``FileSystemStorage`` whose files appear complete or not at all."""

    def _save(self, name: str, content) -> str:
        directory, filename = os.path.split(name)
        extension = os.path.splitext(filename)[1][:16]
        partial = os.path.join(directory, f".partial-{secrets.token_hex(8)}{extension}")
        try:
            partial = super()._save(partial, content)
            name = self._link_into_place(partial, name)
        finally:
            self._remove(partial)
        written = _written.get()
        if written is not None:
            written.append((self, name))
        return name

    def _link_into_place(self, partial: str, name: str) -> str:
        """Give the complete file its real name (a new name if that one is taken meanwhile)."""
        while True:
            target = self.path(name)
            try:
                if self._allow_overwrite:
                    os.replace(self.path(partial), target)
                else:
                    os.link(self.path(partial), target)  # fails if the name exists: never overwrites
                return name
            except FileExistsError:
                name = self.get_available_name(name)
            except OSError as error:
                if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                # A file system without hard links: rename, after a last check for the name.
                if os.path.exists(target):
                    name = self.get_available_name(name)
                    continue
                os.rename(self.path(partial), target)
                return name

    def _remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path(name))


def discard_files_written_in_request() -> None:
    """Delete what this request wrote (its database rows were rolled back)."""
    for storage, name in _written.get() or ():
        try:
            storage.delete(name)
        except OSError:
            logger.exception("Could not remove %s after a failed request", name)


class StorageFullMiddleware:
    """A full disk gives a clean 503 page ("nothing was saved"), not a server error.

    Placed after the CSP middleware, so the page gets the usual headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _written.set([])
        try:
            return self.get_response(request)
        finally:
            _written.reset(token)

    def process_exception(self, request, exception):
        if not is_storage_full(exception):
            return None
        discard_files_written_in_request()
        logger.error("Storage full: the upload was refused", exc_info=exception)
        context = {"request_id": getattr(request, "request_id", ""), "SITE_NAME": settings.SITE_NAME}
        response = HttpResponse(loader.render_to_string("storage_full.html", context), status=503)
        response["Retry-After"] = "600"
        return response


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files (whitenoise), each name's URL worked out once per process.

    A page links half a dozen assets, and each ``{% static %}`` would look the name up in the
    manifest and quote it again. The manifest is read when the storage is made and never changes
    under a running process (``collectstatic`` comes with a restart), so neither can the URLs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force=True)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)
            return url
