"""Sign-in, the signed-in user, users (admin) and dealer API tokens as JSON."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from paddock.accounts import service
from paddock.accounts.deps import (
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    DealerScope,
    PersonUser,
    clear_session_cookie,
    set_session_cookie,
)
from paddock.accounts.models import ApiToken, Role, User
from paddock.accounts.schemas import (
    LoginIn,
    PasswordChange,
    PrincipalRead,
    SignInRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from paddock.clients import client_address, secure_cookies
from paddock.errors import Forbidden, Invalid
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.mapping import to_schema

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _principal_read(session: SessionDep, p: service.Principal) -> PrincipalRead:
    codes = service.dealer_codes(session, [p.dealer_id] if p.dealer_id else [])
    return PrincipalRead(kind=p.kind, name=p.name, role=p.role, dealer=codes.get(p.dealer_id or 0))


def user_read(user: User, codes: dict[int, str]) -> UserRead:
    return to_schema(UserRead, user, dealer=codes.get(user.dealer_id) if user.dealer_id else None)


def token_read(token: ApiToken, codes: dict[int, str]) -> TokenRead:
    return to_schema(TokenRead, token, dealer=codes.get(token.dealer_id, "?"))


@router.post(
    "/auth/login",
    response_model=SignInRead,
    responses={
        401: {"description": "Wrong e-mail or password"},
        429: {"description": "Too many failed sign-ins from this address: see Retry-After"},
    },
)
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> SignInRead:
    """Sign in: sets the `paddock_session` cookie (HttpOnly, SameSite=Lax; Secure over TLS and
    always in production). Failed sign-ins are limited per address and per (e-mail, address):
    past a limit the answer is 429 with Retry-After, for known and unknown e-mails alike."""
    sign_in = service.login(
        session,
        email=body.email,
        password=body.password,
        ip=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    set_session_cookie(response, sign_in, secure=secure_cookies(request))
    user = sign_in.user
    principal = service.Principal("user", user.id, user.email, Role(user.role), user.dealer_id)
    return SignInRead(user=_principal_read(session, principal), expires_at=sign_in.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: SessionDep) -> Response:
    """Sign out: the session ends on the server, the cookie is cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(session, token=token)
    response = Response(status_code=204)
    clear_session_cookie(response, secure=secure_cookies(request))
    return response


@router.get("/auth/me", response_model=PrincipalRead)
def me(principal: CurrentUser, session: SessionDep) -> PrincipalRead:
    return _principal_read(session, principal)


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChange, principal: PersonUser, session: SessionDep) -> Response:
    """Change your password; your other sessions are signed out."""
    service.change_password(
        session,
        user_id=principal.id,
        current=body.current,
        new=body.new,
        keep_session_id=principal.session_id,
    )
    return Response(status_code=204)


@router.get("/users", response_model=list[UserRead])
def list_users(
    session: SessionDep,
    scope: DealerScope,
    role: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    after_id: Id | None = None,
) -> list[UserRead]:
    """Centre staff see every user; dealer staff see their own dealer's colleagues."""
    users = service.list_users(
        session, dealer_id=scope.dealer_id, role=role, limit=limit, after_id=after_id
    )
    codes = service.dealer_codes(session, [u.dealer_id for u in users if u.dealer_id])
    return [user_read(u, codes) for u in users]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, admin: AdminUser, session: SessionDep) -> UserRead:
    user = service.create_user(
        session,
        email=body.email,
        role=body.role,
        password=body.password,
        name=body.name,
        dealer_code=body.dealer,
        actor=admin.actor,
    )
    return user_read(
        user, service.dealer_codes(session, [user.dealer_id] if user.dealer_id else [])
    )


@router.post("/users/{user_id}/deactivate", response_model=UserRead)
def deactivate_user(user_id: Id, admin: AdminUser, session: SessionDep) -> UserRead:
    user = service.set_active(session, user_id=user_id, active=False, actor=admin.actor)
    return user_read(
        user, service.dealer_codes(session, [user.dealer_id] if user.dealer_id else [])
    )


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(
    session: SessionDep, scope: DealerScope, include_revoked: bool = False
) -> list[TokenRead]:
    """API tokens: a dealer's staff see their dealer's, centre staff all."""
    tokens = service.list_tokens(
        session, dealer_id=scope.dealer_id, include_revoked=include_revoked
    )
    codes = service.dealer_codes(session, [t.dealer_id for t in tokens])
    return [token_read(t, codes) for t in tokens]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    body: TokenCreate, person: PersonUser, scope: DealerScope, session: SessionDep
) -> TokenCreated:
    """A token for a dealer's own systems; the secret is in the answer, and only there."""
    if scope.dealer_id is not None:
        if body.dealer and service.dealer_id_for_code(session, body.dealer) != scope.dealer_id:
            raise Forbidden("You can create tokens for your own dealer only.")
        dealer_id = scope.dealer_id
    elif person.role != Role.ADMIN:
        raise Forbidden("Only an admin or the dealer's own staff create API tokens.")
    elif not body.dealer:
        raise Invalid("Name the dealer the token is for ('dealer': its code).")
    else:
        dealer_id = service.dealer_id_for_code(session, body.dealer)
    created = service.create_token(
        session, dealer_id=dealer_id, name=body.name, actor=person.actor, expires_at=body.expires_at
    )
    read = token_read(created.token, service.dealer_codes(session, [dealer_id]))
    return TokenCreated(**read.model_dump(), token=created.secret)


@router.delete("/tokens/{token_id}", response_model=TokenRead)
def revoke_token(
    token_id: Id, person: PersonUser, scope: DealerScope, session: SessionDep
) -> TokenRead:
    """Revoke a token at once; another dealer's token is 'not found'."""
    token = service.revoke_token(
        session, token_id=token_id, actor=person.actor, dealer_id=scope.dealer_id
    )
    return token_read(token, service.dealer_codes(session, [token.dealer_id]))
