"""Every route of the API, in one router."""

from fastapi import APIRouter

from app.api.errors import COMMON_RESPONSES
from app.api.routes import auth, health, users

api_router = APIRouter(responses=COMMON_RESPONSES)
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
