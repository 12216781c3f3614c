"""`paddock users …` and `paddock tokens …`."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from paddock.accounts import service
from paddock.accounts.models import ROLE_VALUES
from paddock.cli_support import console, fail, session_scope

users_app = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for dealers' own systems.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create_user(
    email: str = typer.Option(..., help="E-mail address (the sign-in name)"),
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLE_VALUES)}"),
    dealer: str = typer.Option(None, help="Dealer code, for dealer staff (e.g. D-ATL-001)"),
    name: str = typer.Option("", help="Full name"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin"
    ),
) -> None:
    """Create a user (asks for the password unless --password-stdin)."""
    password = _read_password(password_stdin)
    with session_scope() as session:
        user = service.create_user(
            session,
            email=email,
            role=role,
            password=password,
            name=name,
            dealer_code=dealer,
            actor="cli",
        )
        console.print(f"created user {user.id}: {user.email} ({user.role})")


@users_app.command("list")
def list_users(
    role: str = typer.Option(None, help="Only this role"),
    dealer: str = typer.Option(None, help="Only this dealer's staff"),
) -> None:
    """Users with their role and dealer."""
    with session_scope() as session:
        dealer_id = service.dealer_id_for_code(session, dealer) if dealer else None
        users = service.list_users(session, dealer_id=dealer_id, role=role, limit=500)
        codes = service.dealer_codes(session, [u.dealer_id for u in users if u.dealer_id])
        table = Table("id", "name", "role", "dealer", "active", "last sign-in")
        table.add_column("e-mail", no_wrap=True)
        for u in users:
            table.add_row(
                str(u.id),
                u.name,
                u.role,
                codes.get(u.dealer_id, "") if u.dealer_id else "",
                "yes" if u.active else "no",
                f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "",
                u.email,
            )
        console.print(table)


@users_app.command("reset-password")
def reset_password(
    email: str = typer.Option(..., help="The user's e-mail"),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set a new password; lifts a lockout and signs the user out everywhere."""
    password = _read_password(password_stdin)
    with session_scope() as session:
        service.reset_password(session, email=email, new=password, actor="cli")
        console.print(f"password of {email} changed")


@users_app.command("deactivate")
def deactivate(email: str = typer.Option(..., help="The user's e-mail")) -> None:
    """Stop a user from signing in (ends their sessions)."""
    with session_scope() as session:
        user = service.get_user_by_email(session, email=email)
        service.set_active(session, user_id=user.id, active=False, actor="cli")
        console.print(f"{email} can no longer sign in")


@tokens_app.command("create")
def create_token(
    dealer: str = typer.Option(..., help="Dealer code"),
    name: str = typer.Option(..., help="What system will use it, e.g. 'DMS sync'"),
) -> None:
    """Create an API token for a dealer; the secret is printed once."""
    with session_scope() as session:
        dealer_id = service.dealer_id_for_code(session, dealer)
        created = service.create_token(session, dealer_id=dealer_id, name=name, actor="cli")
        console.print(f"token {created.token.id} '{created.token.name}' for {dealer.upper()}:")
        console.print(created.secret, highlight=False, soft_wrap=True)
        console.print("[dim]Shown only now: store it safely. Send as 'Authorization: Bearer …'[/]")


@tokens_app.command("list")
def list_tokens(
    dealer: str = typer.Option(None, help="Only this dealer's"),
    include_revoked: bool = typer.Option(False, help="Also revoked tokens"),
) -> None:
    """API tokens (never their secrets)."""
    with session_scope() as session:
        dealer_id = service.dealer_id_for_code(session, dealer) if dealer else None
        tokens = service.list_tokens(session, dealer_id=dealer_id, include_revoked=include_revoked)
        codes = service.dealer_codes(session, [t.dealer_id for t in tokens])
        table = Table("id", "dealer", "name", "prefix", "created", "last used", "revoked")
        for t in tokens:
            table.add_row(
                str(t.id),
                codes.get(t.dealer_id, "?"),
                t.name,
                t.prefix + "…",
                f"{t.created_at:%Y-%m-%d}",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
            )
        console.print(table)


@tokens_app.command("revoke")
def revoke_token(token_id: int = typer.Argument(..., help="The token's id")) -> None:
    """Revoke a token: requests with it are refused from now on."""
    with session_scope() as session:
        token = service.revoke_token(session, token_id=token_id, actor="cli")
        console.print(f"token {token.id} '{token.name}' revoked")
