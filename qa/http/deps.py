"""What routes receive through FastAPI's dependency injection."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qa.answer.service import QAService


def get_service(request: Request) -> QAService:
    """The service on ``app.state`` (tests may override this dependency)."""
    service: QAService = request.app.state.service
    return service


ServiceDep = Annotated[QAService, Depends(get_service)]
