from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from paddock.limits import Moment


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class PrincipalRead(BaseModel):
    kind: str = Field(description="'user' (signed in) or 'token' (a dealer's API token)")
    name: str
    role: str
    dealer: str | None = None


class SignInRead(BaseModel):
    user: PrincipalRead
    expires_at: datetime


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(default="", max_length=200)
    role: str = Field(pattern="^(admin|operations|coach|dealer|motorsport)$")
    dealer: str | None = Field(default=None, description="Dealer code, for dealer staff")
    password: str = Field(min_length=1, max_length=1024)


class UserRead(BaseModel):
    id: int
    email: str
    name: str
    role: str
    dealer: str | None
    active: bool
    last_login_at: datetime | None
    created_at: datetime


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=1024)
    new: str = Field(min_length=1, max_length=1024)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What system uses it")
    dealer: str | None = Field(
        default=None, description="Dealer code (centre staff); dealer staff get their own"
    )
    expires_at: Moment | None = None


class TokenRead(BaseModel):
    id: int
    name: str
    dealer: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret: shown only this once. Store it safely.")
