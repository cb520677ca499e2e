"""Request dependencies: the runtime, a database session, a collection looked up by id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.api.errors import not_found
from app.db.models import Collection
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_collection(session: SessionDep, collection_id: Annotated[int, Path(ge=1)]) -> Collection:
    collection = session.get(Collection, collection_id)
    if collection is None:
        raise not_found("collection", collection_id)
    return collection


CollectionDep = Annotated[Collection, Depends(get_collection)]
