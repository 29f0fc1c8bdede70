"""Dependencies shared by HTTP routes (API and pages): the engine and the settings.

Who may see which dataset is decided in civicport.auth.policy; it is re-exported here for the
API routes that ask it.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from civicport.auth.policy import ANONYMOUS_AUDIENCES, missing, visible_dataset
from civicport.config import Settings

__all__ = [
    "ANONYMOUS_AUDIENCES",
    "EngineDep",
    "SettingsDep",
    "get_engine",
    "get_settings",
    "missing",
    "visible_dataset",
]


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
