"""Dealer use cases in one place for the interfaces (API, CLI, pages, demo). The modules behind
them hold the logic:

- `directory`: dealers, and their test-drive places per site and month (allotments);
- `campaigns`: campaigns, their shared codes, and invitees with their personal codes;
- `invitations`: what a code allows, its free start times, booking with it, and confirming
  a held booking with a code typed on the details page;
- `reports`: the bookings attributed to a dealer, its summary, and the CSV exports;
- `codes`: the text of a code (normalised, generated, its link).

Besides: `allotments` (the places' arithmetic and rows), `imports` (invitees from CSV), `rules`
(checks of an invitee and of a chosen code), `guessing` (throttling unknown codes) and
`engagements` (what a booking's life does to a dealer's places).

Everything a dealer owns is read and changed through a `Scope`: a dealer's staff (or token)
only ever reach their own dealer's rows; another dealer's are "not found", never "forbidden",
so not even their existence leaks. Public functions that write own their transaction."""

from __future__ import annotations

from paddock.dealers.campaigns import (
    GOOD_CODE,
    MAX_USES_LIMIT,
    CampaignStats,
    InviteeRow,
    add_invitee,
    archive_campaign,
    campaign_stats,
    create_campaign,
    create_code,
    get_campaign,
    invited_emails,
    list_campaigns,
    list_codes,
    list_invitees,
    open_campaign,
    revoke_code,
    write_invitees,
)
from paddock.dealers.codes import (
    CODE_ALPHABET,
    CODE_PATTERN,
    INVITATION_PATH,
    code_key,
    invitation_path,
    new_code,
    normalize_code,
)
from paddock.dealers.directory import (
    DEALER_CODE_PATTERN,
    create_dealer,
    get_dealer,
    list_allotments,
    list_dealers,
    set_allotment,
)
from paddock.dealers.invitations import (
    ConfirmedWithCode,
    Invitation,
    InvitationAvailability,
    InvitationProduct,
    attribution_of,
    book_with_code,
    check_usable,
    confirm_hold_with_code,
    find_invitation,
    get_invitation,
    invitation_availability,
)
from paddock.dealers.reports import (
    AttributedBooking,
    DealerSummary,
    attributed_bookings_csv,
    bookings_csv,
    campaign_invitees_csv,
    dealer_summary,
    invitees_csv,
    list_attributed_bookings,
    site_time_zones,
)
from paddock.keyset import PAGE_MAX

__all__ = [
    "CODE_ALPHABET",
    "CODE_PATTERN",
    "DEALER_CODE_PATTERN",
    "GOOD_CODE",
    "INVITATION_PATH",
    "MAX_USES_LIMIT",
    "PAGE_MAX",
    "AttributedBooking",
    "CampaignStats",
    "ConfirmedWithCode",
    "DealerSummary",
    "Invitation",
    "InvitationAvailability",
    "InvitationProduct",
    "InviteeRow",
    "add_invitee",
    "archive_campaign",
    "attributed_bookings_csv",
    "attribution_of",
    "book_with_code",
    "bookings_csv",
    "campaign_invitees_csv",
    "campaign_stats",
    "check_usable",
    "confirm_hold_with_code",
    "create_campaign",
    "create_code",
    "create_dealer",
    "dealer_summary",
    "find_invitation",
    "get_campaign",
    "get_dealer",
    "get_invitation",
    "invitation_availability",
    "invitation_path",
    "invited_emails",
    "invitees_csv",
    "list_allotments",
    "list_attributed_bookings",
    "list_campaigns",
    "list_codes",
    "list_dealers",
    "list_invitees",
    "new_code",
    "code_key",
    "normalize_code",
    "open_campaign",
    "revoke_code",
    "set_allotment",
    "site_time_zones",
    "write_invitees",
]
