"""Collections: named sets of documents, each with its own vector index."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from app.api.deps import CollectionDep, RuntimeDep, SessionDep
from app.api.errors import ApiError
from app.api.schemas import CollectionCreate, CollectionPublic, CollectionsPublic
from app.db.models import Collection
from app.db.repository import collection_counts, get_collection_by_name

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/collections", tags=["collections"])


def _public(session, collections: list[Collection]) -> list[CollectionPublic]:
    counts = collection_counts(session, collection_ids=[c.id for c in collections])
    return [
        CollectionPublic(
            id=c.id,
            name=c.name,
            index_kind=c.index_kind,
            document_count=counts[c.id].documents,
            chunk_count=counts[c.id].chunks,
            created_at=c.created_at,
        )
        for c in collections
    ]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CollectionPublic)
def create_collection(body: CollectionCreate, session: SessionDep) -> CollectionPublic:
    """Create an empty collection."""
    if get_collection_by_name(session, name=body.name) is not None:
        raise ApiError(409, f"a collection named {body.name!r} already exists; choose another name", name=body.name)
    collection = Collection(name=body.name, index_kind=body.index_kind)
    session.add(collection)
    session.commit()
    logger.info("created collection %d %r", collection.id, collection.name)
    return _public(session, [collection])[0]


@router.get("", response_model=CollectionsPublic)
def list_collections(session: SessionDep) -> CollectionsPublic:
    """List every collection with its document and chunk counts."""
    collections = list(session.scalars(select(Collection).order_by(Collection.id)))
    return CollectionsPublic(data=_public(session, collections), count=len(collections))


@router.get("/{collection_id}", response_model=CollectionPublic)
def read_collection(collection: CollectionDep, session: SessionDep) -> CollectionPublic:
    """Return one collection with its counts."""
    return _public(session, [collection])[0]


@router.delete("/{collection_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(collection: CollectionDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Delete a collection with its documents, chunks, jobs and index files."""
    with runtime.indexes.lock(collection.id):
        session.delete(collection)
        session.commit()
        runtime.indexes.drop(collection.id)
    logger.info("deleted collection %d", collection.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
