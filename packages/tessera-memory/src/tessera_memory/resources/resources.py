"""``client.resources``: images and other blobs, remembered by caption and recalled by text."""

from __future__ import annotations

import os

from .._operation import Operation, body, image_upload, model
from .._resource import M, Raw, Resource, endpoint
from ..models import RecallResourcesResponse, ResourceItem


class Resources(Resource[M]):
    """Resources: an opaque ``blob_ref`` you own, with its MIME type and a searchable caption."""

    @property
    def with_raw_response(self) -> Resources[Raw[M]]:
        """The same methods, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Resources(self._executor, raw=True)

    @endpoint
    def remember(
        *,
        blob_ref: str,
        mime: str,
        caption: str | None = None,
        image_url: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[ResourceItem]:
        """Store a blob handle. A ``caption`` is kept verbatim; else ``image_url`` is captioned."""
        return Operation(
            "POST",
            "/v1/resources",
            model(ResourceItem),
            json=body(
                blob_ref=blob_ref,
                mime=mime,
                caption=caption,
                image_url=image_url,
                user_id=user_id,
                session_id=session_id,
            ),
        )

    @endpoint
    def file(
        *,
        path: str | os.PathLike[str],
        blob_ref: str,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[ResourceItem]:
        """Upload a local image (streamed as multipart) to be captioned and remembered.

        Only ``.png``, ``.jpg``/``.jpeg``, ``.gif`` and ``.webp`` files are accepted; the MIME
        type comes from the extension. Anything else raises :class:`ValueError` (and a missing
        file :class:`FileNotFoundError`) before a request is made. The service keeps the caption
        and ``blob_ref``, not the bytes.
        """
        return Operation(
            "POST",
            "/v1/resources/file",
            model(ResourceItem),
            upload=image_upload(
                path, form={"blob_ref": blob_ref, "user_id": user_id, "session_id": session_id}
            ),
        )

    @endpoint
    def recall(
        *,
        query: str,
        k: int | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[RecallResourcesResponse]:
        """The ``k`` resources whose caption or content best matches ``query``."""
        return Operation(
            "POST",
            "/v1/resources/recall",
            model(RecallResourcesResponse),
            json=body(query=query, k=k, user_id=user_id, session_id=session_id),
        )
